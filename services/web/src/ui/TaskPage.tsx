import { useCallback, useEffect, useId, useRef, useState } from "react";
import { isTerminal, type TaskOut } from "../api/client";
import { retryParams, settingsFromParams, startMural } from "../tasks/mural";
import { displayOf, taskView, type TaskView } from "../tasks/view";
import { Compare } from "./Compare";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle } from "./common";
import { hrefFor } from "./router";
import { useTaskStream } from "./useTaskStream";

type Problem = { code: string; message: string } | null;

// A result's download URLs live a few minutes: an image that fails is fetched anew, this
// often at most.
const REFRESH_AFTER_MS = 30_000;

export function TaskPage({ taskId }: { taskId: string }) {
  const { api, t, getToken, photos, navigate, draft, signOut } = useApp();
  const [task, setTask] = useState<TaskOut | null>(null);
  const [loadError, setLoadError] = useState<Problem>(null);
  const [previews, setPreviews] = useState(false);
  const [streaming, setStreaming] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [retrying, setRetrying] = useState(false);
  const [actionError, setActionError] = useState<Problem>(null);
  const lastRefresh = useRef(0);
  const id = useId();

  const load = useCallback(() => {
    lastRefresh.current = Date.now();
    return api.getTask(taskId).then(
      (fetched) => {
        setTask(fetched);
        setLoadError(null);
      },
      (cause) => setLoadError(errorOf(cause)),
    );
  }, [api, taskId]);

  useEffect(() => {
    void load();
  }, [load]);

  // Live once it is queued or running; the stream then runs to the end by itself.
  useEffect(() => {
    if (task && (task.status === "QUEUED" || task.status === "INPROGRESS")) setStreaming(true);
  }, [task]);
  const live = useTaskStream(taskId, streaming, previews, getToken);

  if (loadError && !task) {
    return (
      <section className="page">
        <PageTitle>{t.t("task.title")}</PageTitle>
        <ErrorNote error={loadError}>
          <button type="button" className="button" onClick={() => void load()}>
            {t.t("common.retry")}
          </button>
        </ErrorNote>
        <p>
          <a href={hrefFor({ name: "tasks" })}>{t.t("task.allTasks")}</a>
        </p>
      </section>
    );
  }
  if (!task) return <Loading />;

  const view = taskView(task, live);
  const theme = typeof task.params?.theme === "string" ? task.params.theme : null;
  const title = theme ? t.t("task.heading", { theme: t.maybe(`theme.${theme}`, theme) }) : t.t("task.title");
  const wish = typeof task.params?.prompt === "string" ? task.params.prompt : "";
  const photo = photos.get(taskId);
  const canRetry = task.kind === "mural" && isTerminal(view.status);

  async function cancel() {
    setCancelling(true);
    setActionError(null);
    try {
      await api.cancel(taskId);
      if (!streaming) await load();
    } catch (cause) {
      setActionError(errorOf(cause));
    } finally {
      setCancelling(false);
    }
  }

  async function retry() {
    const params = retryParams(task?.params ?? {});
    if (!photo) {
      draft.set(settingsFromParams(params));
      navigate({ name: "mural" });
      return;
    }
    setRetrying(true);
    setActionError(null);
    try {
      const started = await startMural(api, photo, params);
      photos.put(started.taskId, photo);
      navigate({ name: "task", id: started.taskId });
    } catch (cause) {
      setActionError(errorOf(cause));
      setRetrying(false);
    }
  }

  function refreshResults() {
    if (Date.now() - lastRefresh.current > REFRESH_AFTER_MS) void load();
  }

  const streamError = live?.finished && !isTerminal(view.status) ? live.error : null;

  return (
    <section className="page">
      <PageTitle>{title}</PageTitle>
      <p className="status-line">
        <span className={`badge badge-${view.status.toLowerCase()}`}>{t.t(`status.${view.status}`)}</span>
      </p>
      {wish && <blockquote className="wish">{wish}</blockquote>}

      {(view.status === "QUEUED" || view.status === "INPROGRESS") && (
        <LiveProgress
          view={view}
          previews={previews}
          onPreviews={setPreviews}
          reconnecting={live?.connection === "waiting"}
          checkboxId={`${id}-previews`}
        />
      )}

      {streamError && (
        <ErrorNote error={streamError}>
          <button
            type="button"
            className="button"
            onClick={() =>
              streamError.code === "task_not_found"
                ? navigate({ name: "tasks" })
                : signOut(t.error(streamError))
            }
          >
            {streamError.code === "task_not_found" ? t.t("task.allTasks") : t.t("task.signInAgain")}
          </button>
        </ErrorNote>
      )}

      {view.status === "CREATED" && <p className="note">{t.t("task.notSubmitted")}</p>}
      {view.status === "FAILED" && (
        <div className="note note-error" role="alert">
          <p>
            <strong>{t.t("task.failed")}</strong> {t.error(view.error)}
          </p>
        </div>
      )}
      {view.status === "CANCELLED" && <p className="note">{t.t("task.cancelled")}</p>}

      {view.status === "COMPLETED" && (
        <Result view={view} before={photo?.url ?? null} onImageError={refreshResults} />
      )}

      <ErrorNote error={actionError} />
      <div className="actions">
        {!isTerminal(view.status) && view.status !== "CREATED" && (
          <button type="button" className="button button-danger" disabled={cancelling} onClick={() => void cancel()}>
            {cancelling ? t.t("task.cancelling") : t.t("task.cancel")}
          </button>
        )}
        {canRetry && (
          <button type="button" className="button button-primary" disabled={retrying} onClick={() => void retry()}>
            {retrying ? t.t("task.starting") : t.t(photo ? "task.tryAgain" : "task.tryAgainNeedsPhoto")}
          </button>
        )}
        <a className="button" href={hrefFor({ name: "mural" })}>
          {t.t("task.newMural")}
        </a>
        <a className="button button-quiet" href={hrefFor({ name: "tasks" })}>
          {t.t("task.allTasks")}
        </a>
      </div>
    </section>
  );
}

function LiveProgress({
  view,
  previews,
  onPreviews,
  reconnecting,
  checkboxId,
}: {
  view: TaskView;
  previews: boolean;
  onPreviews: (on: boolean) => void;
  reconnecting: boolean;
  checkboxId: string;
}) {
  const { t } = useApp();
  const queued = view.status === "QUEUED";
  const stage = view.stage ? t.maybe(`stage.${view.stage}`, view.stage) : null;
  return (
    <div className="card live" aria-label={t.t("task.live")} role="group">
      {/* Said when it changes: the place in line and the stage, not every percent. */}
      <p role="status" aria-live="polite" className="live-status">
        {queued
          ? view.queuePosition === 1
            ? t.t("task.queueNext")
            : view.queuePosition
              ? t.t("task.queuePosition", { n: view.queuePosition })
              : t.t("status.QUEUED")
          : stage
            ? t.t("task.stage", { stage })
            : t.t("status.INPROGRESS")}
      </p>
      {!queued && (
        <div className="progress-row">
          <progress max={1} value={view.progress} aria-label={t.t("task.progress")} />
          <span className="progress-figure">{t.percent(view.progress)}</span>
        </div>
      )}
      {view.etaS != null && view.etaS > 0 && <p>{t.t("task.eta", { time: t.duration(view.etaS) })}</p>}
      {reconnecting && (
        <p className="note" role="status">
          {t.t("task.reconnecting")}
        </p>
      )}
      <div className="checkbox">
        <input
          id={checkboxId}
          type="checkbox"
          checked={previews}
          onChange={(e) => onPreviews(e.target.checked)}
        />
        <label htmlFor={checkboxId}>{t.t("task.previews")}</label>
      </div>
      {previews &&
        (view.preview ? (
          <img
            className="preview"
            src={view.preview.image}
            width={view.preview.width}
            height={view.preview.height}
            alt={t.t("task.previewAlt", { step: view.preview.step, total: view.preview.total_steps })}
          />
        ) : (
          <p className="hint">{t.t("task.previewWaiting")}</p>
        ))}
    </div>
  );
}

function Result({
  view,
  before,
  onImageError,
}: {
  view: TaskView;
  before: string | null;
  onImageError: () => void;
}) {
  const { t } = useApp();
  const result = view.results.find((r) => r.content_type.startsWith("image/")) ?? view.results[0];
  if (!result) return null;
  const shown = displayOf(result);
  return (
    <div className="result">
      {before ? (
        <Compare
          before={before}
          after={shown.url}
          width={shown.width}
          height={shown.height}
          onAfterError={onImageError}
        />
      ) : (
        <>
          <img
            className="result-image"
            src={shown.url}
            width={shown.width}
            height={shown.height}
            alt={t.t("task.resultAlt")}
            onError={onImageError}
          />
          <p className="hint">{t.t("task.noBefore")}</p>
        </>
      )}
      <h2>{t.t("task.downloads")}</h2>
      <ul className="downloads">
        {result.display && (
          <li>
            <a href={result.display.url} download>
              {t.t("task.downloadDisplay", { width: result.display.width, height: result.display.height })}
            </a>
          </li>
        )}
        <li>
          <a href={result.url} download>
            {t.t("task.downloadOriginal", { width: result.width, height: result.height })}
          </a>
        </li>
      </ul>
    </div>
  );
}
