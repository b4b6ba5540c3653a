import { describe, expect, it } from "vitest";
import {
  DEFAULT_LIMITS,
  encodeAttempts,
  fitWithin,
  ImageError,
  isTooSmall,
  limitsFor,
  prepareUpload,
  shrinkReasons,
  type DecodedImage,
  type EncodeAttempt,
  type ImageCodec,
  type UploadLimits,
} from "./shrink";

const MB = 1024 * 1024;

describe("fitWithin", () => {
  const limits = { maxSide: 4096, maxPixels: 4096 * 4096 };

  it("leaves a size that fits alone, never enlarging", () => {
    expect(fitWithin(4032, 3024, limits)).toEqual({ width: 4032, height: 3024 });
    expect(fitWithin(100, 50, limits)).toEqual({ width: 100, height: 50 });
    expect(fitWithin(4096, 4096, limits)).toEqual({ width: 4096, height: 4096 });
  });

  it("brings the long side down to the limit, keeping the aspect", () => {
    expect(fitWithin(8000, 6000, limits)).toEqual({ width: 4096, height: 3072 });
    expect(fitWithin(6000, 8000, limits)).toEqual({ width: 3072, height: 4096 });
  });

  it("brings the pixel count under the limit", () => {
    const size = fitWithin(4000, 3000, { maxSide: 10_000, maxPixels: 3_000_000 });
    expect(size.width * size.height).toBeLessThanOrEqual(3_000_000);
    expect(size.width / size.height).toBeCloseTo(4 / 3, 2);
    expect(size.width).toBeGreaterThan(1990);
  });

  it("gives whole pixels within both limits for awkward sizes", () => {
    for (const [w, h] of [
      [9999, 7777],
      [12345, 17],
      [17, 12345],
      [4097, 4097],
      [5000, 3333],
    ] as const) {
      const size = fitWithin(w, h, { maxSide: 4096, maxPixels: 12_000_000 });
      expect(Number.isInteger(size.width) && Number.isInteger(size.height)).toBe(true);
      expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(4096);
      expect(size.width * size.height).toBeLessThanOrEqual(12_000_000);
      expect(size.width).toBeLessThanOrEqual(w);
      expect(size.height).toBeLessThanOrEqual(h);
      expect(Math.min(size.width, size.height)).toBeGreaterThanOrEqual(1);
    }
  });

  it("keeps a very thin picture at least one pixel wide", () => {
    expect(fitWithin(100_000, 2, limits)).toEqual({ width: 4096, height: 1 });
  });
});

describe("when to shrink", () => {
  const ok = { width: 4032, height: 3024 };

  it("sends a JPEG, PNG or WebP within the limits unchanged", () => {
    for (const type of ["image/jpeg", "image/png", "image/webp"]) {
      expect(shrinkReasons({ size: 3 * MB, type }, ok, DEFAULT_LIMITS)).toEqual([]);
    }
  });

  it("shrinks a file over the byte limit", () => {
    expect(shrinkReasons({ size: 10 * MB + 1, type: "image/jpeg" }, ok, DEFAULT_LIMITS)).toEqual([
      "bytes",
    ]);
    expect(shrinkReasons({ size: 10 * MB, type: "image/jpeg" }, ok, DEFAULT_LIMITS)).toEqual([]);
  });

  it("shrinks a picture over the side or pixel limit", () => {
    expect(
      shrinkReasons({ size: MB, type: "image/png" }, { width: 5000, height: 100 }, DEFAULT_LIMITS),
    ).toEqual(["side"]);
    expect(
      shrinkReasons(
        { size: MB, type: "image/png" },
        { width: 4000, height: 4000 },
        { ...DEFAULT_LIMITS, maxPixels: 12_000_000 },
      ),
    ).toEqual(["pixels"]);
  });

  it("re-encodes a type the API does not take (HEIC, GIF, none)", () => {
    expect(shrinkReasons({ size: MB, type: "image/heic" }, ok, DEFAULT_LIMITS)).toEqual(["type"]);
    expect(shrinkReasons({ size: MB, type: "" }, ok, DEFAULT_LIMITS)).toEqual(["type"]);
  });

  it("calls a photo under the job's shortest side too small", () => {
    expect(isTooSmall({ width: 63, height: 500 }, DEFAULT_LIMITS)).toBe(true);
    expect(isTooSmall({ width: 64, height: 64 }, DEFAULT_LIMITS)).toBe(false);
  });

  it("narrows the limits by what the API says the kind accepts", () => {
    const mural = { kind: "mural", min_side: 64, max_side: 8192, uploads: {} };
    expect(limitsFor(mural)).toEqual(DEFAULT_LIMITS);
    const sketch = { kind: "sketch", min_side: 32, max_side: 2048, uploads: {} };
    expect(limitsFor(sketch)).toMatchObject({ maxSide: 2048, minSide: 64 });
    expect(limitsFor({ kind: "x", min_side: 128, max_side: 9000, uploads: {} }).minSide).toBe(128);
    expect(limitsFor(undefined)).toEqual(DEFAULT_LIMITS);
  });

  it("tries quality 0.9 at the fitted size first, then lower quality, then smaller", () => {
    const attempts = encodeAttempts({ width: 8000, height: 6000 }, DEFAULT_LIMITS);
    expect(attempts[0]).toEqual({ width: 4096, height: 3072, quality: 0.9 });
    expect(attempts[1]).toEqual({ width: 4096, height: 3072, quality: 0.8 });
    expect(attempts[2]).toEqual({ width: 3072, height: 2304, quality: 0.8 });
    const sides = attempts.map((a) => a.width);
    expect([...sides].sort((a, b) => b - a)).toEqual(sides);
    for (const a of attempts) expect(Math.min(a.width, a.height)).toBeGreaterThanOrEqual(64);
  });
});

// -- prepareUpload with a codec that only pretends ------------------------------------------

interface FakeImage extends DecodedImage {
  closed: boolean;
}

function fakeCodec(
  size: { width: number; height: number } | "undecodable",
  bytesFor: (attempt: EncodeAttempt) => number = () => 2 * MB,
) {
  const encoded: EncodeAttempt[] = [];
  const images: FakeImage[] = [];
  const codec: ImageCodec<FakeImage> = {
    async decode() {
      if (size === "undecodable") throw new Error("cannot decode");
      const image = { ...size, closed: false, close: () => (image.closed = true) };
      images.push(image);
      return image;
    },
    async encodeJpeg(_image, attempt) {
      encoded.push(attempt);
      return new Blob([new Uint8Array(bytesFor(attempt))], { type: "image/jpeg" });
    },
  };
  return { codec, encoded, images };
}

const fileOf = (bytes: number, type: string, name = "wall.heic") =>
  new File([new Uint8Array(bytes)], name, { type });

describe("prepareUpload", () => {
  const limits: UploadLimits = DEFAULT_LIMITS;

  it("sends a photo within the limits as it is, without encoding", async () => {
    const { codec, encoded, images } = fakeCodec({ width: 4032, height: 3024 });
    const file = fileOf(3 * MB, "image/jpeg", "wall.jpg");
    const prepared = await prepareUpload(file, limits, codec);
    expect(prepared).toMatchObject({ blob: file, type: "image/jpeg", name: "wall.jpg", shrunk: false });
    expect(encoded).toEqual([]);
    expect(images[0]!.closed).toBe(true);
  });

  it("re-encodes a photo over the byte limit as a JPEG at quality 0.9", async () => {
    const { codec, encoded } = fakeCodec({ width: 4032, height: 3024 });
    const prepared = await prepareUpload(fileOf(14 * MB, "image/png", "wall.png"), limits, codec);
    expect(encoded).toEqual([{ width: 4032, height: 3024, quality: 0.9 }]);
    expect(prepared).toMatchObject({
      type: "image/jpeg",
      name: "wall.jpg",
      width: 4032,
      height: 3024,
      shrunk: true,
    });
  });

  it("scales a photo over the side limit down", async () => {
    const { codec, encoded } = fakeCodec({ width: 9000, height: 6000 });
    const prepared = await prepareUpload(fileOf(5 * MB, "image/jpeg", "big.jpeg"), limits, codec);
    expect(encoded[0]).toEqual({ width: 4096, height: 2731, quality: 0.9 });
    expect(prepared).toMatchObject({ width: 4096, height: 2731, shrunk: true });
  });

  it("converts a small HEIC the browser can decode", async () => {
    const { codec, encoded } = fakeCodec({ width: 3000, height: 4000 });
    const prepared = await prepareUpload(fileOf(MB, "image/heic"), limits, codec);
    expect(encoded).toHaveLength(1);
    expect(prepared).toMatchObject({ type: "image/jpeg", name: "wall.jpg" });
  });

  it("lowers quality, then size, until the JPEG fits", async () => {
    const { codec, encoded } = fakeCodec({ width: 8000, height: 6000 }, (a) =>
      a.width >= 4096 ? 11 * MB : 6 * MB,
    );
    const prepared = await prepareUpload(fileOf(30 * MB, "image/jpeg"), limits, codec);
    expect(encoded.map((a) => [a.width, a.quality])).toEqual([
      [4096, 0.9],
      [4096, 0.8],
      [3072, 0.8],
    ]);
    expect(prepared.width).toBe(3072);
  });

  it("gives up with image_too_large when nothing fits", async () => {
    const { codec, images } = fakeCodec({ width: 8000, height: 6000 }, () => 50 * MB);
    await expect(prepareUpload(fileOf(30 * MB, "image/jpeg"), limits, codec)).rejects.toMatchObject({
      code: "image_too_large",
    });
    expect(images[0]!.closed).toBe(true);
  });

  it("refuses a photo too small for the job", async () => {
    const { codec } = fakeCodec({ width: 40, height: 40 });
    const error = await prepareUpload(fileOf(1000, "image/png"), limits, codec).catch((e) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect(error.code).toBe("image_too_small");
  });

  it("lets the API judge an accepted file this browser cannot decode, and refuses any other", async () => {
    const { codec } = fakeCodec("undecodable");
    const webp = fileOf(MB, "image/webp", "w.webp");
    await expect(prepareUpload(webp, limits, codec)).resolves.toMatchObject({ blob: webp, shrunk: false });
    await expect(prepareUpload(fileOf(MB, "image/heic"), limits, codec)).rejects.toMatchObject({
      code: "image_undecodable",
    });
    await expect(prepareUpload(fileOf(20 * MB, "image/jpeg"), limits, codec)).rejects.toMatchObject({
      code: "image_undecodable",
    });
  });
});
