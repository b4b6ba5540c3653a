import { describe, expect, it } from "vitest";
import { LANDMARK_COUNT, landmarksMessage, skeletonSegments, SKELETON, type Landmark } from "./landmarks";

const pose = (visibility = 0.99): Landmark[] =>
  Array.from({ length: LANDMARK_COUNT }, (_, i) => ({ x: i / 40, y: i / 50, z: -0.1, visibility }));

describe("landmarksMessage", () => {
  it("carries the frame id, the frame's size and all 33 points", () => {
    const message = landmarksMessage(7, pose(), 640.4, 480);
    expect(message?.type).toBe("landmarks");
    expect(message?.frame_id).toBe(7);
    expect(message?.image).toEqual({ width: 640, height: 480 });
    expect(message?.landmarks).toHaveLength(33);
    expect(message?.landmarks[10]).toEqual({ x: 0.25, y: 0.2, z: -0.1, visibility: 0.99 });
  });

  it("clamps points far outside the frame into the contract's bounds", () => {
    const points = pose();
    points[0] = { x: -3, y: 5, z: 99, visibility: 1.5 };
    points[1] = { x: Number.NaN, y: 0.5 };
    const message = landmarksMessage(1, points, 100, 100)!;
    expect(message.landmarks[0]).toEqual({ x: -1, y: 2, z: 10, visibility: 1 });
    expect(message.landmarks[1]).toEqual({ x: 0, y: 0.5, z: 0, visibility: 0 });
  });

  it("says nobody is there (33 invisible points) when no pose or an incomplete one was found", () => {
    for (const found of [null, undefined, pose().slice(0, 20)]) {
      const message = landmarksMessage(2, found, 640, 480)!;
      expect(message.landmarks).toHaveLength(33);
      expect(message.landmarks.every((p) => p.visibility === 0)).toBe(true);
    }
  });

  it("sends nothing before the camera has a size", () => {
    expect(landmarksMessage(1, pose(), 0, 480)).toBeNull();
  });
});

describe("skeletonSegments", () => {
  it("draws every line between points that are seen, in the overlay's pixels", () => {
    const { segments, points } = skeletonSegments(pose(), 400, 500);
    expect(segments).toHaveLength(SKELETON.length);
    const [a, b] = SKELETON[0]!;
    expect(segments[0]).toEqual({ from: { x: (a / 40) * 400, y: (a / 50) * 500 }, to: { x: (b / 40) * 400, y: (b / 50) * 500 } });
    expect(points.length).toBeGreaterThan(0);
  });

  it("leaves out points MediaPipe is unsure of, with their lines", () => {
    const points = pose();
    points[11] = { ...points[11]!, visibility: 0.1 }; // the left shoulder
    const { segments } = skeletonSegments(points, 100, 100);
    const touching = SKELETON.filter(([a, b]) => a === 11 || b === 11).length;
    expect(segments).toHaveLength(SKELETON.length - touching);
  });

  it("draws nothing without a pose", () => {
    expect(skeletonSegments(null, 100, 100)).toEqual({ segments: [], points: [] });
  });
});
