import { useCallback, useEffect, useId, useRef, useState } from "react";
import { isTerminal, type TaskOut } from "../api/client";
import type { StringKey } from "../i18n";
import { needsMask, retryParams, settingsFromParams, startMural } from "../tasks/mural";
import { asUpload, startTask } from "../tasks/start";
import { taskTitle } from "../tasks/titles";
import { displayOf, taskView, type TaskView } from "../tasks/view";
import { Compare } from "./Compare";
import { SharePanel } from "./SharePanel";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle } from "./common";
import { hrefFor, type Route } from "./router";
import { useTaskStream } from "./useTaskStream";

/** What differs between kinds on this page: words, previews, the result, where "another" goes. */
interface KindPage {
  previews: boolean;
  words: {
    notSubmitted: StringKey;
    failed: StringKey;
    cancelled: StringKey;
    previews: StringKey;
    previewAlt: StringKey;
    previewWaiting: StringKey;
    starting: StringKey;
  };
  another: { route: Route; label: StringKey };
}

const MURAL_WORDS: KindPage["words"] = {
  notSubmitted: "task.notSubmitted",
  failed: "task.failed",
  cancelled: "task.cancelled",
  previews: "task.previews",
  previewAlt: "task.previewAlt",
  previewWaiting: "task.previewWaiting",
  starting: "task.starting",
};

const OTHER_WORDS: KindPage["words"] = {
  notSubmitted: "task.other.notSubmitted",
  failed: "task.other.failed",
  cancelled: "task.other.cancelled",
  previews: "task.other.previews",
  previewAlt: "task.other.previewAlt",
  previewWaiting: "task.other.previewWaiting",
  starting: "task.other.starting",
};

function kindPage(kind: string | null | undefined): KindPage {
  switch (kind) {
    case "sketch":
      return {
        previews: true,
        words: OTHER_WORDS,
        another: { route: { name: "sketch" }, label: "task.newSketch" },
      };
    case "filter":
      return {
        previews: false,
        words: OTHER_WORDS,
        another: { route: { name: "filters" }, label: "task.newFilter" },
      };
    case "panorama":
      return {
        previews: false,
        words: OTHER_WORDS,
        another: { route: { name: "panorama" }, label: "task.newPanorama" },
      };
    case "mural":
    case null:
    case undefined:
      return {
        previews: true,
        words: MURAL_WORDS,
        another: { route: { name: "mural" }, label: "task.newMural" },
      };
    default:
      // A kind this client does not know yet.
      return {
        previews: false,
        words: OTHER_WORDS,
        another: { route: { name: "mural" }, label: "task.newMural" },
      };
  }
}

type Problem = { code: string; message: string } | null;

// A result's download URLs live a few minutes: an image that fails is fetched anew, this
// often at most.
const REFRESH_AFTER_MS = 30_000;

export function TaskPage({ taskId }: { taskId: string }) {
  const { api, t, getToken, photos, notes, navigate, draft, signOut } = useApp();
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
  const page = kindPage(task.kind);
  const title = taskTitle(t, task, notes.get(taskId)) ?? t.t("task.title");
  const wish = typeof task.params?.prompt === "string" ? task.params.prompt : "";
  const style = task.kind === "sketch" && typeof task.params?.style === "string" ? task.params.style : null;
  const photo = photos.get(taskId);
  // A new variation (a new seed): a mural, or a sketch whose doodle this tab still has.
  const canRetry =
    isTerminal(view.status) && (task.kind === "mural" || (task.kind === "sketch" && photo !== undefined));

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
    const kind = task?.kind ?? "mural";
    // A brush mask is not kept with the photo: the form opens to paint it again.
    if (!photo || (kind === "mural" && needsMask(params))) {
      draft.set(settingsFromParams(params));
      navigate({ name: "mural" });
      return;
    }
    setRetrying(true);
    setActionError(null);
    try {
      const started =
        kind === "sketch"
          ? await startTask(api, "sketch", [asUpload(photo, "sketch")], params)
          : await startMural(api, photo, params);
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
      {style && <p className="hint">{t.t("task.style", { style: t.maybe(`style.${style}`, style) })}</p>}
      {wish && <blockquote className="wish">{wish}</blockquote>}

      {(view.status === "QUEUED" || view.status === "INPROGRESS") && (
        <LiveProgress
          view={view}
          page={page}
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

      {view.status === "CREATED" && <p className="note">{t.t(page.words.notSubmitted)}</p>}
      {view.status === "FAILED" && (
        <div className="note note-error" role="alert">
          <p>
            <strong>{t.t(page.words.failed)}</strong> {t.error(view.error)}
          </p>
        </div>
      )}
      {view.status === "CANCELLED" && <p className="note">{t.t(page.words.cancelled)}</p>}

      {view.status === "COMPLETED" && (
        <Result kind={task.kind} view={view} input={photo?.url ?? null} onImageError={refreshResults} />
      )}
      {view.status === "COMPLETED" && view.results.some((r) => r.content_type.startsWith("image/")) && (
        // `result_index` counts among the task's images: the first is the one shown above.
        <SharePanel taskId={taskId} resultIndex={0} />
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
            {retrying ? t.t(page.words.starting) : t.t(photo && !(task?.kind === "mural" && needsMask(task.params)) ? "task.tryAgain" : "task.tryAgainNeedsPhoto")}
          </button>
        )}
        <a className="button" href={hrefFor(page.another.route)}>
          {t.t(page.another.label)}
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
  page,
  previews,
  onPreviews,
  reconnecting,
  checkboxId,
}: {
  view: TaskView;
  page: KindPage;
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
      {page.previews && (
        <div className="checkbox">
          <input
            id={checkboxId}
            type="checkbox"
            checked={previews}
            onChange={(e) => onPreviews(e.target.checked)}
          />
          <label htmlFor={checkboxId}>{t.t(page.words.previews)}</label>
        </div>
      )}
      {page.previews &&
        previews &&
        (view.preview ? (
          <img
            className="preview"
            src={view.preview.image}
            width={view.preview.width}
            height={view.preview.height}
            alt={t.t(page.words.previewAlt, { step: view.preview.step, total: view.preview.total_steps })}
          />
        ) : (
          <p className="hint">{t.t(page.words.previewWaiting)}</p>
        ))}
    </div>
  );
}

function Result({
  kind,
  view,
  input,
  onImageError,
}: {
  kind: string | null | undefined;
  view: TaskView;
  /** What this tab sent, when it still has it: the photo, or the doodle. */
  input: string | null;
  onImageError: () => void;
}) {
  const { t } = useApp();
  const result = view.results.find((r) => r.content_type.startsWith("image/")) ?? view.results[0];
  if (!result) return null;
  const shown = displayOf(result);
  const single = (alt: StringKey, hint: StringKey | null) => (
    <>
      <img
        className="result-image"
        src={shown.url}
        width={shown.width}
        height={shown.height}
        alt={t.t(alt)}
        onError={onImageError}
      />
      {hint && <p className="hint">{t.t(hint)}</p>}
    </>
  );
  let picture;
  if (kind === "panorama") {
    picture = single("task.panoramaResultAlt", null);
  } else if (kind === "sketch") {
    picture = input ? (
      <div className="side-by-side">
        <figure>
          <img className="doodle" src={input} alt={t.t("task.sketchDoodleAlt")} />
          <figcaption className="hint" aria-hidden="true">
            {t.t("task.sketchDoodle")}
          </figcaption>
        </figure>
        <figure>
          <img
            src={shown.url}
            width={shown.width}
            height={shown.height}
            alt={t.t("task.sketchResultAlt")}
            onError={onImageError}
          />
          <figcaption className="hint" aria-hidden="true">
            {t.t("task.sketchPicture")}
          </figcaption>
        </figure>
      </div>
    ) : (
      single("task.sketchResultAlt", "task.noDoodle")
    );
  } else if (kind === "filter") {
    picture = input ? (
      <Compare
        before={input}
        after={shown.url}
        width={shown.width}
        height={shown.height}
        onAfterError={onImageError}
        beforeAlt="filter.photoAlt"
        afterAlt="task.filterResultAlt"
      />
    ) : (
      single("task.filterResultAlt", "task.noBefore")
    );
  } else if (kind === "mural" || !kind) {
    picture = input ? (
      <Compare
        before={input}
        after={shown.url}
        width={shown.width}
        height={shown.height}
        onAfterError={onImageError}
      />
    ) : (
      single("task.resultAlt", "task.noBefore")
    );
  } else {
    picture = single("task.otherResultAlt", null);
  }
  return (
    <div className="result">
      {picture}
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
