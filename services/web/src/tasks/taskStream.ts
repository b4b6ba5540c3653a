// The task websocket (`WS /v1/tasks/{id}/events`) as a small state machine.
//
// Browsers cannot set headers on a websocket, so the token goes in the first text frame;
// the server sends nothing before it. State frames (snapshot/status/progress) carry `seq`
// and each one is the whole task: a frame whose seq is not above the last one seen is
// dropped. `queue` and `preview` frames carry no seq and never change the task's state.
// After a drop the stream reconnects with capped exponential backoff and gets a new
// snapshot (seq continues); it stops for good on a terminal status or a 1008 (auth) close.
import type { ErrorInfo, PublicResult, TaskStatus } from "../api/client";
import { isTerminal } from "../api/client";

/** The part of a task a state frame carries. */
export interface TaskFrameState {
  status: TaskStatus;
  progress: number;
  stage: string | null;
  step: number | null;
  total_steps: number | null;
  eta_s: number | null;
  attempt: number;
  error: ErrorInfo | null;
  results: PublicResult[] | null;
}

export interface PreviewImage {
  step: number;
  total_steps: number;
  width: number;
  height: number;
  /** A data URL (image/jpeg or image/webp). */
  image: string;
}

export interface PreviewOptions {
  max_side: number;
  every_s: number;
}

export type Connection = "connecting" | "open" | "waiting" | "closed";

export interface TaskStreamState {
  taskId: string;
  connection: Connection;
  /** The highest seq applied; -1 before the first snapshot. */
  seq: number;
  task: TaskFrameState | null;
  /** While QUEUED: 1 = next to start for its kind. */
  queuePosition: number | null;
  preview: PreviewImage | null;
  /** Why the stream stopped for good (auth), or the last non-fatal server error frame. */
  error: ErrorInfo | null;
  /** Reconnects attempted since the last frame that arrived. */
  retries: number;
  /** True once nothing more will come: a terminal status, a 1008, or close(). */
  finished: boolean;
}

/** What the stream needs of a WebSocket: the browser's, or a fake in tests. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type SocketFactory = new (url: string) => SocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** 0..1 → the share of the delay to add as jitter (0 in tests). */
  random: () => number;
}

export interface TaskStreamOptions {
  taskId: string;
  /** Read at every (re)connect, so a fresh token is used. */
  getToken: () => string | null;
  /** ws(s)://host, defaults to the page's own origin. */
  origin?: string;
  previews?: PreviewOptions | null;
  WebSocket?: SocketFactory;
  timers?: Timers;
  backoff?: Partial<Backoff>;
}

export interface TaskStream {
  getState(): TaskStreamState;
  /** Called now with the current state, then on every change; returns the unsubscribe. */
  subscribe(listener: (state: TaskStreamState) => void): () => void;
  /** Turn live previews on (options) or off (null), now and after reconnects. */
  setPreviews(options: PreviewOptions | null): void;
  close(): void;
}

export const POLICY_VIOLATION = 1008;
const OPEN = 1;
export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, maxMs: 15_000, random: Math.random };

/** The browser's own timers (tests pass fakes). */
export const SYSTEM_TIMERS: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** ws(s)://<host>/v1/tasks/{id}/events for the page at `location`. */
export function eventsUrl(taskId: string, origin: string): string {
  return `${origin}/v1/tasks/${encodeURIComponent(taskId)}/events`;
}

export function pageSocketOrigin(location: { protocol: string; host: string }): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
}

/** The delay before reconnect number `attempt` (0-based): base·2^attempt, capped, plus jitter. */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  const plain = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(Math.min(backoff.maxMs, plain * (1 + 0.25 * backoff.random())));
}

/** A 1008's reason names the auth failure (`token_expired`) or says "task not found". */
export function closeError(reason: string): ErrorInfo {
  const text = reason.trim();
  if (/^[a-z][a-z0-9_]*$/.test(text)) return { code: text, message: text };
  if (/task not found/i.test(text)) return { code: "task_not_found", message: text };
  return { code: "stream_unauthorized", message: text || "the live connection was refused" };
}

type Frame = Record<string, unknown> & { type?: unknown };

const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** A state frame as the task's state (frames leave out null fields, so absent = null). */
export function frameState(frame: Frame): TaskFrameState {
  return {
    status: frame.status as TaskStatus,
    progress: num(frame.progress) ?? 0,
    stage: str(frame.stage),
    step: num(frame.step),
    total_steps: num(frame.total_steps),
    eta_s: num(frame.eta_s),
    attempt: num(frame.attempt) ?? 0,
    error: (frame.error as ErrorInfo | undefined) ?? null,
    results: Array.isArray(frame.results) ? (frame.results as PublicResult[]) : null,
  };
}

export function openTaskStream(options: TaskStreamOptions): TaskStream {
  const found = options.WebSocket ?? (globalThis.WebSocket as unknown as SocketFactory | undefined);
  if (!found) throw new Error("no WebSocket in this environment");
  const Socket: SocketFactory = found;
  const timers: Timers = options.timers ?? SYSTEM_TIMERS;
  const backoff: Backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const url = eventsUrl(
    options.taskId,
    options.origin ?? pageSocketOrigin(globalThis.location ?? { protocol: "http:", host: "localhost" }),
  );

  let previews = options.previews ?? null;
  let socket: SocketLike | null = null;
  let retryTimer: unknown = null;
  const listeners = new Set<(state: TaskStreamState) => void>();
  let state: TaskStreamState = {
    taskId: options.taskId,
    connection: "connecting",
    seq: -1,
    task: null,
    queuePosition: null,
    preview: null,
    error: null,
    retries: 0,
    finished: false,
  };

  function update(change: Partial<TaskStreamState>) {
    state = { ...state, ...change };
    for (const listener of [...listeners]) listener(state);
  }

  function sendOptions() {
    if (socket && socket.readyState === OPEN) {
      socket.send(JSON.stringify({ type: "options", previews }));
    }
  }

  function connect() {
    retryTimer = null;
    update({ connection: "connecting" });
    const ws = new Socket(url);
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      ws.send(JSON.stringify({ type: "auth", token: options.getToken() ?? "" }));
      // Off is the server's default: only an opt-in needs saying.
      if (previews) sendOptions();
      update({ connection: "open" });
    };
    ws.onmessage = (event) => {
      if (socket !== ws || typeof event.data !== "string") return;
      let frame: Frame;
      try {
        frame = JSON.parse(event.data) as Frame;
      } catch {
        return;
      }
      if (frame && typeof frame === "object") onFrame(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      onClose(event.code, event.reason ?? "");
    };
    // An error is always followed by a close; the close decides.
    ws.onerror = () => {};
  }

  function onFrame(frame: Frame) {
    switch (frame.type) {
      case "snapshot":
      case "status":
      case "progress":
        return onStateFrame(frame);
      case "queue":
        if (state.task?.status !== "QUEUED") return;
        return update({
          queuePosition: num(frame.queue_position),
          task: { ...state.task, eta_s: num(frame.eta_s) },
          retries: 0,
        });
      case "preview":
        if (!previews || state.finished || typeof frame.image !== "string") return;
        return update({
          preview: {
            step: num(frame.step) ?? 0,
            total_steps: num(frame.total_steps) ?? 0,
            width: num(frame.width) ?? 0,
            height: num(frame.height) ?? 0,
            image: frame.image,
          },
        });
      case "error": {
        const error = frame.error as ErrorInfo | undefined;
        if (error && typeof error.code === "string") update({ error });
        return;
      }
      default:
        return; // options acknowledgements, pongs, frame types of later versions
    }
  }

  function onStateFrame(frame: Frame) {
    const seq = num(frame.seq);
    if (seq === null || typeof frame.status !== "string") return;
    if (seq <= state.seq) {
      // Nothing changed since the last frame. A snapshot (after a reconnect) still tells
      // the place in the queue as of now, which is this socket's and has no seq.
      if (frame.type === "snapshot" && seq === state.seq && state.task?.status === "QUEUED") {
        update({
          queuePosition: num(frame.queue_position) ?? state.queuePosition,
          task: { ...state.task, eta_s: num(frame.eta_s) },
          retries: 0,
        });
      } else if (state.retries !== 0) {
        update({ retries: 0 });
      }
      return;
    }
    const task = frameState(frame);
    const done = isTerminal(task.status);
    update({
      seq,
      task,
      queuePosition: task.status === "QUEUED" ? num(frame.queue_position) : null,
      preview: task.status === "INPROGRESS" ? state.preview : null,
      retries: 0,
      finished: done,
      connection: done ? "closed" : state.connection,
    });
    if (done) stop(1000, "task finished");
  }

  function onClose(code: number, reason: string) {
    if (state.finished) return update({ connection: "closed" });
    if (code === POLICY_VIOLATION) {
      return update({ connection: "closed", finished: true, error: closeError(reason) });
    }
    const delay = backoffDelay(state.retries, backoff);
    update({ connection: "waiting", retries: state.retries + 1 });
    retryTimer = timers.setTimeout(connect, delay);
  }

  function stop(code: number, reason: string) {
    if (retryTimer !== null) {
      timers.clearTimeout(retryTimer);
      retryTimer = null;
    }
    const ws = socket;
    socket = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
  }

  connect();

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      listener(state);
      return () => listeners.delete(listener);
    },
    setPreviews(next) {
      previews = next;
      if (!next && state.preview) update({ preview: null });
      sendOptions();
    },
    close() {
      if (state.finished && !socket && retryTimer === null) return;
      stop(1000, "client closed");
      update({ connection: "closed", finished: true });
    },
  };
}
