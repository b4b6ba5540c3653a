// What the task page shows: the task as fetched, overtaken by the live stream once the
// stream has seen a newer change (a higher seq). Equal seqs are the same state; the fetched
// one then wins, as it may carry fresher download URLs.
import type { ErrorInfo, PublicResult, TaskOut, TaskStatus } from "../api/client";
import type { PreviewImage, TaskStreamState } from "./taskStream";

export interface TaskView {
  status: TaskStatus;
  progress: number;
  stage: string | null;
  step: number | null;
  totalSteps: number | null;
  etaS: number | null;
  queuePosition: number | null;
  error: ErrorInfo | null;
  results: PublicResult[];
  preview: PreviewImage | null;
}

export function taskView(task: TaskOut, live: TaskStreamState | null): TaskView {
  const liveTask = live?.task ?? null;
  const newer = liveTask !== null && live!.seq > task.seq;
  const current = newer && liveTask ? liveTask : null;
  const status = current?.status ?? task.status;
  // The place in the queue and its ETA come only from the stream (they have no seq).
  const queued = status === "QUEUED" && liveTask !== null && live!.seq >= task.seq;
  return {
    status,
    progress: current?.progress ?? task.progress,
    stage: current ? current.stage : task.stage,
    step: current ? current.step : task.step,
    totalSteps: current ? current.total_steps : task.total_steps,
    etaS: queued ? liveTask.eta_s : current ? current.eta_s : task.eta_s,
    queuePosition: queued ? live!.queuePosition : null,
    error: (current ? current.error : task.error) ?? null,
    results: (current ? current.results : task.results) ?? [],
    preview: status === "INPROGRESS" ? (live?.preview ?? null) : null,
  };
}

/** The picture to show for a result (the `display` rendition when there is one). */
export function displayOf(result: PublicResult): { url: string; width: number; height: number } {
  return result.display ?? { url: result.url, width: result.width, height: result.height };
}

/** The picture for lists: thumbnail, else display, else the original. */
export function thumbnailOf(result: PublicResult | undefined) {
  if (!result) return null;
  return result.thumbnail ?? displayOf(result);
}
