// Painting the wall with a brush ("mask" mode): strokes over the photo, undone one by one or
// cleared (and that undone too); the view zoomed and moved by two fingers, the wheel or the
// zoom buttons; and the strokes drawn as the mask that is sent. Pure apart from the last part
// (the canvas that renders the PNG, replaceable in tests), so the picker's arithmetic and its
// gestures are tested as data, like wall.ts.
//
// Coordinates: strokes are in photo-normalised coordinates (0..1 from the photo's top left,
// as the API's box and points are), so they do not depend on how large the photo is shown
// or how far it is zoomed. Pointers are in CSS pixels from the top left of the viewport (the
// element showing the photo, whose proportions are the photo's).
//
// What the API takes (services/api/saekdam_api/domain/inputs.py `_check_mask_matches_image`,
// services/model_worker/saekdam_worker/pipelines/wall_mask.py `mask_from_upload`): one upload
// of role `mask`, a PNG/JPEG/WebP exactly the size of the uploaded photo (else
// `mask_size_mismatch`), grey or RGB, white (>= 128) = wall, black = not the wall; a mask
// with no white pixel fails the job with `no_wall_found`. So: opaque black, white strokes,
// erased strokes black again, PNG at the prepared photo's width x height.
import type { Photo } from "./start";

export type BrushMode = "paint" | "erase";

/** A place on the photo, 0..1 from its top left. */
export interface Spot {
  x: number;
  y: number;
}

/** A place on the viewport, in CSS pixels from its top left. */
export interface ScreenPoint {
  x: number;
  y: number;
}

export interface ViewSize {
  width: number;
  height: number;
}

export interface BrushStroke {
  mode: BrushMode;
  /** The brush's diameter as a share of the photo's shorter side. */
  size: number;
  points: readonly Spot[];
}

export type MaskEntry = { type: "stroke"; stroke: BrushStroke } | { type: "clear" };

/** Everything done, in order; undo takes the last off. */
export interface BrushMask {
  entries: readonly MaskEntry[];
}

export const EMPTY_MASK: BrushMask = { entries: [] };

/** The brush on screen, in CSS pixels: the size control's range. */
export const MIN_BRUSH_PX = 8;
export const MAX_BRUSH_PX = 96;
export const DEFAULT_BRUSH_PX = 32;
export const BRUSH_STEP_PX = 4;
/** A pointer moving less than this (CSS pixels) adds no point: fewer, smoother segments. */
export const MIN_STEP_PX = 2;

/** How far the photo can be zoomed in; 1 shows all of it. */
export const MIN_SCALE = 1;
export const MAX_SCALE = 8;
/** One press of "Zoom in" / "Zoom out" (or + / −). */
export const ZOOM_STEP = 1.5;
/** One arrow key moves the zoomed photo by this share of the view. */
export const PAN_STEP = 0.1;

/** The mask as sent: white is the wall. */
export const MASK_WALL = "#ffffff";
export const MASK_BACKGROUND = "#000000";
export const MASK_TYPE = "image/png";
export const MASK_NAME = "mask.png";
/** The worker's threshold: a grey level at or above this is wall. */
export const MASK_THRESHOLD = 128;

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
const clamp01 = (value: number) => (Number.isFinite(value) ? clamp(value, 0, 1) : 0);

export function clampBrushPx(px: number): number {
  return Number.isFinite(px) ? clamp(Math.round(px), MIN_BRUSH_PX, MAX_BRUSH_PX) : DEFAULT_BRUSH_PX;
}

// -- strokes -------------------------------------------------------------------------------

/** The mask with a finished stroke (points kept on the photo; an empty stroke changes nothing). */
export function addStroke(mask: BrushMask, stroke: BrushStroke): BrushMask {
  if (stroke.points.length === 0 || !(stroke.size > 0)) return mask;
  const entry: MaskEntry = {
    type: "stroke",
    stroke: {
      mode: stroke.mode === "erase" ? "erase" : "paint",
      size: Math.min(1, stroke.size),
      points: stroke.points.map((p) => ({ x: clamp01(p.x), y: clamp01(p.y) })),
    },
  };
  return { entries: [...mask.entries, entry] };
}

export const canUndo = (mask: BrushMask): boolean => mask.entries.length > 0;

/** What the next undo takes back: a stroke, or a clear (which brings the strokes back). */
export const lastEntry = (mask: BrushMask): MaskEntry["type"] | null =>
  mask.entries[mask.entries.length - 1]?.type ?? null;

/** The last stroke (or the last clear) taken back. */
export function undoStroke(mask: BrushMask): BrushMask {
  if (!canUndo(mask)) return mask;
  return { entries: mask.entries.slice(0, -1) };
}

/** The strokes on the photo now: those after the last clear. */
export function visibleStrokes(mask: BrushMask): BrushStroke[] {
  const strokes: BrushStroke[] = [];
  for (const entry of mask.entries) {
    if (entry.type === "clear") strokes.length = 0;
    else strokes.push(entry.stroke);
  }
  return strokes;
}

/** Nothing left on the photo, kept in the history so that undo brings the strokes back. */
export function clearMask(mask: BrushMask): BrushMask {
  if (visibleStrokes(mask).length === 0) return mask;
  return { entries: [...mask.entries, { type: "clear" }] };
}

/** Whether anything is painted (eraser strokes alone paint nothing). A paint stroke rubbed
 *  out entirely still counts here; `renderMask` looks at the pixels and catches that. */
export const hasPaint = (mask: BrushMask): boolean =>
  visibleStrokes(mask).some((stroke) => stroke.mode === "paint");

// -- the view: zoom and pan ----------------------------------------------------------------

/** How the photo is shown in the viewport: zoomed by `scale` (1: all of it, filling the
 *  viewport) and moved by (x, y), shares of the viewport's width and height. A photo point p
 *  is at (x + p.x * scale, y + p.y * scale) of the viewport. */
export interface View {
  scale: number;
  x: number;
  y: number;
}

export const IDENTITY_VIEW: View = { scale: 1, x: 0, y: 0 };

/** The view with its zoom within limits and the photo covering the viewport: it never leaves
 *  the view, nor shows anything beside it. */
export function clampView(view: View): View {
  const scale = Number.isFinite(view.scale) ? clamp(view.scale, MIN_SCALE, MAX_SCALE) : MIN_SCALE;
  const low = 1 - scale;
  return {
    scale,
    x: Number.isFinite(view.x) ? clamp(view.x, low, 0) : 0,
    y: Number.isFinite(view.y) ? clamp(view.y, low, 0) : 0,
  };
}

export const isZoomed = (view: View): boolean => view.scale > MIN_SCALE + 1e-9;

const shareOf = (point: ScreenPoint, size: ViewSize) => ({
  x: size.width > 0 ? point.x / size.width : 0,
  y: size.height > 0 ? point.y / size.height : 0,
});

/** The photo point shown at `point` of the viewport, not clamped. */
function photoAt(view: View, point: ScreenPoint, size: ViewSize): Spot {
  const share = shareOf(point, size);
  return { x: (share.x - view.x) / view.scale, y: (share.y - view.y) / view.scale };
}

/** The photo point under a pointer at `point` of the viewport, kept on the photo. */
export function toPhoto(view: View, point: ScreenPoint, size: ViewSize): Spot {
  const spot = photoAt(view, point, size);
  return { x: clamp01(spot.x), y: clamp01(spot.y) };
}

/** Where a photo point is shown in the viewport (CSS pixels). */
export function toScreen(view: View, spot: Spot, size: ViewSize): ScreenPoint {
  return {
    x: (view.x + spot.x * view.scale) * size.width,
    y: (view.y + spot.y * view.scale) * size.height,
  };
}

/** The view zoomed by `factor`, the photo point under `anchor` staying where it is (as far
 *  as the limits allow). */
export function zoomAt(view: View, anchor: ScreenPoint, size: ViewSize, factor: number): View {
  const from = clampView(view);
  if (!(factor > 0) || !Number.isFinite(factor)) return from;
  const fixed = photoAt(from, anchor, size);
  const share = shareOf(anchor, size);
  const scale = clamp(from.scale * factor, MIN_SCALE, MAX_SCALE);
  return clampView({ scale, x: share.x - fixed.x * scale, y: share.y - fixed.y * scale });
}

/** The view zoomed by `factor` around the middle of the viewport (the buttons, + and −). */
export function zoomCentre(view: View, factor: number): View {
  return zoomAt(view, { x: 0.5, y: 0.5 }, { width: 1, height: 1 }, factor);
}

/** The view moved by (dx, dy) CSS pixels (the photo follows the finger). */
export function panBy(view: View, dx: number, dy: number, size: ViewSize): View {
  const from = clampView(view);
  return clampView({
    scale: from.scale,
    x: from.x + (size.width > 0 ? dx / size.width : 0),
    y: from.y + (size.height > 0 ? dy / size.height : 0),
  });
}

/** The zoom factor for one wheel event: up zooms in, down out, whatever the device's units
 *  (pixels, lines or pages), never more than doubling or halving at once. */
export function wheelFactor(deltaY: number, deltaMode = 0): number {
  if (!Number.isFinite(deltaY) || deltaY === 0) return 1;
  const pixels = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return clamp(Math.exp(-pixels * 0.002), 0.5, 2);
}

// -- gestures: one finger paints, two move and zoom ------------------------------------------

export interface Pointer {
  id: number;
  at: ScreenPoint;
}

/** Where the fingers were when they started moving the photo, and how it was shown then. */
export interface Anchor {
  view: View;
  /** The middle of the first two pointers (or the one pointer). */
  mid: ScreenPoint;
  /** The distance between the first two pointers; null with one (a pan, no zoom). */
  spread: number | null;
}

export interface Gesture {
  /** The pointers down on the photo now, in the order they came: the first two pinch. */
  pointers: readonly Pointer[];
  /** One pointer painting: the stroke so far and where it last added a point. */
  drawing: { id: number; stroke: BrushStroke; last: ScreenPoint } | null;
  /** Moving and zooming, until every pointer is up (then the next one paints again). */
  moving: Anchor | null;
}

export const IDLE: Gesture = { pointers: [], drawing: null, moving: null };

export interface Brush {
  mode: BrushMode;
  /** The brush's diameter on screen, CSS pixels. */
  px: number;
}

export interface GestureContext {
  view: View;
  size: ViewSize;
  brush: Brush;
}

export interface GestureResult {
  gesture: Gesture;
  view: View;
  /** A stroke finished: add it to the mask. */
  done?: BrushStroke;
  /** The stroke being drawn was dropped (a second finger came: it was the start of a pinch). */
  dropped?: boolean;
}

/** The brush's diameter as a share of the photo's shorter side, at this zoom: the brush is
 *  the same size on screen however far the photo is zoomed, so zooming in paints finer. */
export function brushShare(px: number, view: View, size: ViewSize): number {
  const side = Math.min(size.width, size.height) * view.scale;
  return side > 0 ? Math.min(1, clampBrushPx(px) / side) : 0;
}

function anchorOf(pointers: readonly Pointer[], view: View): Anchor | null {
  const [a, b] = pointers;
  if (!a) return null;
  if (!b) return { view, mid: a.at, spread: null };
  return {
    view,
    mid: { x: (a.at.x + b.at.x) / 2, y: (a.at.y + b.at.y) / 2 },
    spread: Math.hypot(b.at.x - a.at.x, b.at.y - a.at.y),
  };
}

/** The view for the fingers now, from where they started: the photo point that was under
 *  their middle stays under it, zoomed by how much further apart they are. */
export function viewFromAnchor(anchor: Anchor, pointers: readonly Pointer[], size: ViewSize): View {
  const now = anchorOf(pointers, anchor.view);
  if (!now) return anchor.view;
  const from = clampView(anchor.view);
  let scale = from.scale;
  if (anchor.spread != null && now.spread != null && anchor.spread > 0 && now.spread > 0) {
    scale = clamp(from.scale * (now.spread / anchor.spread), MIN_SCALE, MAX_SCALE);
  }
  const fixed = photoAt(from, anchor.mid, size);
  const share = shareOf(now.mid, size);
  return clampView({ scale, x: share.x - fixed.x * scale, y: share.y - fixed.y * scale });
}

/** A pointer went down. The first paints (unless `pan`: a mouse's middle button); a second
 *  drops the stroke just begun and moves and zooms instead, until all are up. */
export function pointerDown(
  gesture: Gesture,
  pointer: Pointer,
  context: GestureContext,
  pan = false,
): GestureResult {
  const { view, size, brush } = context;
  if (gesture.pointers.some((p) => p.id === pointer.id)) return { gesture, view };
  const pointers = [...gesture.pointers, pointer];
  if (gesture.moving || gesture.drawing || pan || pointers.length > 1) {
    return {
      gesture: { pointers, drawing: null, moving: anchorOf(pointers, view) },
      view,
      ...(gesture.drawing ? { dropped: true } : {}),
    };
  }
  const stroke: BrushStroke = {
    mode: brush.mode,
    size: brushShare(brush.px, view, size),
    points: [toPhoto(view, pointer.at, size)],
  };
  return { gesture: { pointers, drawing: { id: pointer.id, stroke, last: pointer.at }, moving: null }, view };
}

/** A pointer moved: the stroke grows, or the photo follows the fingers. */
export function pointerMove(gesture: Gesture, pointer: Pointer, context: GestureContext): GestureResult {
  const { view, size } = context;
  if (!gesture.pointers.some((p) => p.id === pointer.id)) return { gesture, view };
  const pointers = gesture.pointers.map((p) => (p.id === pointer.id ? pointer : p));
  const drawing = gesture.drawing;
  if (drawing && drawing.id === pointer.id) {
    if (Math.hypot(pointer.at.x - drawing.last.x, pointer.at.y - drawing.last.y) < MIN_STEP_PX) {
      return { gesture: { ...gesture, pointers }, view };
    }
    const stroke = { ...drawing.stroke, points: [...drawing.stroke.points, toPhoto(view, pointer.at, size)] };
    return { gesture: { pointers, drawing: { id: pointer.id, stroke, last: pointer.at }, moving: null }, view };
  }
  if (gesture.moving) {
    return { gesture: { ...gesture, pointers }, view: viewFromAnchor(gesture.moving, pointers, size) };
  }
  return { gesture: { ...gesture, pointers }, view };
}

/** A pointer went up (`cancelled`: the browser took it away). The stroke it drew is done
 *  (a cancelled one is dropped); fingers still down keep moving the photo from where it is. */
export function pointerUp(
  gesture: Gesture,
  pointerId: number,
  context: Pick<GestureContext, "view">,
  cancelled = false,
): GestureResult {
  const { view } = context;
  if (!gesture.pointers.some((p) => p.id === pointerId)) return { gesture, view };
  const pointers = gesture.pointers.filter((p) => p.id !== pointerId);
  const drawing = gesture.drawing;
  if (drawing && drawing.id === pointerId) {
    const gestureAfter: Gesture = { pointers, drawing: null, moving: null };
    return cancelled ? { gesture: gestureAfter, view, dropped: true } : { gesture: gestureAfter, view, done: drawing.stroke };
  }
  if (gesture.moving) {
    return { gesture: { pointers, drawing: null, moving: anchorOf(pointers, view) }, view };
  }
  return { gesture: { ...gesture, pointers }, view };
}

// -- drawing: on screen and as the mask that is sent ------------------------------------------

/** Where the whole photo is on a target, in the target's pixels. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The photo's frame on a canvas of `width` x `height` pixels showing the viewport. */
export function viewFrame(view: View, width: number, height: number): Frame {
  return { left: view.x * width, top: view.y * height, width: view.scale * width, height: view.scale * height };
}

export type MaskOp =
  | { op: "dot"; erase: boolean; x: number; y: number; radius: number }
  | { op: "line"; erase: boolean; width: number; points: readonly ScreenPoint[] };

/** One stroke as operations on a target where the photo fills `frame`. */
export function strokeOps(stroke: BrushStroke, frame: Frame): MaskOp[] {
  const erase = stroke.mode === "erase";
  const width = stroke.size * Math.min(frame.width, frame.height);
  const points = stroke.points.map((p) => ({ x: frame.left + p.x * frame.width, y: frame.top + p.y * frame.height }));
  const [first] = points;
  if (!first || !(width > 0)) return [];
  if (points.length === 1) return [{ op: "dot", erase, x: first.x, y: first.y, radius: width / 2 }];
  return [{ op: "line", erase, width, points }];
}

export function maskOps(strokes: readonly BrushStroke[], frame: Frame): MaskOp[] {
  return strokes.flatMap((stroke) => strokeOps(stroke, frame));
}

/** What `replayMask` needs of a 2D context (a canvas's, or a fake in tests). */
export interface MaskPainter {
  fillStyle: unknown;
  strokeStyle: unknown;
  lineWidth: number;
  lineCap: CanvasLineCap;
  lineJoin: CanvasLineJoin;
  globalCompositeOperation: GlobalCompositeOperation;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, radius: number, start: number, end: number): void;
  fill(): void;
  stroke(): void;
}

/** The colours to paint with: `erase` null rubs out to transparent (the overlay on screen). */
export interface Ink {
  paint: string;
  erase: string | null;
}

/** The mask as sent: white wall on black. */
export const MASK_INK: Ink = { paint: MASK_WALL, erase: MASK_BACKGROUND };

export function replayMask(ctx: MaskPainter, ops: readonly MaskOp[], ink: Ink): void {
  for (const op of ops) {
    const rubOut = op.erase && ink.erase === null;
    const color = op.erase ? (ink.erase ?? "#000") : ink.paint;
    ctx.globalCompositeOperation = rubOut ? "destination-out" : "source-over";
    if (op.op === "dot") {
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.arc(op.x, op.y, op.radius, 0, Math.PI * 2);
      ctx.fill();
    } else {
      const [first, ...rest] = op.points;
      if (!first) continue;
      ctx.strokeStyle = color;
      ctx.lineWidth = op.width;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(first.x, first.y);
      for (const p of rest) ctx.lineTo(p.x, p.y);
      ctx.stroke();
    }
  }
  ctx.globalCompositeOperation = "source-over";
}

// -- the mask's PNG (the browser part) --------------------------------------------------------

export class MaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MaskError";
  }
}

/** A canvas to render the mask on: the browser's, or a fake in tests. */
export interface MaskCanvas {
  ctx: MaskPainter & { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
  toPng(): Promise<Blob>;
}

export type MaskCanvasMaker = (width: number, height: number) => MaskCanvas;

/** Rows read at once when looking for a painted pixel: a few megabytes, not the whole mask. */
const BAND_PIXELS = 1 << 20;

/** Whether any pixel of the rendered mask is wall to the worker (red channel: it is grey). */
export function anyWall(ctx: MaskCanvas["ctx"], width: number, height: number): boolean {
  const rows = Math.max(1, Math.floor(BAND_PIXELS / Math.max(1, width)));
  for (let top = 0; top < height; top += rows) {
    const band = Math.min(rows, height - top);
    const { data } = ctx.getImageData(0, top, width, band);
    for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 0) >= MASK_THRESHOLD) return true;
  }
  return false;
}

/** The mask as the PNG to upload, at `size` (the photo exactly as it is uploaded, after any
 *  shrinking): black, the painted wall white. Null when nothing is painted (or all of it is
 *  rubbed out): the worker would find no wall. */
export async function renderMask(
  mask: BrushMask,
  size: ViewSize,
  make: MaskCanvasMaker = browserMaskCanvas,
): Promise<Blob | null> {
  const width = Math.round(size.width);
  const height = Math.round(size.height);
  if (!(width > 0 && height > 0)) throw new MaskError("the photo's size is not known");
  if (!hasPaint(mask)) return null;
  const canvas = make(width, height);
  const { ctx } = canvas;
  ctx.globalCompositeOperation = "source-over";
  ctx.fillStyle = MASK_BACKGROUND;
  ctx.fillRect(0, 0, width, height);
  replayMask(ctx, maskOps(visibleStrokes(mask), { left: 0, top: 0, width, height }), MASK_INK);
  if (!anyWall(ctx, width, height)) return null;
  return canvas.toPng();
}

/** The `mask` upload for a photo as it is uploaded (`photo`: the prepared, maybe shrunk,
 *  image, whose width and height are the uploaded file's): null when nothing is painted. */
export async function maskUpload(
  mask: BrushMask,
  photo: ViewSize,
  make: MaskCanvasMaker = browserMaskCanvas,
): Promise<Photo | null> {
  const blob = await renderMask(mask, photo, make);
  return blob ? { blob, type: MASK_TYPE, name: MASK_NAME } : null;
}

export function browserMaskCanvas(width: number, height: number): MaskCanvas {
  if (typeof OffscreenCanvas === "function") {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new MaskError("no 2d canvas");
    return { ctx, toPng: () => canvas.convertToBlob({ type: MASK_TYPE }) };
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new MaskError("no 2d canvas");
  return {
    ctx,
    toPng: () =>
      new Promise((resolve, reject) =>
        canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new MaskError("PNG export failed"))), MASK_TYPE),
      ),
  };
}
