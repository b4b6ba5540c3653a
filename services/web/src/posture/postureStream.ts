// The posture websocket (`WS /v1/posture/stream`, services/posture): auth as the first frame,
// then landmarks (JSON) or camera frames (binary) in, a result per frame out. What the server
// says is folded into one state by `applyMessage` (pure, tested); `openPostureStream` owns
// the socket: it reconnects with backoff, and after a reconnect (a new server session) sends
// the person's sensitivity and pause again. A 1008 close (auth) ends it for good.
import type { ErrorInfo } from "../api/client";
import {
  backoffDelay,
  closeError,
  DEFAULT_BACKOFF,
  pageSocketOrigin,
  POLICY_VIOLATION,
  SYSTEM_TIMERS,
  type Backoff,
  type Connection,
  type Timers,
} from "../tasks/taskStream";
import type { LandmarksMessage } from "./landmarks";

export type PostureState = "good" | "forward_head" | "looking_down" | "away" | "paused" | "uncalibrated";

export interface PostureResult {
  state: PostureState;
  /** Smoothed forward-head index, 0 good … 1 severe; null when the frame was not scored. */
  score: number | null;
  /** Why the frame could not be scored (`no_person`, `head_turned`, …). */
  reason: string | null;
  source: "landmarks" | "frame";
}

export type CalibrationStatus = "idle" | "running" | "completed" | "failed";

export interface CalibrationView {
  status: CalibrationStatus;
  /** 0..1 of the time asked for. */
  fraction: number;
  samples: number;
  minSamples: number;
  durationS: number;
  /** Why it failed (`too_short`, `too_few_frames`, `too_much_movement`, `interrupted`). */
  reason: string | null;
  /** Whether the baseline was stored for the next session (completed only). */
  stored: boolean | null;
}

export interface PostureAlert {
  level: number;
  state: PostureState;
  /** The server's sentence (English); the page shows its own for known states. */
  message: string;
  /** Wall-clock seconds (Unix). */
  t: number;
  badForS: number;
}

export interface PostureStreamState {
  connection: Connection;
  sessionId: string | null;
  setup: string;
  /** A baseline exists for this setup: results are scored. */
  calibrated: boolean;
  calibration: CalibrationView;
  paused: boolean;
  /** As the server last confirmed it (0 relaxed … 1 strict). */
  sensitivity: number | null;
  limits: { maxFrameBytes: number; maxFrameSide: number; maxMessagesPerS: number } | null;
  result: PostureResult | null;
  /** The latest alert, and how many came in this page's session. */
  alert: PostureAlert | null;
  alerts: number;
  /** Camera frames sent whose result has not come back (the sender waits for it). */
  framesInFlight: number;
  error: ErrorInfo | null;
  retries: number;
  finished: boolean;
}

export const IDLE_CALIBRATION: CalibrationView = {
  status: "idle",
  fraction: 0,
  samples: 0,
  minSamples: 0,
  durationS: 0,
  reason: null,
  stored: null,
};

export function initialPostureState(): PostureStreamState {
  return {
    connection: "connecting",
    sessionId: null,
    setup: "default",
    calibrated: false,
    calibration: IDLE_CALIBRATION,
    paused: false,
    sensitivity: null,
    limits: null,
    result: null,
    alert: null,
    alerts: 0,
    framesInFlight: 0,
    error: null,
    retries: 0,
    finished: false,
  };
}

type Message = Record<string, unknown>;

const num = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const STATES: readonly string[] = ["good", "forward_head", "looking_down", "away", "paused", "uncalibrated"];
const state = (value: unknown): PostureState | null =>
  typeof value === "string" && STATES.includes(value) ? (value as PostureState) : null;

/** One server message folded into the state. Unknown types (a newer server) change nothing. */
export function applyMessage(current: PostureStreamState, message: Message): PostureStreamState {
  switch (message.type) {
    case "ready": {
      const limits = (message.limits ?? {}) as Message;
      return {
        ...current,
        connection: "open",
        sessionId: str(message.session_id),
        setup: str(message.setup) ?? current.setup,
        calibrated: message.calibrated === true,
        calibration: { ...current.calibration, durationS: num(message.calibration_s) ?? current.calibration.durationS },
        limits: {
          maxFrameBytes: num(limits.max_frame_bytes) ?? 2 * 1024 * 1024,
          maxFrameSide: num(limits.max_frame_side) ?? 4096,
          maxMessagesPerS: num(limits.max_messages_per_s) ?? 30,
        },
        retries: 0,
        error: null,
      };
    }
    case "result": {
      const posture = state(message.state);
      if (!posture) return current;
      const source = message.source === "frame" ? "frame" : "landmarks";
      const progress = message.calibration as Message | null | undefined;
      let calibration = current.calibration;
      if (progress && current.calibration.status === "running") {
        calibration = {
          ...calibration,
          fraction: num(progress.fraction) ?? calibration.fraction,
          samples: num(progress.samples) ?? calibration.samples,
          minSamples: num(progress.min_samples) ?? calibration.minSamples,
          durationS: num(progress.duration_s) ?? calibration.durationS,
        };
      }
      return {
        ...current,
        result: { state: posture, score: num(message.score), reason: str(message.reason), source },
        calibration,
        framesInFlight: source === "frame" ? Math.max(0, current.framesInFlight - 1) : current.framesInFlight,
      };
    }
    case "alert": {
      const posture = state(message.state);
      if (!posture) return current;
      return {
        ...current,
        alert: {
          level: num(message.level) ?? 1,
          state: posture,
          message: str(message.message) ?? "",
          t: num(message.t) ?? Date.now() / 1000,
          badForS: num(message.bad_for_s) ?? 0,
        },
        alerts: current.alerts + 1,
      };
    }
    case "calibration":
      return { ...current, ...calibrationChange(current, message) };
    case "status":
      if (message.state === "paused") return { ...current, paused: true };
      if (message.state === "resumed") return { ...current, paused: false };
      return current;
    case "settings":
      return {
        ...current,
        sensitivity: num(message.sensitivity) ?? current.sensitivity,
        setup: str(message.setup) ?? current.setup,
        calibrated: typeof message.calibrated === "boolean" ? message.calibrated : current.calibrated,
      };
    case "error": {
      const error = message.error as ErrorInfo | undefined;
      if (!error || typeof error.code !== "string") return current;
      // A refused camera frame frees its place as a result would.
      const frameRefused = num(message.frame) !== null;
      return {
        ...current,
        error,
        framesInFlight: frameRefused ? Math.max(0, current.framesInFlight - 1) : current.framesInFlight,
      };
    }
    default:
      return current;
  }
}

function calibrationChange(current: PostureStreamState, message: Message): Partial<PostureStreamState> {
  const was = current.calibration;
  switch (message.status) {
    case "started":
      return {
        calibration: {
          ...IDLE_CALIBRATION,
          status: "running",
          durationS: num(message.duration_s) ?? was.durationS,
          minSamples: was.minSamples,
        },
      };
    case "cancelled":
      return { calibration: { ...IDLE_CALIBRATION, durationS: was.durationS } };
    case "completed":
      return {
        calibrated: true,
        calibration: { ...was, status: "completed", fraction: 1, reason: null, stored: message.stored === true },
      };
    case "failed":
      return { calibration: { ...was, status: "failed", reason: str(message.reason) ?? "failed", stored: null } };
    default:
      return {};
  }
}

// -- the socket ------------------------------------------------------------------------------

/** The browser's WebSocket as far as this client uses it (binary frames too). */
export interface PostureSocketLike {
  readonly readyState: number;
  binaryType?: string;
  send(data: string | ArrayBuffer | Blob): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type PostureSocketFactory = new (url: string) => PostureSocketLike;

export interface PostureStreamOptions {
  /** Read at every (re)connect, so a fresh token is used. */
  getToken: () => string | null;
  /** ws(s)://host; the page's own origin by default. */
  origin?: string;
  WebSocket?: PostureSocketFactory;
  timers?: Timers;
  backoff?: Partial<Backoff>;
}

export interface PostureStream {
  getState(): PostureStreamState;
  subscribe(listener: (state: PostureStreamState) => void): () => void;
  /** False when the socket is not open (nothing is queued: a late frame is useless). */
  sendLandmarks(message: LandmarksMessage): boolean;
  sendFrame(data: ArrayBuffer | Blob): boolean;
  calibrate(action: "start" | "finish" | "cancel"): void;
  setSensitivity(sensitivity: number): void;
  pause(): void;
  resume(): void;
  close(): void;
}

const OPEN = 1;

export function postureUrl(origin: string): string {
  return `${origin}/v1/posture/stream`;
}

export function openPostureStream(options: PostureStreamOptions): PostureStream {
  const found = options.WebSocket ?? (globalThis.WebSocket as unknown as PostureSocketFactory | undefined);
  if (!found) throw new Error("no WebSocket in this environment");
  const Socket: PostureSocketFactory = found;
  const timers: Timers = options.timers ?? SYSTEM_TIMERS;
  const backoff: Backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const url = postureUrl(
    options.origin ?? pageSocketOrigin(globalThis.location ?? { protocol: "http:", host: "localhost" }),
  );

  let socket: PostureSocketLike | null = null;
  let retryTimer: unknown = null;
  // What the person chose, sent again to each new server session.
  let wantedSensitivity: number | null = null;
  let wantPaused = false;
  const listeners = new Set<(state: PostureStreamState) => void>();
  let current = initialPostureState();

  function set(next: PostureStreamState) {
    if (next === current) return;
    current = next;
    for (const listener of [...listeners]) listener(current);
  }

  function sendJson(message: object): boolean {
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function connect() {
    retryTimer = null;
    set({ ...current, connection: "connecting" });
    const ws = new Socket(url);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      ws.send(JSON.stringify({ type: "auth", token: options.getToken() ?? "" }));
    };
    ws.onmessage = (event) => {
      if (socket !== ws || typeof event.data !== "string") return;
      let message: Message;
      try {
        message = JSON.parse(event.data) as Message;
      } catch {
        return;
      }
      if (!message || typeof message !== "object") return;
      set(applyMessage(current, message));
      if (message.type === "ready") {
        if (wantedSensitivity !== null) sendJson({ type: "settings", sensitivity: wantedSensitivity });
        if (wantPaused) sendJson({ type: "pause" });
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      onClose(event.code, event.reason ?? "");
    };
    ws.onerror = () => {};
  }

  function onClose(code: number, reason: string) {
    // The server's session ended with the socket: a calibration under way is gone with it.
    const calibration =
      current.calibration.status === "running"
        ? { ...current.calibration, status: "failed" as const, reason: "interrupted" }
        : current.calibration;
    if (code === POLICY_VIOLATION) {
      set({ ...current, calibration, connection: "closed", finished: true, error: closeError(reason), framesInFlight: 0 });
      return;
    }
    const delay = backoffDelay(current.retries, backoff);
    set({ ...current, calibration, connection: "waiting", retries: current.retries + 1, framesInFlight: 0 });
    retryTimer = timers.setTimeout(connect, delay);
  }

  connect();

  return {
    getState: () => current,
    subscribe(listener) {
      listeners.add(listener);
      listener(current);
      return () => listeners.delete(listener);
    },
    sendLandmarks: (message) => current.connection === "open" && sendJson(message),
    sendFrame(data) {
      if (current.connection !== "open" || !socket || socket.readyState !== OPEN) return false;
      socket.send(data);
      set({ ...current, framesInFlight: current.framesInFlight + 1 });
      return true;
    },
    calibrate: (action) => void sendJson({ type: "calibrate", action }),
    setSensitivity(sensitivity) {
      wantedSensitivity = Math.min(1, Math.max(0, sensitivity));
      sendJson({ type: "settings", sensitivity: wantedSensitivity });
    },
    pause() {
      wantPaused = true;
      sendJson({ type: "pause" });
    },
    resume() {
      wantPaused = false;
      sendJson({ type: "resume" });
    },
    close() {
      if (retryTimer !== null) timers.clearTimeout(retryTimer);
      retryTimer = null;
      const ws = socket;
      socket = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close(1000, "client closed");
        } catch {
          // already closing
        }
      }
      set({ ...current, connection: "closed", finished: true });
    },
  };
}
