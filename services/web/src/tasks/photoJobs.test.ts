import { describe, expect, it } from "vitest";
import { filterParams, moveItem, panoramaParams, removeItem, takeUpTo } from "./photoJobs";

describe("filter and panorama params", () => {
  it("names the filter, and sends the panorama mode only when it is not the default", () => {
    expect(filterParams("oil_painting")).toEqual({ filter: "oil_painting" });
    expect(panoramaParams()).toEqual({});
    expect(panoramaParams("panorama")).toEqual({});
    expect(panoramaParams("scans")).toEqual({ mode: "scans" });
  });
});

describe("the panorama's photo order", () => {
  const photos = ["a", "b", "c"];

  it("moves a photo up or down one place, and not past either end", () => {
    expect(moveItem(photos, 1, -1)).toEqual(["b", "a", "c"]);
    expect(moveItem(photos, 1, 1)).toEqual(["a", "c", "b"]);
    expect(moveItem(photos, 0, -1)).toEqual(photos);
    expect(moveItem(photos, 2, 1)).toEqual(photos);
    expect(moveItem(photos, 7, -1)).toEqual(photos);
    expect(photos).toEqual(["a", "b", "c"]);
  });

  it("removes one photo", () => {
    expect(removeItem(photos, 0)).toEqual(["b", "c"]);
    expect(removeItem(photos, 5)).toEqual(photos);
  });

  it("takes as many new photos as fit under the most a panorama takes", () => {
    expect(takeUpTo(8, ["x", "y", "z"], 10)).toEqual({ taken: ["x", "y"], leftOut: 1 });
    expect(takeUpTo(0, ["x"], 10)).toEqual({ taken: ["x"], leftOut: 0 });
    expect(takeUpTo(12, ["x"], 10)).toEqual({ taken: [], leftOut: 1 });
  });
});
