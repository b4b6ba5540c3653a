import { describe, expect, it } from "vitest";
import { translator } from "../i18n";
import { en } from "../i18n/strings";
import { addStroke, clearMask, EMPTY_MASK } from "./brush";
import {
  addPoint,
  boxFrom,
  clearPoints,
  DEFAULT_BOX,
  MAX_POINTS,
  MIN_BOX,
  moveBox,
  moveSpot,
  normalise,
  regionFor,
  resizeBox,
  stateFromRegion,
  undoPoint,
  type WallPoint,
} from "./wall";

const rect = { left: 100, top: 50, width: 200, height: 100 };

describe("pointer position", () => {
  it("is normalised to the element from its top left", () => {
    expect(normalise(100, 50, rect)).toEqual({ x: 0, y: 0 });
    expect(normalise(200, 90, rect)).toEqual({ x: 0.5, y: 0.4 });
    expect(normalise(300, 150, rect)).toEqual({ x: 1, y: 1 });
  });

  it("is clamped to the element when the pointer is outside it (a drag past the edge)", () => {
    expect(normalise(0, 0, rect)).toEqual({ x: 0, y: 0 });
    expect(normalise(1000, 1000, rect)).toEqual({ x: 1, y: 1 });
    expect(normalise(250, -20, rect)).toEqual({ x: 0.75, y: 0 });
  });

  it("is the corner for an element with no size yet", () => {
    expect(normalise(10, 10, { left: 0, top: 0, width: 0, height: 0 })).toEqual({ x: 0, y: 0 });
  });
});

describe("box from a drag", () => {
  it("is the same box whichever corner the drag started from", () => {
    const box = { x: 0.2, y: 0.1, w: 0.5, h: 0.6 };
    const a = { x: 0.2, y: 0.1 };
    const b = { x: 0.7, y: 0.7 };
    for (const [from, to] of [
      [a, b],
      [b, a],
      [{ x: 0.7, y: 0.1 }, { x: 0.2, y: 0.7 }],
      [{ x: 0.2, y: 0.7 }, { x: 0.7, y: 0.1 }],
    ] as const) {
      const got = boxFrom(from, to)!;
      expect(got.x).toBeCloseTo(box.x);
      expect(got.y).toBeCloseTo(box.y);
      expect(got.w).toBeCloseTo(box.w);
      expect(got.h).toBeCloseTo(box.h);
    }
  });

  it("is clamped to the photo", () => {
    expect(boxFrom({ x: -0.5, y: 0.5 }, { x: 0.5, y: 1.5 })).toEqual({ x: 0, y: 0.5, w: 0.5, h: 0.5 });
  });

  it("is no box for a tap or a line", () => {
    expect(boxFrom({ x: 0.5, y: 0.5 }, { x: 0.5, y: 0.5 })).toBeNull();
    expect(boxFrom({ x: 0.5, y: 0.5 }, { x: 0.5 + MIN_BOX / 2, y: 0.9 })).toBeNull();
    expect(boxFrom({ x: 0.1, y: 0.5 }, { x: 0.9, y: 0.5 })).toBeNull();
    // A preview while dragging may be as small as it likes, but never empty.
    expect(boxFrom({ x: 0.5, y: 0.5 }, { x: 0.505, y: 0.505 }, 0)).not.toBeNull();
    expect(boxFrom({ x: 0.5, y: 0.5 }, { x: 0.5, y: 0.6 }, 0)).toBeNull();
  });
});

describe("points", () => {
  it("are added in order, clamped, with their label", () => {
    let points: WallPoint[] = [];
    const first = addPoint(points, { x: 0.5, y: 0.4, label: 1 });
    expect(first.ok).toBe(true);
    points = first.points;
    points = addPoint(points, { x: 1.2, y: -0.1, label: 0 }).points;
    expect(points).toEqual([
      { x: 0.5, y: 0.4, label: 1 },
      { x: 1, y: 0, label: 0 },
    ]);
  });

  it("stop at 16, with the reason, and leave the ones there as they were", () => {
    let points: WallPoint[] = [];
    for (let i = 0; i < MAX_POINTS; i++) {
      const result = addPoint(points, { x: i / 20, y: 0.5, label: 1 });
      expect(result.ok).toBe(true);
      points = result.points;
    }
    const refused = addPoint(points, { x: 0.9, y: 0.9, label: 1 });
    expect(refused).toEqual({ ok: false, points, reason: "mural.wallTooManyPoints" });
    expect(refused.points).not.toBe(points);
    if (refused.ok) throw new Error("added a 17th point");
    expect(translator("en").t(refused.reason, { max: MAX_POINTS })).toContain("16");
  });

  it("undo removes the last one; clear removes them all", () => {
    const points: WallPoint[] = [
      { x: 0.1, y: 0.1, label: 1 },
      { x: 0.2, y: 0.2, label: 0 },
    ];
    expect(undoPoint(points)).toEqual([{ x: 0.1, y: 0.1, label: 1 }]);
    expect(points).toHaveLength(2); // not changed in place
    expect(undoPoint([])).toEqual([]);
    expect(clearPoints()).toEqual([]);
  });
});

describe("keyboard", () => {
  it("moves the cursor within the photo", () => {
    expect(moveSpot({ x: 0.5, y: 0.5 }, 0.02, -0.02)).toEqual({ x: 0.52, y: 0.48 });
    expect(moveSpot({ x: 0.99, y: 0.01 }, 0.02, -0.02)).toEqual({ x: 1, y: 0 });
  });

  it("moves the box without leaving the photo or changing its size", () => {
    expect(moveBox(DEFAULT_BOX, 0.1, 0)).toEqual({ x: 0.35, y: 0.25, w: 0.5, h: 0.5 });
    expect(moveBox(DEFAULT_BOX, 1, -1)).toEqual({ x: 0.5, y: 0, w: 0.5, h: 0.5 });
  });

  it("resizes the box from its bottom right, never below the smallest box or past the edge", () => {
    expect(resizeBox(DEFAULT_BOX, 0.1, -0.1)).toEqual({ x: 0.25, y: 0.25, w: 0.6, h: 0.4 });
    expect(resizeBox(DEFAULT_BOX, 1, -1)).toEqual({ x: 0.25, y: 0.25, w: 0.75, h: MIN_BOX });
  });
});

describe("region for the API", () => {
  it("is automatic whatever is drawn", () => {
    expect(regionFor("auto", [{ x: 0.5, y: 0.5, label: 1 }], DEFAULT_BOX)).toEqual({
      region: { mode: "auto" },
    });
  });

  it("is the points, when one of them is on the wall", () => {
    const points: WallPoint[] = [
      { x: 0.5, y: 0.4, label: 1 },
      { x: 0.123456789, y: 0.9, label: 0 },
    ];
    expect(regionFor("points", points, null)).toEqual({
      region: {
        mode: "points",
        points: [
          { x: 0.5, y: 0.4, label: 1 },
          { x: 0.1235, y: 0.9, label: 0 },
        ],
      },
    });
  });

  it("says what is missing for points", () => {
    expect(regionFor("points", [], null)).toEqual({ error: "mural.wallNeedPoints" });
    expect(regionFor("points", [{ x: 0.5, y: 0.5, label: 0 }], null)).toEqual({
      error: "mural.wallNeedOnPoint",
    });
    const many = Array.from({ length: MAX_POINTS + 1 }, () => ({ x: 0.5, y: 0.5, label: 1 as const }));
    expect(regionFor("points", many, null)).toEqual({ error: "mural.wallTooManyPoints" });
  });

  it("is the box, rounded and still inside the photo", () => {
    expect(regionFor("box", [], { x: 0.1, y: 0.2, w: 0.3, h: 0.4 })).toEqual({
      region: { mode: "box", box: { x: 0.1, y: 0.2, w: 0.3, h: 0.4 } },
    });
    const { region } = regionFor("box", [], { x: 0.66666666, y: 0, w: 0.33333334, h: 1 });
    expect(region).toEqual({ mode: "box", box: { x: 0.6667, y: 0, w: 0.3333, h: 1 } });
    if (region?.mode !== "box") throw new Error("no box");
    expect(region.box.x + region.box.w).toBeLessThanOrEqual(1);
  });

  it("says a box is missing", () => {
    expect(regionFor("box", [], null)).toEqual({ error: "mural.wallNeedBox" });
  });

  it("is a mask when something is painted, the strokes going with it for the upload", () => {
    const mask = addStroke(EMPTY_MASK, { mode: "paint", size: 0.1, points: [{ x: 0.5, y: 0.5 }] });
    expect(regionFor("mask", [], null, mask)).toEqual({ region: { mode: "mask" }, mask });
    // The other modes never send strokes.
    expect(regionFor("auto", [], null, mask)).toEqual({ region: { mode: "auto" } });
  });

  it("says the wall is not painted yet", () => {
    const painted = addStroke(EMPTY_MASK, { mode: "paint", size: 0.1, points: [{ x: 0.5, y: 0.5 }] });
    expect(regionFor("mask", [], null)).toEqual({ error: "mural.wallNeedMask" });
    expect(regionFor("mask", [], null, EMPTY_MASK)).toEqual({ error: "mural.wallNeedMask" });
    expect(regionFor("mask", [], null, clearMask(painted))).toEqual({ error: "mural.wallNeedMask" });
    const erased = addStroke(EMPTY_MASK, { mode: "erase", size: 0.1, points: [{ x: 0.5, y: 0.5 }] });
    expect(regionFor("mask", [], null, erased)).toEqual({ error: "mural.wallNeedMask" });
  });

  it("has a sentence for every problem", () => {
    for (const key of ["mural.wallNeedPoints", "mural.wallNeedOnPoint", "mural.wallNeedBox", "mural.wallNeedMask"] as const) {
      expect(en[key]).toBeTruthy();
    }
  });
});

describe("region carried over from an earlier mural", () => {
  it("shows its points or its box again", () => {
    const points = [
      { x: 0.5, y: 0.4, label: 1 as const },
      { x: 0.1, y: 0.1, label: 0 as const },
    ];
    expect(stateFromRegion({ mode: "points", points })).toEqual({ mode: "points", points, box: null });
    expect(stateFromRegion({ mode: "box", box: { x: 0.1, y: 0.2, w: 0.3, h: 0.4 } })).toMatchObject({
      mode: "box",
      points: [],
      box: { x: 0.1, y: 0.2 },
    });
  });

  it("is automatic for auto, nothing, or what makes no sense", () => {
    const auto = { mode: "auto", points: [], box: null };
    expect(stateFromRegion({ mode: "auto" })).toEqual(auto);
    expect(stateFromRegion(undefined)).toEqual(auto);
    expect(stateFromRegion({ mode: "points", points: [] })).toEqual(auto);
    expect(stateFromRegion({ mode: "box", box: { x: 0.5, y: 0.5, w: 0, h: 0.2 } })).toEqual(auto);
    expect(stateFromRegion({ mode: "box" } as never)).toEqual(auto);
  });

  it("offers the brush again for a painted mask, with nothing painted (the mask was that photo's)", () => {
    expect(stateFromRegion({ mode: "mask" })).toEqual({ mode: "mask", points: [], box: null });
  });

  it("keeps at most 16 points", () => {
    const points = Array.from({ length: 20 }, (_, i) => ({ x: i / 20, y: 0.5, label: 1 as const }));
    expect(stateFromRegion({ mode: "points", points }).points).toHaveLength(MAX_POINTS);
  });
});
