// The in-browser pose model: MediaPipe Pose's files from its npm package (@mediapipe/pose),
// copied into the build by vite.config.ts and served from our own origin, so no CDN ever sees
// who uses the coach. Only what model complexity 1 loads, in SIMD and plain WebAssembly.

export const POSE_PACKAGE = "@mediapipe/pose";
/** Where the files are served (outside /assets/: not part of the app shell's cache). */
export const POSE_BASE_URL = "/mediapipe/pose/";
/** The loader script that defines `window.Pose`. */
export const POSE_SCRIPT = "pose.js";
/** The landmark model complexity the server's estimator uses too (the full model). */
export const MODEL_COMPLEXITY = 1;

export const POSE_FILES = [
  POSE_SCRIPT,
  "pose_web.binarypb",
  "pose_landmark_full.tflite",
  "pose_solution_packed_assets.data",
  "pose_solution_packed_assets_loader.js",
  "pose_solution_simd_wasm_bin.js",
  "pose_solution_simd_wasm_bin.wasm",
  "pose_solution_simd_wasm_bin.data",
  "pose_solution_wasm_bin.js",
  "pose_solution_wasm_bin.wasm",
] as const;

/** The URL MediaPipe's `locateFile` gives for one of its files. */
export function poseFileUrl(file: string): string {
  return POSE_BASE_URL + file.replace(/^.*\//, "");
}
