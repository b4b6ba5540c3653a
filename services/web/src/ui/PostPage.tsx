import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { ApiError, type CommentOut, type PostOut, type UserOut } from "../api/client";
import { fromAnswer, toggled, type LikeState } from "../board/like";
import { addPage, emptyPaged, pageFailed, startLoading, type Paged } from "../board/paging";
import { remixDraft } from "../board/remix";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle, type Problem } from "./common";
import { hrefFor } from "./router";

type Mode = "view" | "edit" | "delete" | "report";

export function PostPage({ postId }: { postId: string }) {
  const { api, t, navigate, draft } = useApp();
  const id = useId();
  const [post, setPost] = useState<PostOut | null>(null);
  const [me, setMe] = useState<UserOut | null>(null);
  const [loadError, setLoadError] = useState<Problem>(null);
  const [like, setLike] = useState<LikeState>({ liked: false, count: 0 });
  const [liking, setLiking] = useState(false);
  const [remixing, setRemixing] = useState(false);
  const [mode, setMode] = useState<Mode>("view");
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<Problem>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [reason, setReason] = useState("");

  const load = useCallback(() => {
    setLoadError(null);
    api.getPost(postId).then(
      (fetched) => {
        setPost(fetched);
        setLike({ liked: fetched.liked_by_me, count: fetched.like_count });
      },
      (cause) => setLoadError(errorOf(cause)),
    );
  }, [api, postId]);

  useEffect(() => {
    load();
    api.me().then(setMe, () => setMe(null));
  }, [load, api]);

  if (loadError && !post) {
    return (
      <section className="page">
        <PageTitle>{t.t("post.title")}</PageTitle>
        <ErrorNote error={loadError}>
          <button type="button" className="button" onClick={load}>
            {t.t("common.retry")}
          </button>
        </ErrorNote>
        <p>
          <a href={hrefFor({ name: "board" })}>{t.t("board.back")}</a>
        </p>
      </section>
    );
  }
  if (!post) return <Loading />;

  const mine = me !== null && me.username === post.author.username;
  const current = post;

  async function act(work: () => Promise<void>) {
    setBusy(true);
    setActionError(null);
    setNotice(null);
    try {
      await work();
    } catch (cause) {
      setActionError(errorOf(cause));
    } finally {
      setBusy(false);
    }
  }

  async function toggleLike() {
    const before = like;
    setLike(toggled(before));
    setLiking(true);
    setActionError(null);
    try {
      const answer = before.liked ? await api.unlike(postId) : await api.like(postId);
      setLike(fromAnswer(answer));
    } catch (cause) {
      setLike(before);
      setActionError(errorOf(cause));
    } finally {
      setLiking(false);
    }
  }

  function openEdit() {
    setTitle(current.title);
    setBody(current.body);
    setMode("edit");
  }

  const save = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      const saved = await api.editPost(postId, { title: title.trim(), body });
      setPost(saved);
      setMode("view");
    });
  };

  const remove = () =>
    act(async () => {
      await api.deletePost(postId);
      navigate({ name: "board" });
    });

  const report = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      await api.report(postId, reason.trim());
      setReason("");
      setMode("view");
      setNotice(t.t("post.reported"));
    });
  };

  async function remix() {
    setRemixing(true);
    setActionError(null);
    try {
      const answer = await api.remix(postId);
      const settings = remixDraft(answer);
      if (!settings) throw new ApiError(0, "post_not_remixable", "not a mural");
      draft.set(settings);
      navigate({ name: "mural" });
    } catch (cause) {
      setActionError(errorOf(cause));
      setRemixing(false);
    }
  }

  const made = post.made_with;
  const count = post.images.length;

  return (
    <section className="page">
      <PageTitle>{post.title}</PageTitle>
      <p className="hint">
        {t.t("post.author")}{" "}
        <a href={hrefFor({ name: "user", username: post.author.username })}>{post.author.username}</a> ·{" "}
        {t.t("post.posted", { date: t.date(post.created_at) })}
      </p>
      <div className="post-images">
        {post.images.map((image, i) => (
          <img
            key={image.url}
            className="result-image"
            src={image.url}
            width={image.width}
            height={image.height}
            alt={
              post.title.trim()
                ? count === 1
                  ? post.title
                  : t.t("post.imageAltTitled", { title: post.title, n: i + 1, count })
                : t.t("post.imageAlt", { n: i + 1 })
            }
          />
        ))}
      </div>
      {post.body && <p className="post-body">{post.body}</p>}

      {made && (
        <>
          <h2>{t.t("post.madeWith")}</h2>
          <dl className="facts">
            <dt>{t.t("post.kind")}</dt>
            <dd>{t.maybe(`tasks.kind.${made.kind}`, made.kind)}</dd>
            {made.theme && (
              <>
                <dt>{t.t("post.theme")}</dt>
                <dd>{t.maybe(`theme.${made.theme}`, made.theme)}</dd>
              </>
            )}
            {made.style && (
              <>
                <dt>{t.t("post.style")}</dt>
                <dd>{t.maybe(`style.${made.style}`, made.style)}</dd>
              </>
            )}
            {made.prompt && (
              <>
                <dt>{t.t("post.prompt")}</dt>
                <dd>{made.prompt}</dd>
              </>
            )}
            {made.seed != null && (
              <>
                <dt>{t.t("post.seed")}</dt>
                <dd>{made.seed}</dd>
              </>
            )}
          </dl>
        </>
      )}

      <div className="actions">
        <button
          type="button"
          className="button"
          aria-pressed={like.liked}
          disabled={liking}
          onClick={() => void toggleLike()}
        >
          {t.t("post.like")}
        </button>
        <span className="hint" aria-live="polite">
          {t.t("post.likes", { n: like.count })}
        </span>
        {made?.kind === "mural" && (
          <button type="button" className="button button-primary" disabled={remixing} onClick={() => void remix()}>
            {remixing ? t.t("post.remixing") : t.t("post.remix")}
          </button>
        )}
        {mine && mode === "view" && (
          <>
            <button type="button" className="button" onClick={openEdit}>
              {t.t("post.edit")}
            </button>
            <button type="button" className="button button-danger" onClick={() => setMode("delete")}>
              {t.t("post.delete")}
            </button>
          </>
        )}
        {!mine && mode === "view" && (
          <button type="button" className="button button-quiet" onClick={() => setMode("report")}>
            {t.t("post.report")}
          </button>
        )}
      </div>

      {notice && (
        <p className="note" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={actionError} />

      {mode === "edit" && (
        <form className="form card" onSubmit={save}>
          <div className="field">
            <label htmlFor={`${id}-title`}>{t.t("post.editTitle")}</label>
            <input id={`${id}-title`} value={title} required maxLength={200} onChange={(e) => setTitle(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-body`}>{t.t("post.editBody")}</label>
            <textarea id={`${id}-body`} rows={4} value={body} onChange={(e) => setBody(e.target.value)} />
          </div>
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={busy || !title.trim()}>
              {busy ? t.t("post.saving") : t.t("post.save")}
            </button>
            <button type="button" className="button button-quiet" onClick={() => setMode("view")}>
              {t.t("board.cancel")}
            </button>
          </div>
        </form>
      )}

      {mode === "delete" && (
        <div className="card note-error" role="group" aria-label={t.t("post.delete")}>
          <p>{t.t("post.deleteWarn")}</p>
          <div className="actions">
            <button type="button" className="button button-danger" disabled={busy} onClick={() => void remove()}>
              {busy ? t.t("post.deleting") : t.t("post.deleteConfirm")}
            </button>
            <button type="button" className="button button-quiet" onClick={() => setMode("view")}>
              {t.t("board.cancel")}
            </button>
          </div>
        </div>
      )}

      {mode === "report" && (
        <form className="form card" onSubmit={report}>
          <div className="field">
            <label htmlFor={`${id}-reason`}>{t.t("post.reportReason")}</label>
            <textarea
              id={`${id}-reason`}
              rows={3}
              maxLength={1000}
              required
              value={reason}
              onChange={(e) => setReason(e.target.value)}
            />
          </div>
          <div className="actions">
            <button type="submit" className="button button-danger" disabled={busy || !reason.trim()}>
              {t.t("post.reportConfirm")}
            </button>
            <button type="button" className="button button-quiet" onClick={() => setMode("view")}>
              {t.t("board.cancel")}
            </button>
          </div>
        </form>
      )}

      <Comments postId={postId} me={me} />
      <p>
        <a href={hrefFor({ name: "board" })}>{t.t("board.back")}</a>
      </p>
    </section>
  );
}

const commentKey = (comment: CommentOut) => comment.comment_id;

function Comments({ postId, me }: { postId: string; me: UserOut | null }) {
  const { api, t } = useApp();
  const id = useId();
  const [state, setState] = useState<Paged<CommentOut>>(emptyPaged);
  const [loadError, setLoadError] = useState<Problem>(null);
  const [text, setText] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<Problem>(null);

  const loadPage = useCallback(
    (from: Paged<CommentOut>) => {
      setState(startLoading(from));
      setLoadError(null);
      api.comments(postId, { cursor: from.cursor }).then(
        (page) => setState(addPage(from, page, commentKey)),
        (cause) => {
          setState(pageFailed(from));
          setLoadError(errorOf(cause));
        },
      );
    },
    [api, postId],
  );

  useEffect(() => {
    loadPage(emptyPaged());
  }, [loadPage]);

  async function send(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    setSending(true);
    setError(null);
    try {
      const added = await api.addComment(postId, text.trim());
      setState((s) => ({ ...s, items: [...s.items.filter((c) => c.comment_id !== added.comment_id), added] }));
      setText("");
    } catch (cause) {
      setError(errorOf(cause));
    } finally {
      setSending(false);
    }
  }

  async function remove(commentId: string) {
    setError(null);
    try {
      await api.deleteComment(commentId);
      setState((s) => ({ ...s, items: s.items.filter((c) => c.comment_id !== commentId) }));
    } catch (cause) {
      setError(errorOf(cause));
    }
  }

  return (
    <div className="comments">
      <h2>{t.t("post.comments")}</h2>
      {state.loading && state.items.length === 0 && <Loading />}
      <ErrorNote error={loadError} />
      {state.done && state.items.length === 0 && <p className="hint">{t.t("post.noComments")}</p>}
      <ul className="comment-list">
        {state.items.map((comment) => (
          <li key={comment.comment_id} className="card">
            <p className="hint">
              <a href={hrefFor({ name: "user", username: comment.author.username })}>{comment.author.username}</a> ·{" "}
              {t.date(comment.created_at)}
            </p>
            <p>{comment.body}</p>
            {me?.username === comment.author.username && (
              <button type="button" className="button button-quiet" onClick={() => void remove(comment.comment_id)}>
                {t.t("post.deleteComment")}
              </button>
            )}
          </li>
        ))}
      </ul>
      {!state.done && state.items.length > 0 && (
        <button type="button" className="button" disabled={state.loading} onClick={() => loadPage(state)}>
          {t.t("board.loadMore")}
        </button>
      )}
      <form className="form" onSubmit={(e) => void send(e)}>
        <div className="field">
          <label htmlFor={`${id}-comment`}>{t.t("post.comment")}</label>
          <textarea
            id={`${id}-comment`}
            rows={3}
            maxLength={1000}
            value={text}
            aria-describedby={me?.is_guest ? `${id}-guest` : undefined}
            onChange={(e) => setText(e.target.value)}
          />
          {me?.is_guest && (
            <p className="hint" id={`${id}-guest`}>
              {t.error({ code: "registration_required" })}
            </p>
          )}
        </div>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={sending || !text.trim()}>
            {sending ? t.t("post.commenting") : t.t("post.commentSubmit")}
          </button>
        </div>
      </form>
    </div>
  );
}
