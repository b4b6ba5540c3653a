import { describe, expect, it } from "vitest";
import {
  addStroke,
  beginStroke,
  canUndo,
  clear,
  drawOps,
  emptyDrawing,
  extendStroke,
  INK,
  isBlank,
  MAX_LINE_WIDTH,
  MIN_LINE_WIDTH,
  PAPER,
  replay,
  sketchParams,
  toDrawingPoint,
  undo,
  visibleStrokes,
  type Painter,
  type Stroke,
} from "./sketch";

const line = (tool: Stroke["tool"], ...points: [number, number][]): Stroke => ({
  tool,
  width: 8,
  points: points.map(([x, y]) => ({ x, y })),
});

describe("sketch strokes", () => {
  it("starts as blank white paper with nothing to undo", () => {
    const drawing = emptyDrawing(100, 50);
    expect(isBlank(drawing)).toBe(true);
    expect(canUndo(drawing)).toBe(false);
    expect(drawOps(drawing)).toEqual([{ op: "fill", color: PAPER, width: 100, height: 50 }]);
  });

  it("adds strokes in order, keeping their points on the paper", () => {
    let drawing = emptyDrawing(100, 100);
    drawing = addStroke(drawing, line("pen", [10, 10], [20, 20]));
    drawing = addStroke(drawing, line("pen", [-5, 50], [150, 50]));
    expect(visibleStrokes(drawing).map((s) => s.points)).toEqual([
      [
        { x: 10, y: 10 },
        { x: 20, y: 20 },
      ],
      [
        { x: 0, y: 50 },
        { x: 100, y: 50 },
      ],
    ]);
    expect(isBlank(drawing)).toBe(false);
  });

  it("ignores an empty stroke, and keeps line widths within the tool's range", () => {
    const drawing = emptyDrawing();
    expect(addStroke(drawing, { tool: "pen", width: 8, points: [] })).toBe(drawing);
    expect(beginStroke("pen", 500, { x: 1, y: 1 }).width).toBe(MAX_LINE_WIDTH);
    expect(beginStroke("pen", 0, { x: 1, y: 1 }).width).toBe(MIN_LINE_WIDTH);
    expect(beginStroke("pen", Number.NaN, { x: 1, y: 1 }).width).toBe(8);
  });

  it("extends a stroke only when the pointer has really moved", () => {
    const stroke = beginStroke("pen", 8, { x: 10, y: 10 });
    expect(extendStroke(stroke, { x: 10.5, y: 10.5 })).toBe(stroke);
    const longer = extendStroke(stroke, { x: 14, y: 10 });
    expect(longer.points).toEqual([
      { x: 10, y: 10 },
      { x: 14, y: 10 },
    ]);
    // Pure: the first stroke is unchanged.
    expect(stroke.points).toHaveLength(1);
  });

  it("undoes stroke by stroke", () => {
    let drawing = emptyDrawing();
    drawing = addStroke(drawing, line("pen", [1, 1], [2, 2]));
    drawing = addStroke(drawing, line("eraser", [1, 1], [2, 2]));
    drawing = undo(drawing);
    expect(visibleStrokes(drawing).map((s) => s.tool)).toEqual(["pen"]);
    drawing = undo(drawing);
    expect(visibleStrokes(drawing)).toEqual([]);
    expect(canUndo(drawing)).toBe(false);
    expect(undo(drawing)).toBe(drawing);
  });

  it("clears to blank paper, and undo brings the drawing back", () => {
    let drawing = emptyDrawing();
    drawing = addStroke(drawing, line("pen", [1, 1], [2, 2]));
    drawing = addStroke(drawing, line("pen", [3, 3], [4, 4]));
    const cleared = clear(drawing);
    expect(visibleStrokes(cleared)).toEqual([]);
    expect(isBlank(cleared)).toBe(true);
    expect(visibleStrokes(undo(cleared))).toEqual(visibleStrokes(drawing));
    // Drawing after a clear starts from the clean sheet.
    const after = addStroke(cleared, line("pen", [5, 5], [6, 6]));
    expect(visibleStrokes(after)).toHaveLength(1);
    // Clearing blank paper is nothing to undo.
    expect(clear(cleared)).toBe(cleared);
    expect(clear(emptyDrawing())).toEqual(emptyDrawing());
  });

  it("calls eraser-only paper blank", () => {
    const drawing = addStroke(emptyDrawing(), line("eraser", [1, 1], [9, 9]));
    expect(isBlank(drawing)).toBe(true);
  });

  it("replays as white paper, then black pen and white eraser strokes, a dot for a tap", () => {
    let drawing = emptyDrawing(64, 64);
    drawing = addStroke(drawing, line("pen", [1, 2], [3, 4], [5, 6]));
    drawing = addStroke(drawing, { tool: "pen", width: 10, points: [{ x: 7, y: 8 }] });
    drawing = addStroke(drawing, line("eraser", [3, 4], [5, 6]));
    expect(drawOps(drawing)).toEqual([
      { op: "fill", color: PAPER, width: 64, height: 64 },
      {
        op: "line",
        color: INK,
        width: 8,
        points: [
          { x: 1, y: 2 },
          { x: 3, y: 4 },
          { x: 5, y: 6 },
        ],
      },
      { op: "dot", color: INK, x: 7, y: 8, radius: 5 },
      {
        op: "line",
        color: PAPER,
        width: 8,
        points: [
          { x: 3, y: 4 },
          { x: 5, y: 6 },
        ],
      },
    ]);
  });

  it("paints the operations onto a 2D context", () => {
    const calls: string[] = [];
    const ctx: Painter = {
      fillStyle: "",
      strokeStyle: "",
      lineWidth: 1,
      lineCap: "butt",
      lineJoin: "miter",
      fillRect: (...a) => calls.push(`fillRect ${a.join(",")} ${String(ctx.fillStyle)}`),
      beginPath: () => calls.push("beginPath"),
      moveTo: (x, y) => calls.push(`moveTo ${x},${y}`),
      lineTo: (x, y) => calls.push(`lineTo ${x},${y}`),
      arc: (x, y, r) => calls.push(`arc ${x},${y},${r}`),
      fill: () => calls.push(`fill ${String(ctx.fillStyle)}`),
      stroke: () => calls.push(`stroke ${String(ctx.strokeStyle)} ${ctx.lineWidth} ${ctx.lineCap}`),
    };
    let drawing = emptyDrawing(10, 10);
    drawing = addStroke(drawing, line("pen", [1, 1], [2, 2]));
    drawing = addStroke(drawing, { tool: "pen", width: 4, points: [{ x: 5, y: 5 }] });
    replay(ctx, drawOps(drawing));
    expect(calls).toEqual([
      "fillRect 0,0,10,10 #ffffff",
      "beginPath",
      "moveTo 1,1",
      "lineTo 2,2",
      "stroke #000000 8 round",
      "beginPath",
      "arc 5,5,2",
      "fill #000000",
    ]);
  });

  it("maps a pointer on the scaled canvas to the drawing's pixels, kept on the paper", () => {
    const rect = { left: 100, top: 50, width: 256, height: 256 };
    const size = { width: 1024, height: 1024 };
    expect(toDrawingPoint({ x: 100, y: 50 }, rect, size)).toEqual({ x: 0, y: 0 });
    expect(toDrawingPoint({ x: 228, y: 114 }, rect, size)).toEqual({ x: 512, y: 256 });
    expect(toDrawingPoint({ x: 400, y: 0 }, rect, size)).toEqual({ x: 1024, y: 0 });
    expect(toDrawingPoint({ x: 5, y: 5 }, { left: 0, top: 0, width: 0, height: 0 }, size)).toEqual({ x: 0, y: 0 });
  });
});

describe("sketch params", () => {
  it("sends the style and the trimmed description, and a seed only when given", () => {
    expect(sketchParams({ style: "anime", prompt: "  a cat  " })).toEqual({ style: "anime", prompt: "a cat" });
    expect(sketchParams({ style: "none", prompt: "x".repeat(600), seed: 3 })).toEqual({
      style: "none",
      prompt: "x".repeat(500),
      seed: 3,
    });
  });
});
