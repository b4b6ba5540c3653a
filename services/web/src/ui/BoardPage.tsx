import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { PostOut, PostPage, PostSort } from "../api/client";
import { addPage, canLoadMore, emptyPaged, pageFailed, startLoading, type Paged } from "../board/paging";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle, type Problem } from "./common";
import { hrefFor } from "./router";

const postKey = (post: PostOut) => post.post_id;

/** Pages of posts from `fetchPage`, started again whenever `fetchPage` changes. */
export function usePostPages(fetchPage: (cursor: string | null) => Promise<PostPage>) {
  const [state, setState] = useState<Paged<PostOut>>(emptyPaged);
  const [error, setError] = useState<Problem>(null);
  const stateRef = useRef(state);
  stateRef.current = state;
  const generation = useRef(0);

  const loadMore = useCallback(() => {
    const current = stateRef.current;
    if (!canLoadMore(current)) return;
    const mine = generation.current;
    stateRef.current = startLoading(current);
    setState(stateRef.current);
    setError(null);
    fetchPage(current.cursor).then(
      (page) => {
        if (mine !== generation.current) return;
        stateRef.current = addPage(stateRef.current, page, postKey);
        setState(stateRef.current);
      },
      (cause) => {
        if (mine !== generation.current) return;
        stateRef.current = pageFailed(stateRef.current);
        setState(stateRef.current);
        setError(errorOf(cause));
      },
    );
  }, [fetchPage]);

  useEffect(() => {
    generation.current += 1;
    stateRef.current = emptyPaged();
    setState(stateRef.current);
    loadMore();
  }, [loadMore]);

  return { state, error, loadMore };
}

/** Asks for the next page when the list's end comes into view (and offers a button anyway). */
export function LoadMore({
  state,
  error,
  onMore,
}: {
  state: Paged<unknown>;
  error: Problem;
  onMore: () => void;
}) {
  const { t } = useApp();
  const sentinel = useRef<HTMLDivElement>(null);
  const onMoreRef = useRef(onMore);
  onMoreRef.current = onMore;
  const active = !state.done && !error;

  useEffect(() => {
    const element = sentinel.current;
    if (!element || !active || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) onMoreRef.current();
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [active, state.items.length]);

  return (
    <div className="actions" ref={sentinel}>
      <ErrorNote error={error} />
      {state.loading && state.items.length > 0 && (
        <p className="loading" role="status">
          {t.t("board.loadingMore")}
        </p>
      )}
      {!state.done && (
        <button type="button" className="button" disabled={state.loading} onClick={onMore}>
          {t.t("board.loadMore")}
        </button>
      )}
      {state.done && state.items.length > 0 && <p className="hint">{t.t("board.end")}</p>}
    </div>
  );
}

export function PostCards({ posts, level = 2 }: { posts: readonly PostOut[]; level?: 2 | 3 }) {
  const { t } = useApp();
  const Heading = level === 2 ? "h2" : "h3";
  return (
    <ul className="post-cards">
      {posts.map((post) => {
        const thumb = post.images[0]?.thumbnail;
        return (
          <li key={post.post_id} className="card post-card">
            {thumb && (
              // The title next to it says what it is: the picture is decoration in the list.
              <img src={thumb.url} width={thumb.width} height={thumb.height} alt="" loading="lazy" />
            )}
            <Heading>
              <a href={hrefFor({ name: "post", id: post.post_id })}>{post.title}</a>
            </Heading>
            <p className="hint">
              {t.t("board.by", { name: post.author.username })} · {t.t("board.likes", { n: post.like_count })}
            </p>
          </li>
        );
      })}
    </ul>
  );
}

export function BoardPage() {
  const { api, t } = useApp();
  const id = useId();
  const [sort, setSort] = useState<PostSort>("recent");
  const [typed, setTyped] = useState("");
  const [query, setQuery] = useState("");

  const fetchPage = useCallback(
    (cursor: string | null) => api.listPosts({ sort, q: query || null, cursor }),
    [api, sort, query],
  );
  const { state, error, loadMore } = usePostPages(fetchPage);

  function search(event: FormEvent) {
    event.preventDefault();
    setQuery(typed.trim());
  }

  return (
    <section className="page">
      <PageTitle>{t.t("board.title")}</PageTitle>
      <form className="form board-search" role="search" onSubmit={search}>
        <div className="field">
          <label htmlFor={`${id}-q`}>{t.t("board.search")}</label>
          <input id={`${id}-q`} type="search" value={typed} onChange={(e) => setTyped(e.target.value)} />
        </div>
        <div className="actions">
          <button type="submit" className="button">
            {t.t("board.searchSubmit")}
          </button>
          {query && (
            <button
              type="button"
              className="button button-quiet"
              onClick={() => {
                setTyped("");
                setQuery("");
              }}
            >
              {t.t("board.clearSearch")}
            </button>
          )}
        </div>
      </form>
      <div className="segmented" role="group" aria-label={t.t("board.sort")}>
        {(["recent", "popular"] as const).map((value) => (
          <button
            key={value}
            type="button"
            className="button"
            aria-pressed={sort === value}
            onClick={() => setSort(value)}
          >
            {t.t(value === "recent" ? "board.recent" : "board.popular")}
          </button>
        ))}
      </div>
      {query && (
        <p className="status-line" role="status">
          {t.t("board.results", { q: query })}
        </p>
      )}
      {state.loading && state.items.length === 0 && <Loading />}
      {state.done && state.items.length === 0 && (
        <p className="note">{query ? t.t("board.noMatch", { q: query }) : t.t("board.empty")}</p>
      )}
      <PostCards posts={state.items} />
      <LoadMore state={state} error={error} onMore={loadMore} />
    </section>
  );
}
