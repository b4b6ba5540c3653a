// Pose landmarks as the posture service takes them (saekdam_contracts.posture): MediaPipe
// Pose's 33 points, x and y normalised to the frame. Pure: the skeleton overlay's lines and the
// `landmarks` message are made here and tested without a browser.

export const LANDMARK_COUNT = 33;

export interface Landmark {
  x: number;
  y: number;
  z?: number;
  visibility?: number;
}

export interface LandmarksMessage {
  type: "landmarks";
  frame_id: number;
  image: { width: number; height: number };
  landmarks: { x: number; y: number; z: number; visibility: number }[];
}

/** The contract's bounds (a landmark may lie just outside the frame). */
const XY = [-1, 2] as const;
const Z = [-10, 10] as const;

const clamp = (value: number | undefined, [low, high]: readonly [number, number], fallback: number) =>
  typeof value === "number" && Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : fallback;

/** 33 points nobody can see: what the client sends for a frame in which MediaPipe found no
 * person, so the service counts the time as `away` (as it does for its own empty frames). */
const NOBODY: readonly Landmark[] = Array.from({ length: LANDMARK_COUNT }, () => ({ x: 0, y: 0, z: 0, visibility: 0 }));

/** The message for one frame's landmarks (`null` or an incomplete pose: nobody there), or null
 * when the frame has no size yet. Values outside the contract's bounds are clamped, so a point
 * MediaPipe places far off the frame is not refused. */
export function landmarksMessage(
  frameId: number,
  landmarks: readonly Landmark[] | null | undefined,
  width: number,
  height: number,
): LandmarksMessage | null {
  if (!(width > 0 && height > 0)) return null;
  const points = landmarks && landmarks.length === LANDMARK_COUNT ? landmarks : NOBODY;
  return {
    type: "landmarks",
    frame_id: frameId,
    image: { width: Math.round(width), height: Math.round(height) },
    landmarks: points.map((point) => ({
      x: clamp(point.x, XY, 0),
      y: clamp(point.y, XY, 0),
      z: clamp(point.z, Z, 0),
      visibility: clamp(point.visibility, [0, 1], 0),
    })),
  };
}

/** The lines of the overlay, by landmark index: the face's outline, ears to shoulders (the
 * neck the coach watches), arms, trunk and legs. */
export const SKELETON: readonly (readonly [number, number])[] = [
  [0, 2], [0, 5], [2, 7], [5, 8], [9, 10],
  [7, 11], [8, 12],
  [11, 12], [11, 13], [13, 15], [12, 14], [14, 16],
  [11, 23], [12, 24], [23, 24],
  [23, 25], [25, 27], [24, 26], [26, 28],
];

/** The landmarks the coach scores on (nose, eyes, ears, shoulders): drawn as dots. */
export const KEY_POINTS: readonly number[] = [0, 2, 5, 7, 8, 11, 12];

export interface Segment {
  from: { x: number; y: number };
  to: { x: number; y: number };
}

/** The skeleton's segments in pixels of a `width`×`height` overlay; points MediaPipe is not
 * sure of (visibility under `minVisibility`) are left out with their lines. */
export function skeletonSegments(
  landmarks: readonly Landmark[] | null | undefined,
  width: number,
  height: number,
  minVisibility = 0.5,
): { segments: Segment[]; points: { x: number; y: number }[] } {
  if (!landmarks || landmarks.length !== LANDMARK_COUNT) return { segments: [], points: [] };
  const seen = (index: number) => {
    const point = landmarks[index];
    return point !== undefined && (point.visibility ?? 1) >= minVisibility && Number.isFinite(point.x) && Number.isFinite(point.y);
  };
  const at = (index: number) => {
    const point = landmarks[index] as Landmark;
    return { x: point.x * width, y: point.y * height };
  };
  return {
    segments: SKELETON.filter(([a, b]) => seen(a) && seen(b)).map(([a, b]) => ({ from: at(a), to: at(b) })),
    points: KEY_POINTS.filter(seen).map(at),
  };
}
