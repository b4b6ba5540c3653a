import { useEffect, useId, useState, type FormEvent } from "react";
import type { UserOut } from "../api/client";
import { useApp } from "./context";
import { ErrorNote, errorOf, type Problem } from "./common";

/** "Share to the board" under a COMPLETED task: a title and text, the task's result as the image. */
export function SharePanel({ taskId, resultIndex }: { taskId: string; resultIndex: number }) {
  const { api, t, navigate } = useApp();
  const id = useId();
  const [me, setMe] = useState<UserOut | null>(null);
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<Problem>(null);

  useEffect(() => {
    api.me().then(setMe, () => setMe(null));
  }, [api]);

  if (!me) return null;
  if (me.is_guest) {
    return (
      <div className="card share">
        <h2>{t.t("share.title")}</h2>
        <p className="note">{t.t("share.needAccount")}</p>
      </div>
    );
  }

  async function share(event: FormEvent) {
    event.preventDefault();
    if (!title.trim()) return setError(t.t("share.needTitle"));
    setSending(true);
    setError(null);
    try {
      const post = await api.createPost({
        title: title.trim(),
        body,
        images: [{ task_id: taskId, result_index: resultIndex }],
      });
      navigate({ name: "post", id: post.post_id });
    } catch (cause) {
      setError(errorOf(cause));
      setSending(false);
    }
  }

  if (!open) {
    return (
      <div className="actions">
        <button type="button" className="button" onClick={() => setOpen(true)}>
          {t.t("share.title")}
        </button>
      </div>
    );
  }
  return (
    <form className="form card share" onSubmit={(e) => void share(e)} noValidate>
      <h2>{t.t("share.title")}</h2>
      <div className="field">
        <label htmlFor={`${id}-title`}>{t.t("share.postTitle")}</label>
        <input
          id={`${id}-title`}
          value={title}
          required
          maxLength={200}
          autoFocus
          onChange={(e) => setTitle(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-body`}>{t.t("share.body")}</label>
        <textarea id={`${id}-body`} rows={4} value={body} onChange={(e) => setBody(e.target.value)} />
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={sending}>
          {sending ? t.t("share.sending") : t.t("share.submit")}
        </button>
        <button type="button" className="button button-quiet" onClick={() => setOpen(false)}>
          {t.t("board.cancel")}
        </button>
      </div>
    </form>
  );
}
