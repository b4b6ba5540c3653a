// Landmarks computed in the browser by MediaPipe Pose (the legacy "solutions" build, whose
// npm package carries its model files; poseAssets.ts says which and where we serve them).
// Loaded only when the posture page asks for it, as a classic script that defines
// `window.Pose`; anything that goes wrong here means the page falls back to sending frames.
import type { Landmark } from "./landmarks";
import { MODEL_COMPLEXITY, POSE_BASE_URL, POSE_SCRIPT, poseFileUrl } from "./poseAssets";

interface MediaPipeResults {
  poseLandmarks?: Landmark[];
}
interface MediaPipePose {
  setOptions(options: Record<string, unknown>): void;
  onResults(listener: (results: MediaPipeResults) => void): void;
  initialize(): Promise<void>;
  send(input: { image: CanvasImageSource }): Promise<void>;
  close(): Promise<void>;
}
type PoseConstructor = new (config: { locateFile: (file: string, prefix?: string) => string }) => MediaPipePose;

export interface PoseDetector {
  /** The person's 33 landmarks in `image`, or null when nobody is found. */
  detect(image: CanvasImageSource): Promise<Landmark[] | null>;
  close(): void;
}

/** Why this browser cannot run the model (null: it can). Needs WebAssembly and WebGL. */
export function inBrowserPoseUnsupported(
  env: { WebAssembly?: unknown; document?: { createElement(tag: "canvas"): { getContext(kind: string): unknown } } } = globalThis as never,
): "no_webassembly" | "no_webgl" | null {
  if (typeof env.WebAssembly !== "object" || env.WebAssembly === null) return "no_webassembly";
  try {
    const canvas = env.document?.createElement("canvas");
    if (!canvas || !(canvas.getContext("webgl2") ?? canvas.getContext("webgl"))) return "no_webgl";
  } catch {
    return "no_webgl";
  }
  return null;
}

let scriptLoad: Promise<PoseConstructor> | null = null;

function loadScript(): Promise<PoseConstructor> {
  scriptLoad ??= new Promise<PoseConstructor>((resolve, reject) => {
    const existing = (window as unknown as { Pose?: PoseConstructor }).Pose;
    if (existing) return resolve(existing);
    const script = document.createElement("script");
    script.src = POSE_BASE_URL + POSE_SCRIPT;
    script.async = true;
    script.onload = () => {
      const Pose = (window as unknown as { Pose?: PoseConstructor }).Pose;
      if (Pose) resolve(Pose);
      else reject(new Error("the pose script did not define Pose"));
    };
    script.onerror = () => reject(new Error("the pose script could not be loaded"));
    document.head.appendChild(script);
  }).catch((error: unknown) => {
    scriptLoad = null; // a later attempt may succeed (the network came back)
    throw error;
  });
  return scriptLoad;
}

/** Loads and warms the model (seconds on a phone: the page says so meanwhile). Rejects after
 * `timeoutMs`, so a browser where it hangs still gets the server fallback. */
export async function createPoseDetector(timeoutMs = 60_000): Promise<PoseDetector> {
  const Pose = await loadScript();
  const pose = new Pose({ locateFile: (file) => poseFileUrl(file) });
  pose.setOptions({
    modelComplexity: MODEL_COMPLEXITY,
    smoothLandmarks: true,
    enableSegmentation: false,
    minDetectionConfidence: 0.5,
    minTrackingConfidence: 0.5,
  });
  let latest: Landmark[] | null = null;
  pose.onResults((results) => {
    latest = results.poseLandmarks ?? null;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      pose.initialize(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the pose model took too long to load")), timeoutMs);
      }),
    ]);
  } catch (error) {
    void pose.close().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    async detect(image) {
      latest = null;
      await pose.send({ image });
      return latest;
    },
    close() {
      void pose.close().catch(() => {});
    },
  };
}
