import { useCallback, useEffect, useState } from "react";
import type { TaskOut } from "../api/client";
import { taskTitle } from "../tasks/titles";
import { thumbnailOf } from "../tasks/view";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle } from "./common";
import { NotificationsPanel } from "./NotificationsPanel";
import { hrefFor } from "./router";

export function TaskList() {
  const { api, t } = useApp();
  const [items, setItems] = useState<TaskOut[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);

  const load = useCallback(
    async (from: string | null) => {
      setBusy(true);
      setError(null);
      try {
        const page = await api.listTasks({ cursor: from, limit: 20 });
        setItems((before) => (from && before ? [...before, ...page.items] : page.items));
        setCursor(page.next_cursor);
      } catch (cause) {
        setError(errorOf(cause));
      } finally {
        setBusy(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section className="page">
      <div className="page-head">
        <PageTitle>{t.t("tasks.title")}</PageTitle>
        <button type="button" className="button button-quiet" disabled={busy} onClick={() => void load(null)}>
          {t.t("tasks.refresh")}
        </button>
      </div>
      <ErrorNote error={error} />
      {items === null && !error && <Loading />}
      {items?.length === 0 && (
        <p>
          {t.t("tasks.empty")} <a href={hrefFor({ name: "mural" })}>{t.t("tasks.makeOne")}</a>
        </p>
      )}
      {items && items.length > 0 && (
        <ul className="task-list">
          {items.map((task) => (
            <TaskItem key={task.task_id} task={task} />
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" className="button" disabled={busy} onClick={() => void load(cursor)}>
          {busy ? t.t("common.loading") : t.t("tasks.more")}
        </button>
      )}
      <NotificationsPanel />
    </section>
  );
}

function TaskItem({ task }: { task: TaskOut }) {
  const { t, notes } = useApp();
  const name = taskTitle(t, task, notes.get(task.task_id));
  const thumb = task.status === "COMPLETED" ? thumbnailOf(task.results?.[0]) : null;
  return (
    <li>
      <a className="task-item" href={hrefFor({ name: "task", id: task.task_id })}>
        <span className="task-thumb">
          {thumb && (
            <img
              src={thumb.url}
              width={thumb.width}
              height={thumb.height}
              alt=""
              loading="lazy"
              decoding="async"
            />
          )}
        </span>
        <span className="task-text">
          <span className="task-name">{name || t.t("tasks.unnamed", { id: task.task_id.slice(0, 8) })}</span>
          <span className="task-meta">
            <span className={`badge badge-${task.status.toLowerCase()}`}>{t.t(`status.${task.status}`)}</span>{" "}
            <time dateTime={task.created_at}>{t.date(task.created_at)}</time>
          </span>
        </span>
      </a>
    </li>
  );
}
