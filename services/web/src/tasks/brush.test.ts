import { describe, expect, it } from "vitest";
import {
  addStroke,
  anyWall,
  brushShare,
  canUndo,
  clampView,
  clearMask,
  EMPTY_MASK,
  hasPaint,
  IDENTITY_VIEW,
  IDLE,
  isZoomed,
  lastEntry,
  MASK_BACKGROUND,
  MASK_INK,
  MASK_WALL,
  MAX_SCALE,
  maskOps,
  MIN_SCALE,
  panBy,
  pointerDown,
  pointerMove,
  pointerUp,
  renderMask,
  replayMask,
  strokeOps,
  toPhoto,
  toScreen,
  undoStroke,
  viewFrame,
  visibleStrokes,
  wheelFactor,
  zoomAt,
  zoomCentre,
  type Brush,
  type BrushMask,
  type BrushStroke,
  type Gesture,
  type GestureContext,
  type MaskCanvas,
  type MaskPainter,
  type View,
} from "./brush";

const size = { width: 400, height: 300 };
const brush: Brush = { mode: "paint", px: 30 };
const paint = (points: { x: number; y: number }[], size = 0.1): BrushStroke => ({ mode: "paint", size, points });
const erase = (points: { x: number; y: number }[], size = 0.1): BrushStroke => ({ mode: "erase", size, points });
const close = (a: number, b: number) => expect(a).toBeCloseTo(b, 9);
const closeView = (view: View, expected: View) => {
  close(view.scale, expected.scale);
  close(view.x, expected.x);
  close(view.y, expected.y);
};

describe("strokes", () => {
  it("adds finished strokes, kept on the photo, and ignores empty ones", () => {
    let mask = addStroke(EMPTY_MASK, paint([{ x: -0.2, y: 0.5 }, { x: 0.5, y: 1.4 }]));
    mask = addStroke(mask, paint([]));
    expect(visibleStrokes(mask)).toEqual([paint([{ x: 0, y: 0.5 }, { x: 0.5, y: 1 }])]);
    expect(hasPaint(mask)).toBe(true);
  });

  it("undoes the last stroke, one at a time, and nothing when there is none", () => {
    const one = addStroke(EMPTY_MASK, paint([{ x: 0.1, y: 0.1 }]));
    const two = addStroke(one, erase([{ x: 0.2, y: 0.2 }]));
    expect(undoStroke(two)).toEqual(one);
    expect(undoStroke(undoStroke(two))).toEqual(EMPTY_MASK);
    expect(undoStroke(EMPTY_MASK)).toBe(EMPTY_MASK);
    expect(canUndo(EMPTY_MASK)).toBe(false);
  });

  it("clears everything, and undo brings it back", () => {
    const mask = addStroke(addStroke(EMPTY_MASK, paint([{ x: 0.1, y: 0.1 }])), paint([{ x: 0.3, y: 0.3 }]));
    const cleared = clearMask(mask);
    expect(visibleStrokes(cleared)).toEqual([]);
    expect(hasPaint(cleared)).toBe(false);
    expect(lastEntry(cleared)).toBe("clear");
    expect(undoStroke(cleared)).toEqual(mask);
    expect(clearMask(cleared)).toBe(cleared); // nothing to clear
    const after = addStroke(cleared, paint([{ x: 0.9, y: 0.9 }]));
    expect(visibleStrokes(after)).toHaveLength(1);
    expect(lastEntry(after)).toBe("stroke");
  });

  it("counts eraser strokes alone as nothing painted", () => {
    expect(hasPaint(addStroke(EMPTY_MASK, erase([{ x: 0.5, y: 0.5 }])))).toBe(false);
    expect(hasPaint(EMPTY_MASK)).toBe(false);
  });
});

describe("the view", () => {
  it("maps screen points to photo points and back through the zoom and pan", () => {
    const view: View = { scale: 2, x: -0.5, y: -0.25 };
    // The viewport's top left shows the photo point (0.25, 0.125).
    expect(toPhoto(view, { x: 0, y: 0 }, size)).toEqual({ x: 0.25, y: 0.125 });
    expect(toPhoto(view, { x: 200, y: 150 }, size)).toEqual({ x: 0.5, y: 0.375 });
    const back = toScreen(view, { x: 0.5, y: 0.375 }, size);
    close(back.x, 200);
    close(back.y, 150);
    expect(toPhoto(IDENTITY_VIEW, { x: 100, y: 75 }, size)).toEqual({ x: 0.25, y: 0.25 });
  });

  it("keeps points on the photo when the pointer is outside the viewport", () => {
    expect(toPhoto(IDENTITY_VIEW, { x: -50, y: 900 }, size)).toEqual({ x: 0, y: 1 });
    expect(toPhoto(IDENTITY_VIEW, { x: 10, y: 10 }, { width: 0, height: 0 })).toEqual({ x: 0, y: 0 });
  });

  it("clamps the zoom to 1..8 and never lets the photo leave the view", () => {
    expect(clampView({ scale: 0.5, x: 0.3, y: -0.2 })).toEqual({ scale: 1, x: 0, y: 0 });
    expect(clampView({ scale: 20, x: -10, y: 1 })).toEqual({ scale: MAX_SCALE, x: 1 - MAX_SCALE, y: 0 });
    expect(clampView({ scale: 2, x: -0.4, y: -1.5 })).toEqual({ scale: 2, x: -0.4, y: -1 });
    expect(clampView({ scale: Number.NaN, x: Number.NaN, y: 0 })).toEqual(IDENTITY_VIEW);
  });

  it("zooms around an anchor, the photo point under it staying put", () => {
    const anchor = { x: 300, y: 60 };
    const before = toPhoto(IDENTITY_VIEW, anchor, size);
    const view = zoomAt(IDENTITY_VIEW, anchor, size, 2);
    expect(view.scale).toBe(2);
    const after = toPhoto(view, anchor, size);
    close(after.x, before.x);
    close(after.y, before.y);
    // Zooming out again past 1 comes back to the whole photo.
    expect(zoomAt(view, anchor, size, 0.1)).toEqual({ scale: MIN_SCALE, x: 0, y: 0 });
    expect(zoomAt(view, anchor, size, 100).scale).toBe(MAX_SCALE);
  });

  it("zooms around an anchor near the edge without showing anything beside the photo", () => {
    const view = zoomAt({ scale: 4, x: -3, y: -3 }, { x: 400, y: 300 }, size, 0.5);
    expect(view).toEqual({ scale: 2, x: -1, y: -1 });
  });

  it("zooms in and out around the middle for the buttons", () => {
    closeView(zoomCentre(IDENTITY_VIEW, 2), { scale: 2, x: -0.5, y: -0.5 });
    expect(zoomCentre(zoomCentre(IDENTITY_VIEW, 2), 0.5)).toEqual(IDENTITY_VIEW);
    expect(isZoomed(IDENTITY_VIEW)).toBe(false);
    expect(isZoomed(zoomCentre(IDENTITY_VIEW, 1.5))).toBe(true);
  });

  it("pans by pixels, within the photo", () => {
    const view = { scale: 2, x: -0.5, y: -0.5 };
    closeView(panBy(view, 40, -30, size), { scale: 2, x: -0.4, y: -0.6 });
    expect(panBy(view, 10_000, 10_000, size)).toEqual({ scale: 2, x: 0, y: 0 });
    expect(panBy(IDENTITY_VIEW, 50, 50, size)).toEqual(IDENTITY_VIEW); // nothing to move at 1×
  });

  it("turns wheel turns into zoom factors: up zooms in, down out, at most ×2 at once", () => {
    expect(wheelFactor(-100)).toBeGreaterThan(1);
    expect(wheelFactor(100)).toBeLessThan(1);
    close(wheelFactor(-100) * wheelFactor(100), 1);
    expect(wheelFactor(0)).toBe(1);
    expect(wheelFactor(-10_000)).toBe(2);
    expect(wheelFactor(3, 1)).toBeCloseTo(wheelFactor(48, 0), 9); // lines
    expect(wheelFactor(1, 2)).toBe(0.5); // a page
  });
});

describe("gestures", () => {
  const context = (view: View = IDENTITY_VIEW, b: Brush = brush): GestureContext => ({ view, size, brush: b });
  const at = (id: number, x: number, y: number) => ({ id, at: { x, y } });

  it("paints with one finger: down, moves, up give one stroke in photo coordinates", () => {
    let r = pointerDown(IDLE, at(1, 100, 150), context());
    expect(r.gesture.drawing?.stroke.points).toEqual([{ x: 0.25, y: 0.5 }]);
    r = pointerMove(r.gesture, at(1, 200, 150), context());
    r = pointerMove(r.gesture, at(1, 201, 150), context()); // too small a step: no point
    r = pointerMove(r.gesture, at(1, 300, 75), context());
    r = pointerUp(r.gesture, 1, context());
    expect(r.done).toEqual({
      mode: "paint",
      size: 30 / 300,
      points: [
        { x: 0.25, y: 0.5 },
        { x: 0.5, y: 0.5 },
        { x: 0.75, y: 0.25 },
      ],
    });
    expect(r.gesture).toEqual(IDLE);
    expect(r.view).toEqual(IDENTITY_VIEW);
  });

  it("keeps the brush the same size on screen: zoomed in, it paints finer", () => {
    expect(brushShare(30, IDENTITY_VIEW, size)).toBeCloseTo(0.1, 9);
    expect(brushShare(30, { scale: 4, x: 0, y: 0 }, size)).toBeCloseTo(0.025, 9);
    const r = pointerDown(IDLE, at(1, 0, 0), context({ scale: 2, x: -1, y: -1 }, { mode: "erase", px: 60 }));
    expect(r.gesture.drawing?.stroke).toEqual({ mode: "erase", size: 0.1, points: [{ x: 0.5, y: 0.5 }] });
  });

  it("drops the stroke just begun when a second finger comes, and pinches instead", () => {
    let r = pointerDown(IDLE, at(1, 150, 150), context());
    r = pointerMove(r.gesture, at(1, 160, 150), context());
    r = pointerDown(r.gesture, at(2, 250, 150), context(r.view));
    expect(r.dropped).toBe(true);
    expect(r.gesture.drawing).toBeNull();
    expect(r.gesture.moving).toMatchObject({ mid: { x: 205, y: 150 }, spread: 90 });
    // The fingers spread to twice the distance around the same middle: 2×, the photo point
    // under the middle stays under it.
    const under = toPhoto(IDENTITY_VIEW, { x: 205, y: 150 }, size);
    r = pointerMove(r.gesture, at(1, 115, 150), context(r.view));
    r = pointerMove(r.gesture, at(2, 295, 150), context(r.view));
    expect(r.view.scale).toBeCloseTo(2, 9);
    const now = toPhoto(r.view, { x: 205, y: 150 }, size);
    close(now.x, under.x);
    close(now.y, under.y);
    // Lifting the fingers paints nothing.
    r = pointerUp(r.gesture, 1, context(r.view));
    expect(r.done).toBeUndefined();
    r = pointerUp(r.gesture, 2, context(r.view));
    expect(r.done).toBeUndefined();
    expect(r.gesture).toEqual(IDLE);
  });

  it("pans with the fingers' middle, and zoom stays in bounds", () => {
    const start: View = { scale: 2, x: -0.5, y: -0.5 };
    let r = pointerDown(IDLE, at(1, 100, 100), context(start));
    r = pointerDown(r.gesture, at(2, 200, 100), context(start));
    r = pointerMove(r.gesture, at(1, 140, 130), context(r.view));
    r = pointerMove(r.gesture, at(2, 240, 130), context(r.view));
    closeView(r.view, { scale: 2, x: -0.4, y: -0.4 });
    // Pinching far apart stops at 8×, together stops at 1× (and the whole photo).
    const wide = pointerMove(r.gesture, at(2, 100_000, 130), context(r.view));
    expect(wide.view.scale).toBe(MAX_SCALE);
    const shut = pointerMove(r.gesture, at(2, 141, 130), context(r.view));
    expect(shut.view).toEqual(IDENTITY_VIEW);
  });

  it("keeps moving the photo with the finger left after a pinch, and paints again once all are up", () => {
    const start: View = { scale: 2, x: -0.5, y: -0.5 };
    let r = pointerDown(IDLE, at(1, 100, 100), context(start));
    r = pointerDown(r.gesture, at(2, 200, 100), context(start));
    r = pointerUp(r.gesture, 2, context(r.view));
    expect(r.gesture.moving).toMatchObject({ mid: { x: 100, y: 100 }, spread: null });
    r = pointerMove(r.gesture, at(1, 60, 70), context(r.view));
    closeView(r.view, { scale: 2, x: -0.6, y: -0.6 });
    expect(r.gesture.drawing).toBeNull();
    // A new finger while one is still down pinches again, it does not paint.
    const again = pointerDown(r.gesture, at(3, 160, 70), context(r.view));
    expect(again.gesture.drawing).toBeNull();
    expect(again.gesture.moving?.spread).toBe(100);
    r = pointerUp(r.gesture, 1, context(r.view));
    expect(r.gesture).toEqual(IDLE);
    r = pointerDown(r.gesture, at(4, 10, 10), context(r.view));
    expect(r.gesture.drawing?.id).toBe(4);
  });

  it("pans with a mouse's middle button instead of painting", () => {
    const start: View = { scale: 2, x: -0.5, y: -0.5 };
    let r = pointerDown(IDLE, at(1, 200, 150), context(start), true);
    expect(r.gesture.drawing).toBeNull();
    r = pointerMove(r.gesture, at(1, 160, 120), context(r.view));
    closeView(r.view, { scale: 2, x: -0.6, y: -0.6 });
  });

  it("drops a stroke the browser cancelled, and ignores pointers it does not know", () => {
    let r = pointerDown(IDLE, at(1, 100, 100), context());
    r = pointerUp(r.gesture, 1, context(), true);
    expect(r.done).toBeUndefined();
    expect(r.dropped).toBe(true);
    const idle: Gesture = r.gesture;
    expect(pointerMove(idle, at(9, 1, 1), context()).gesture).toBe(idle);
    expect(pointerUp(idle, 9, context()).gesture).toBe(idle);
    const down = pointerDown(IDLE, at(1, 100, 100), context());
    expect(pointerDown(down.gesture, at(1, 120, 100), context()).gesture).toBe(down.gesture);
  });
});

/** A 2D context that records what is drawn, and reads back as "painted" where asked. */
function fakeCanvas(width: number, height: number, painted: (x: number, y: number) => boolean) {
  const calls: string[] = [];
  const reads: number[] = [];
  const ctx: MaskCanvas["ctx"] = {
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
    lineCap: "butt",
    lineJoin: "miter",
    globalCompositeOperation: "source-over",
    fillRect: (x, y, w, h) => calls.push(`fillRect ${ctx.fillStyle} ${x} ${y} ${w} ${h}`),
    beginPath: () => {},
    moveTo: (x, y) => calls.push(`moveTo ${x} ${y}`),
    lineTo: (x, y) => calls.push(`lineTo ${x} ${y}`),
    arc: (x, y, r) => calls.push(`arc ${x} ${y} ${r}`),
    fill: () => calls.push(`fill ${ctx.fillStyle} ${ctx.globalCompositeOperation}`),
    stroke: () => calls.push(`stroke ${ctx.strokeStyle} ${ctx.lineWidth} ${ctx.globalCompositeOperation}`),
    getImageData: (x, y, w, h) => {
      reads.push(h);
      const data = new Uint8ClampedArray(w * h * 4);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          if (painted(x + col, y + row)) data.fill(255, ((row * w + col) * 4), (row * w + col) * 4 + 4);
        }
      }
      return { data };
    },
  };
  const made = { width, height };
  const canvas: MaskCanvas = { ctx, toPng: async () => new Blob(["PNG"], { type: "image/png" }) };
  return { canvas, calls, reads, made };
}

describe("drawing the mask", () => {
  it("puts strokes where the photo is on the target, sized by its shorter side", () => {
    const frame = { left: 0, top: 0, width: 800, height: 600 };
    expect(strokeOps(paint([{ x: 0.5, y: 0.5 }], 0.1), frame)).toEqual([
      { op: "dot", erase: false, x: 400, y: 300, radius: 30 },
    ]);
    expect(strokeOps(erase([{ x: 0, y: 0 }, { x: 1, y: 1 }], 0.05), frame)).toEqual([
      { op: "line", erase: true, width: 30, points: [{ x: 0, y: 0 }, { x: 800, y: 600 }] },
    ]);
    expect(strokeOps(paint([]), frame)).toEqual([]);
  });

  it("follows the zoom on screen", () => {
    const frame = viewFrame({ scale: 2, x: -0.5, y: -0.5 }, 400, 300);
    expect(frame).toEqual({ left: -200, top: -150, width: 800, height: 600 });
    expect(maskOps([paint([{ x: 0.5, y: 0.5 }], 0.1)], frame)).toEqual([
      { op: "dot", erase: false, x: 200, y: 150, radius: 30 },
    ]);
  });

  it("paints white and erases black for the upload, rubs out on screen", () => {
    const { canvas, calls } = fakeCanvas(10, 10, () => false);
    const ops = maskOps([paint([{ x: 0, y: 0 }, { x: 1, y: 0 }]), erase([{ x: 0.5, y: 0.5 }])], {
      left: 0,
      top: 0,
      width: 10,
      height: 10,
    });
    replayMask(canvas.ctx as MaskPainter, ops, MASK_INK);
    expect(calls).toContain(`stroke ${MASK_WALL} 1 source-over`);
    expect(calls).toContain(`fill ${MASK_BACKGROUND} source-over`);
    calls.length = 0;
    replayMask(canvas.ctx as MaskPainter, ops, { paint: "#f0f", erase: null });
    expect(calls).toContain("stroke #f0f 1 source-over");
    expect(calls).toContain("fill #000 destination-out");
    expect(canvas.ctx.globalCompositeOperation).toBe("source-over");
  });

  it("renders the PNG at the photo's exact pixel size, black first, then the strokes", async () => {
    const sizes: string[] = [];
    const fake = fakeCanvas(1000, 750, (x) => x > 400);
    const mask = addStroke(EMPTY_MASK, paint([{ x: 0.5, y: 0.5 }], 0.2));
    const blob = await renderMask(mask, { width: 1000, height: 750 }, (w, h) => {
      sizes.push(`${w}x${h}`);
      return fake.canvas;
    });
    expect(blob?.type).toBe("image/png");
    expect(sizes).toEqual(["1000x750"]);
    expect(fake.calls[0]).toBe(`fillRect ${MASK_BACKGROUND} 0 0 1000 750`);
    expect(fake.calls).toContain("arc 500 375 75");
  });

  it("is nothing to send when nothing is painted, or all of it was rubbed out", async () => {
    const nothing = fakeCanvas(40, 30, () => false);
    expect(await renderMask(EMPTY_MASK, { width: 40, height: 30 }, () => nothing.canvas)).toBeNull();
    expect(nothing.calls).toEqual([]); // not even drawn
    let mask: BrushMask = addStroke(EMPTY_MASK, paint([{ x: 0.5, y: 0.5 }]));
    mask = addStroke(mask, erase([{ x: 0.5, y: 0.5 }], 1));
    expect(await renderMask(mask, { width: 40, height: 30 }, () => nothing.canvas)).toBeNull();
  });

  it("refuses a photo whose size is unknown (a mask could not match it)", async () => {
    const mask = addStroke(EMPTY_MASK, paint([{ x: 0.5, y: 0.5 }]));
    await expect(renderMask(mask, { width: 0, height: 0 }, () => fakeCanvas(1, 1, () => true).canvas)).rejects.toThrow(
      /size/,
    );
  });

  it("looks for a wall pixel band by band, stopping at the first", () => {
    const late = fakeCanvas(2048, 2048, (_x, y) => y === 2047);
    expect(anyWall(late.canvas.ctx, 2048, 2048)).toBe(true);
    expect(late.reads).toEqual([512, 512, 512, 512]);
    const early = fakeCanvas(2048, 2048, (x, y) => x === 3 && y === 0);
    expect(anyWall(early.canvas.ctx, 2048, 2048)).toBe(true);
    expect(early.reads).toEqual([512]);
    expect(anyWall(fakeCanvas(3, 3, () => false).canvas.ctx, 3, 3)).toBe(false);
  });
});
