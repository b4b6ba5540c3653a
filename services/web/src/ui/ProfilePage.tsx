import { useCallback, useEffect, useState } from "react";
import type { PostPage, ProfileOut } from "../api/client";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle, type Problem } from "./common";
import { LoadMore, PostCards, usePostPages } from "./BoardPage";
import { hrefFor } from "./router";

// The board has no author filter: pages of the newest posts are read, this many at most per
// "more", and the person's are kept.
const SCAN_PAGES = 5;

export function ProfilePage({ username }: { username: string }) {
  const { api, t } = useApp();
  const [profile, setProfile] = useState<ProfileOut | null>(null);
  const [error, setError] = useState<Problem>(null);

  useEffect(() => {
    api.profile(username).then(setProfile, (cause) => setError(errorOf(cause)));
  }, [api, username]);

  const fetchPage = useCallback(
    async (cursor: string | null): Promise<PostPage> => {
      const items: PostPage["items"] = [];
      let next = cursor;
      for (let i = 0; i < SCAN_PAGES; i++) {
        const page = await api.listPosts({ sort: "recent", cursor: next, limit: 50 });
        items.push(...page.items.filter((post) => post.author.username === username));
        next = page.next_cursor;
        if (!next || items.length >= 10) break;
      }
      return { items, next_cursor: next };
    },
    [api, username],
  );
  const { state, error: postsError, loadMore } = usePostPages(fetchPage);

  if (error) {
    return (
      <section className="page">
        <PageTitle>{username}</PageTitle>
        <ErrorNote error={error} />
        <p>
          <a href={hrefFor({ name: "board" })}>{t.t("board.back")}</a>
        </p>
      </section>
    );
  }
  if (!profile) return <Loading />;

  return (
    <section className="page">
      <PageTitle>{t.t("profile.title", { name: profile.username })}</PageTitle>
      <dl className="facts">
        <dt>{t.t("profile.joined")}</dt>
        <dd>{t.date(profile.joined)}</dd>
        <dt>{t.t("profile.postCount")}</dt>
        <dd>{profile.post_count}</dd>
      </dl>
      <h2>{t.t("profile.posts", { name: profile.username })}</h2>
      {state.loading && state.items.length === 0 && <Loading />}
      {state.done && state.items.length === 0 && (
        <p className="note">{t.t("profile.noPosts", { name: profile.username })}</p>
      )}
      <PostCards posts={state.items} level={3} />
      <LoadMore state={state} error={postsError} onMore={loadMore} />
      <p>
        <a href={hrefFor({ name: "board" })}>{t.t("board.back")}</a>
      </p>
    </section>
  );
}
