// Photos are made small enough on the phone before they are sent: a 40 MB, 8000 px photo
// costs minutes on a mobile connection and the painter works at a few megapixels anyway.
// The decisions are pure (and tested); the browser part decodes, draws and re-encodes.
import type { KindInfo } from "../api/client";

export interface UploadLimits {
  maxBytes: number;
  /** The longest side, in pixels. */
  maxSide: number;
  maxPixels: number;
  /** The shortest side the job accepts; smaller photos are refused, never enlarged. */
  minSide: number;
}

/** The types the API accepts (services/api/saekdam_api/domain/uploads.py). */
export const ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;

/** The client's own limits; the API's are wider (20 MB, 8192 px, 64 MP for a mural). */
export const DEFAULT_LIMITS: UploadLimits = {
  maxBytes: 10 * 1024 * 1024,
  maxSide: 4096,
  maxPixels: 4096 * 4096,
  minSide: 64,
};

export const JPEG_QUALITY = 0.9;

/** Our limits, narrowed by what `GET /v1/kinds` says the job accepts. */
export function limitsFor(kind: KindInfo | undefined, base: UploadLimits = DEFAULT_LIMITS): UploadLimits {
  if (!kind) return base;
  return {
    ...base,
    maxSide: Math.min(base.maxSide, kind.max_side),
    minSide: Math.max(base.minSide, kind.min_side),
  };
}

export interface Size {
  width: number;
  height: number;
}

/** The largest size with the same aspect that fits both limits; never larger than given. */
export function fitWithin(
  width: number,
  height: number,
  limits: { maxSide: number; maxPixels: number },
): Size {
  const scale = Math.min(
    1,
    limits.maxSide / Math.max(width, height),
    Math.sqrt(limits.maxPixels / (width * height)),
  );
  if (scale >= 1) return { width, height };
  const landscape = width >= height;
  const ratio = landscape ? height / width : width / height;
  let long = Math.min(limits.maxSide, Math.max(1, Math.floor((landscape ? width : height) * scale + 1e-9)));
  let short = Math.max(1, Math.round(long * ratio));
  // Rounding the short side up may pass the pixel limit by a row: take a pixel off the long side.
  while (long * short > limits.maxPixels && long > 1) {
    long -= 1;
    short = Math.max(1, Math.round(long * ratio));
  }
  return landscape ? { width: long, height: short } : { width: short, height: long };
}

export type ShrinkReason = "bytes" | "side" | "pixels" | "type";

/** Why this file cannot be sent as it is (empty: send it unchanged). */
export function shrinkReasons(
  file: { size: number; type: string },
  size: Size,
  limits: UploadLimits,
): ShrinkReason[] {
  const reasons: ShrinkReason[] = [];
  if (!(ACCEPTED_TYPES as readonly string[]).includes(file.type)) reasons.push("type");
  if (file.size > limits.maxBytes) reasons.push("bytes");
  if (Math.max(size.width, size.height) > limits.maxSide) reasons.push("side");
  if (size.width * size.height > limits.maxPixels) reasons.push("pixels");
  return reasons;
}

export function isTooSmall(size: Size, limits: UploadLimits): boolean {
  return Math.min(size.width, size.height) < limits.minSide;
}

export interface EncodeAttempt extends Size {
  quality: number;
}

/** What to try, in order, until the JPEG fits the byte limit: lower quality, then smaller. */
export function encodeAttempts(size: Size, limits: UploadLimits): EncodeAttempt[] {
  const fitted = fitWithin(size.width, size.height, limits);
  const attempts: EncodeAttempt[] = [
    { ...fitted, quality: JPEG_QUALITY },
    { ...fitted, quality: 0.8 },
  ];
  for (const factor of [0.75, 0.5, 0.35]) {
    const smaller = fitWithin(fitted.width, fitted.height, {
      maxSide: Math.max(1, Math.floor(Math.max(fitted.width, fitted.height) * factor)),
      maxPixels: limits.maxPixels,
    });
    if (Math.min(smaller.width, smaller.height) < limits.minSide) break;
    attempts.push({ ...smaller, quality: 0.8 });
  }
  return attempts;
}

// -- the browser part ----------------------------------------------------------------------

export class ImageError extends Error {
  constructor(
    readonly code: "image_undecodable" | "image_too_small" | "image_too_large",
    message: string,
  ) {
    super(message);
    this.name = "ImageError";
  }
}

export interface DecodedImage extends Size {
  close(): void;
}

/** How pictures are decoded and encoded: the browser's canvas, or a fake in tests. */
export interface ImageCodec<D extends DecodedImage = DecodedImage> {
  decode(file: Blob): Promise<D>;
  encodeJpeg(image: D, attempt: EncodeAttempt): Promise<Blob>;
}

export interface PreparedImage extends Size {
  blob: Blob;
  /** The content type to declare for the upload. */
  type: string;
  name: string;
  /** True when it was re-encoded here. */
  shrunk: boolean;
}

function jpegName(name: string): string {
  const base = name.replace(/\.[^./\\]*$/, "") || "photo";
  return `${base}.jpg`;
}

/** The file as it can be sent: unchanged when it fits, else a smaller JPEG. */
export async function prepareUpload<D extends DecodedImage>(
  file: File,
  limits: UploadLimits,
  codec: ImageCodec<D>,
): Promise<PreparedImage> {
  let image: D;
  try {
    image = await codec.decode(file);
  } catch {
    // This browser cannot read it. An accepted type within the byte limit goes as it is
    // (the API decodes it itself and says clearly if it is broken); others cannot.
    if (shrinkReasons(file, { width: 0, height: 0 }, limits).length === 0) {
      return { blob: file, type: file.type, name: file.name, width: 0, height: 0, shrunk: false };
    }
    throw new ImageError("image_undecodable", `cannot decode ${file.type || "this file"}`);
  }
  try {
    const size = { width: image.width, height: image.height };
    if (isTooSmall(size, limits)) {
      throw new ImageError(
        "image_too_small",
        `${size.width}x${size.height} is under ${limits.minSide} px on a side`,
      );
    }
    if (shrinkReasons(file, size, limits).length === 0) {
      return { blob: file, type: file.type, name: file.name, ...size, shrunk: false };
    }
    for (const attempt of encodeAttempts(size, limits)) {
      const blob = await codec.encodeJpeg(image, attempt);
      if (blob.size <= limits.maxBytes) {
        return {
          blob,
          type: "image/jpeg",
          name: jpegName(file.name),
          width: attempt.width,
          height: attempt.height,
          shrunk: true,
        };
      }
    }
    throw new ImageError("image_too_large", "no JPEG of this photo fits the byte limit");
  } finally {
    image.close();
  }
}

interface BrowserImage extends DecodedImage {
  source: CanvasImageSource;
}

async function decodeInBrowser(file: Blob): Promise<BrowserImage> {
  if (typeof createImageBitmap === "function") {
    // Upright as shown (EXIF orientation applied), so the re-encoded JPEG needs no EXIF.
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    return { width: bitmap.width, height: bitmap.height, source: bitmap, close: () => bitmap.close() };
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    await img.decode();
    return { width: img.naturalWidth, height: img.naturalHeight, source: img, close: () => {} };
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function encodeInBrowser(image: BrowserImage, attempt: EncodeAttempt): Promise<Blob> {
  const { width, height, quality } = attempt;
  if (typeof OffscreenCanvas === "function") {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new ImageError("image_undecodable", "no 2d canvas");
    draw(ctx, image.source, width, height);
    return canvas.convertToBlob({ type: "image/jpeg", quality });
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new ImageError("image_undecodable", "no 2d canvas");
  draw(ctx, image.source, width, height);
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new ImageError("image_undecodable", "encode failed"))),
      "image/jpeg",
      quality,
    ),
  );
}

function draw(
  ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D,
  source: CanvasImageSource,
  width: number,
  height: number,
) {
  // JPEG has no transparency: what was transparent becomes white, not black.
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, width, height);
}

export const browserCodec: ImageCodec<BrowserImage> = {
  decode: decodeInBrowser,
  encodeJpeg: encodeInBrowser,
};

/** `prepareUpload` with the browser's canvas. */
export function shrinkForUpload(file: File, limits: UploadLimits = DEFAULT_LIMITS): Promise<PreparedImage> {
  return prepareUpload(file, limits, browserCodec);
}
