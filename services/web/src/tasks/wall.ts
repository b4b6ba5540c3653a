// Choosing the wall on the photo: points tapped on it, a box dragged around it, or the wall
// painted with a brush (brush.ts). Pure, so the picker's arithmetic is tested without a
// browser. Coordinates are normalised to the photo: 0..1 from its top left, as the API takes them.
import { hasPaint, type BrushMask } from "./brush";
import type { Region } from "./mural";

/** The API's limit on points. */
export const MAX_POINTS = 16;
/** A box smaller than this share of the photo on either side is a tap, not a box. */
export const MIN_BOX = 0.02;
/** How far one arrow key moves the keyboard cursor or the box (a share of the photo). */
export const KEY_STEP = 0.02;
/** The box Enter puts in the middle of the photo. */
export const DEFAULT_BOX: WallBox = { x: 0.25, y: 0.25, w: 0.5, h: 0.5 };

export type WallMode = "auto" | "points" | "box" | "mask";
export type PointLabel = 0 | 1; // 1: on the wall, 0: not the wall
export interface Spot {
  x: number;
  y: number;
}
export interface WallPoint extends Spot {
  label: PointLabel;
}
export interface WallBox {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Keys of the sentences that say what is missing (strings.ts has them). */
export type WallProblem =
  | "mural.wallNeedPoints"
  | "mural.wallNeedOnPoint"
  | "mural.wallNeedBox"
  | "mural.wallNeedMask"
  | "mural.wallTooManyPoints";

/** The Region to send (and for mode "mask", the strokes to render as the mask upload), or
 *  what is still missing. */
export type RegionChoice =
  | { region: Region; mask?: BrushMask; error?: undefined }
  | { error: WallProblem; region?: undefined; mask?: undefined };

export function clamp01(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

/** A pointer at (clientX, clientY) as a spot on an element with bounding `rect`, clamped. */
export function normalise(clientX: number, clientY: number, rect: Rect): Spot {
  return {
    x: rect.width > 0 ? clamp01((clientX - rect.left) / rect.width) : 0,
    y: rect.height > 0 ? clamp01((clientY - rect.top) / rect.height) : 0,
  };
}

/** The box between two corners of a drag, in either direction; null when it is too small
 *  on either side to be meant as a box (a tap). */
export function boxFrom(a: Spot, b: Spot, minSize: number = MIN_BOX): WallBox | null {
  const x1 = clamp01(Math.min(a.x, b.x));
  const x2 = clamp01(Math.max(a.x, b.x));
  const y1 = clamp01(Math.min(a.y, b.y));
  const y2 = clamp01(Math.max(a.y, b.y));
  const w = x2 - x1;
  const h = y2 - y1;
  if (w < minSize || h < minSize || w <= 0 || h <= 0) return null;
  return { x: x1, y: y1, w, h };
}

export type AddResult =
  | { ok: true; points: WallPoint[] }
  | { ok: false; points: WallPoint[]; reason: "mural.wallTooManyPoints" };

/** One more point (clamped into the photo), or the same points and why not. */
export function addPoint(points: readonly WallPoint[], point: WallPoint): AddResult {
  if (points.length >= MAX_POINTS) {
    return { ok: false, points: [...points], reason: "mural.wallTooManyPoints" };
  }
  const label: PointLabel = point.label === 0 ? 0 : 1;
  return { ok: true, points: [...points, { x: clamp01(point.x), y: clamp01(point.y), label }] };
}

export function undoPoint(points: readonly WallPoint[]): WallPoint[] {
  return points.slice(0, -1);
}

export function clearPoints(): WallPoint[] {
  return [];
}

/** The keyboard cursor moved by (dx, dy), kept on the photo. */
export function moveSpot(spot: Spot, dx: number, dy: number): Spot {
  return { x: clamp01(spot.x + dx), y: clamp01(spot.y + dy) };
}

/** The box moved by (dx, dy), its size kept, never leaving the photo. */
export function moveBox(box: WallBox, dx: number, dy: number): WallBox {
  const w = Math.min(1, box.w);
  const h = Math.min(1, box.h);
  return {
    x: Math.min(1 - w, Math.max(0, box.x + dx)),
    y: Math.min(1 - h, Math.max(0, box.y + dy)),
    w,
    h,
  };
}

/** The box's right and bottom edges moved by (dw, dh): never smaller than `MIN_BOX`,
 *  never past the photo's edge. */
export function resizeBox(box: WallBox, dw: number, dh: number): WallBox {
  return {
    x: box.x,
    y: box.y,
    w: Math.min(1 - box.x, Math.max(MIN_BOX, box.w + dw)),
    h: Math.min(1 - box.y, Math.max(MIN_BOX, box.h + dh)),
  };
}

const round = (value: number) => Math.round(value * 10000) / 10000;

/** The Region to send for what is drawn, or the key of the sentence that says what is missing. */
export function regionFor(
  mode: WallMode,
  points: readonly WallPoint[],
  box: WallBox | null,
  mask?: BrushMask | null,
): RegionChoice {
  if (mode === "mask") {
    // The region says only "mask"; the painted strokes go as the `mask` upload.
    if (!mask || !hasPaint(mask)) return { error: "mural.wallNeedMask" };
    return { region: { mode: "mask" }, mask };
  }
  if (mode === "points") {
    if (points.length === 0) return { error: "mural.wallNeedPoints" };
    if (points.length > MAX_POINTS) return { error: "mural.wallTooManyPoints" };
    if (!points.some((p) => p.label === 1)) return { error: "mural.wallNeedOnPoint" };
    return {
      region: {
        mode: "points",
        points: points.map((p) => ({ x: round(clamp01(p.x)), y: round(clamp01(p.y)), label: p.label })),
      },
    };
  }
  if (mode === "box") {
    if (!box) return { error: "mural.wallNeedBox" };
    const x = round(clamp01(box.x));
    const y = round(clamp01(box.y));
    // Rounded, still inside the photo (x + w ≤ 1) and never empty.
    const w = Math.min(round(box.w), round(1 - x));
    const h = Math.min(round(box.h), round(1 - y));
    if (!(w > 0 && h > 0)) return { error: "mural.wallNeedBox" };
    return { region: { mode: "box", box: { x, y, w, h } } };
  }
  return { region: { mode: "auto" } };
}

export interface WallState {
  mode: WallMode;
  points: WallPoint[];
  box: WallBox | null;
}

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** What to show for a region carried over from an earlier mural ("try again", remix): its
 *  points or box if they make sense, the brush (with nothing painted: the mask was a file of
 *  that photo) for a mask, else automatic. */
export function stateFromRegion(region: Region | null | undefined): WallState {
  const auto: WallState = { mode: "auto", points: [], box: null };
  if (!region || typeof region !== "object") return auto;
  if (region.mode === "points" && Array.isArray(region.points)) {
    const points = region.points
      .filter((p) => p && isNumber(p.x) && isNumber(p.y))
      .slice(0, MAX_POINTS)
      .map((p) => ({ x: clamp01(p.x), y: clamp01(p.y), label: (p.label === 0 ? 0 : 1) as PointLabel }));
    return points.length ? { mode: "points", points, box: null } : auto;
  }
  if (region.mode === "box" && region.box && typeof region.box === "object") {
    const { x, y, w, h } = region.box;
    if (![x, y, w, h].every(isNumber)) return auto;
    const box = boxFrom({ x, y }, { x: x + w, y: y + h }, 0);
    return box ? { mode: "box", points: [], box } : auto;
  }
  if (region.mode === "mask") return { mode: "mask", points: [], box: null };
  return auto;
}
