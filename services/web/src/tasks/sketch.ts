// A sketch job's drawing: strokes of pen or eraser on white paper, undone one by one, cleared
// (and that undone too), and replayed as a list of draw operations, both onto the canvas on
// screen and onto the one exported as the PNG that is sent. Pure: no DOM in here, so the model
// is tested as data; the page only forwards pointer events and paints the operations.
import { MAX_PROMPT_CHARS } from "./mural";
import type { Params } from "./start";

export type Tool = "pen" | "eraser";

export interface Point {
  x: number;
  y: number;
}

export interface Stroke {
  tool: Tool;
  /** In drawing pixels. */
  width: number;
  points: readonly Point[];
}

export type Entry = { type: "stroke"; stroke: Stroke } | { type: "clear" };

export interface Drawing {
  width: number;
  height: number;
  /** Everything done, in order; undo takes the last off. */
  entries: readonly Entry[];
}

/** The drawing's own pixels (the canvas is shown scaled to the screen): SDXL's size. */
export const SKETCH_SIZE = 1024;
export const INK = "#000000";
export const PAPER = "#ffffff";
export const MIN_LINE_WIDTH = 2;
export const MAX_LINE_WIDTH = 48;
export const DEFAULT_LINE_WIDTH = 8;
/** A pointer moving less than this (drawing pixels) adds no point: fewer, smoother segments. */
export const MIN_STEP = 1.5;

export type DrawOp =
  | { op: "fill"; color: string; width: number; height: number }
  | { op: "dot"; color: string; x: number; y: number; radius: number }
  | { op: "line"; color: string; width: number; points: readonly Point[] };

export function emptyDrawing(width = SKETCH_SIZE, height = SKETCH_SIZE): Drawing {
  return { width, height, entries: [] };
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

export function clampWidth(width: number): number {
  return Number.isFinite(width) ? clamp(Math.round(width), MIN_LINE_WIDTH, MAX_LINE_WIDTH) : DEFAULT_LINE_WIDTH;
}

/** A point on the paper, from a pointer's place on the element showing it (scaled). */
export function toDrawingPoint(
  client: { x: number; y: number },
  rect: { left: number; top: number; width: number; height: number },
  drawing: { width: number; height: number },
): Point {
  const x = rect.width > 0 ? ((client.x - rect.left) / rect.width) * drawing.width : 0;
  const y = rect.height > 0 ? ((client.y - rect.top) / rect.height) * drawing.height : 0;
  return { x: clamp(x, 0, drawing.width), y: clamp(y, 0, drawing.height) };
}

export function beginStroke(tool: Tool, width: number, at: Point): Stroke {
  return { tool, width: clampWidth(width), points: [at] };
}

/** The stroke one point longer; the same stroke when the pointer has hardly moved. */
export function extendStroke(stroke: Stroke, to: Point, minStep = MIN_STEP): Stroke {
  const last = stroke.points[stroke.points.length - 1];
  if (last && Math.hypot(to.x - last.x, to.y - last.y) < minStep) return stroke;
  return { ...stroke, points: [...stroke.points, to] };
}

/** The drawing with a finished stroke (points kept on the paper; an empty stroke changes nothing). */
export function addStroke(drawing: Drawing, stroke: Stroke): Drawing {
  if (stroke.points.length === 0) return drawing;
  const points = stroke.points.map((p) => ({
    x: clamp(p.x, 0, drawing.width),
    y: clamp(p.y, 0, drawing.height),
  }));
  const entry: Entry = { type: "stroke", stroke: { tool: stroke.tool, width: clampWidth(stroke.width), points } };
  return { ...drawing, entries: [...drawing.entries, entry] };
}

export const canUndo = (drawing: Drawing): boolean => drawing.entries.length > 0;

/** The last stroke (or the last clear) taken back. */
export function undo(drawing: Drawing): Drawing {
  if (!canUndo(drawing)) return drawing;
  return { ...drawing, entries: drawing.entries.slice(0, -1) };
}

/** The strokes on the paper now: those after the last clear. */
export function visibleStrokes(drawing: Drawing): Stroke[] {
  const strokes: Stroke[] = [];
  for (const entry of drawing.entries) {
    if (entry.type === "clear") strokes.length = 0;
    else strokes.push(entry.stroke);
  }
  return strokes;
}

/** A clean sheet, kept in the history so that Undo brings the drawing back. */
export function clear(drawing: Drawing): Drawing {
  if (visibleStrokes(drawing).length === 0) return drawing;
  return { ...drawing, entries: [...drawing.entries, { type: "clear" }] };
}

/** Nothing drawn in ink (eraser strokes alone leave white paper). */
export const isBlank = (drawing: Drawing): boolean =>
  !visibleStrokes(drawing).some((stroke) => stroke.tool === "pen");

export const colorOf = (tool: Tool): string => (tool === "pen" ? INK : PAPER);

/** One stroke as operations: a dot for a single point, else a line through its points. */
export function strokeOps(stroke: Stroke): DrawOp[] {
  const color = colorOf(stroke.tool);
  const [first] = stroke.points;
  if (!first) return [];
  if (stroke.points.length === 1) return [{ op: "dot", color, x: first.x, y: first.y, radius: stroke.width / 2 }];
  return [{ op: "line", color, width: stroke.width, points: stroke.points }];
}

/** The whole drawing as operations, from white paper on: what the canvas shows and sends. */
export function drawOps(drawing: Drawing): DrawOp[] {
  return [
    { op: "fill", color: PAPER, width: drawing.width, height: drawing.height },
    ...visibleStrokes(drawing).flatMap(strokeOps),
  ];
}

/** What `replay` needs of a 2D context (a canvas's, or a fake in tests). */
export interface Painter {
  fillStyle: unknown;
  strokeStyle: unknown;
  lineWidth: number;
  lineCap: CanvasLineCap;
  lineJoin: CanvasLineJoin;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, radius: number, start: number, end: number): void;
  fill(): void;
  stroke(): void;
}

export function replay(ctx: Painter, ops: readonly DrawOp[]): void {
  for (const op of ops) {
    if (op.op === "fill") {
      ctx.fillStyle = op.color;
      ctx.fillRect(0, 0, op.width, op.height);
    } else if (op.op === "dot") {
      ctx.fillStyle = op.color;
      ctx.beginPath();
      ctx.arc(op.x, op.y, op.radius, 0, Math.PI * 2);
      ctx.fill();
    } else {
      const [first, ...rest] = op.points;
      if (!first) continue;
      ctx.strokeStyle = op.color;
      ctx.lineWidth = op.width;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(first.x, first.y);
      for (const p of rest) ctx.lineTo(p.x, p.y);
      ctx.stroke();
    }
  }
}

export interface SketchSettings {
  style: string;
  prompt: string;
  seed?: number | null;
}

export function sketchParams(settings: SketchSettings): Params {
  const params: Params = {
    style: settings.style,
    prompt: settings.prompt.trim().slice(0, MAX_PROMPT_CHARS),
  };
  if (settings.seed != null) params.seed = settings.seed;
  return params;
}
