// The coach's send loop: each tick looks at the camera once and sends what it found. With the
// in-browser model that is the landmarks (the picture never leaves the device); without it, a
// JPEG frame, and only when the previous frame's result has come back (a slow server gets
// fewer frames, never a queue of old ones). A model that fails mid-session hands over to
// frames. Timers and the clock are injected, so the tests drive it by hand.
import { SYSTEM_TIMERS, type Timers } from "../tasks/taskStream";
import type { PoseDetector } from "./inBrowserPose";
import { landmarksMessage, type Landmark } from "./landmarks";
import type { PostureStream } from "./postureStream";

/** In-browser landmarks: up to 10 a second (the service takes 30 messages a second). */
export const LANDMARKS_INTERVAL_MS = 100;
/** Frames to the service: up to 4 a second (it takes 15). */
export const FRAMES_INTERVAL_MS = 250;

export type CoachMode = "device" | "server";

export interface CoachLoopOptions {
  stream: Pick<PostureStream, "getState" | "sendLandmarks" | "sendFrame">;
  /** What the camera shows now (a <video>): its size is the frame's. */
  camera: { videoWidth: number; videoHeight: number } & CanvasImageSource;
  /** null: frames go to the server from the start. */
  detector: PoseDetector | null;
  grabFrame: () => Promise<Blob | null>;
  /** The landmarks of the latest look (for the overlay); null when nobody was found. */
  onLandmarks?: (landmarks: Landmark[] | null) => void;
  /** The model failed (and is closed): the loop now sends frames. */
  onFallback?: (error: unknown) => void;
  timers?: Timers;
  now?: () => number;
}

export interface CoachLoop {
  mode(): CoachMode;
  stop(): void;
}

export function startCoachLoop(options: CoachLoopOptions): CoachLoop {
  const timers: Timers = options.timers ?? SYSTEM_TIMERS;
  const now = options.now ?? (() => performance.now());
  let detector = options.detector;
  let stopped = false;
  let timer: unknown = null;
  let frameId = 0;

  async function look(): Promise<void> {
    const state = options.stream.getState();
    if (state.connection !== "open" || state.paused) return;
    const { camera } = options;
    if (detector) {
      let landmarks: Landmark[] | null;
      try {
        landmarks = await detector.detect(camera);
      } catch (error) {
        detector.close();
        detector = null;
        options.onFallback?.(error);
        return;
      }
      if (stopped) return;
      options.onLandmarks?.(landmarks);
      const message = landmarksMessage(++frameId, landmarks, camera.videoWidth, camera.videoHeight);
      if (message) options.stream.sendLandmarks(message);
    } else if (state.framesInFlight === 0) {
      const frame = await options.grabFrame();
      if (frame && !stopped) options.stream.sendFrame(frame);
    }
  }

  function schedule(delay: number) {
    timer = timers.setTimeout(() => void tick(), Math.max(0, delay));
  }

  async function tick() {
    timer = null;
    if (stopped) return;
    const started = now();
    try {
      await look();
    } catch {
      // One failed look (a frame the browser could not encode); the next tick tries again.
    } finally {
      if (!stopped) {
        const interval = detector ? LANDMARKS_INTERVAL_MS : FRAMES_INTERVAL_MS;
        schedule(interval - (now() - started));
      }
    }
  }

  schedule(0);
  return {
    mode: () => (detector ? "device" : "server"),
    stop() {
      stopped = true;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      // The detector is the caller's: it outlives the loop (a hidden tab stops the loop).
      detector = null;
    },
  };
}
