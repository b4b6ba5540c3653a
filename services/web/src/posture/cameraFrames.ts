// The fallback when the browser cannot run the pose model: camera frames as JPEG, at most
// `maxSide` on the long side (the service downscales to 640 anyway) and under its byte limit.

export const FRAME_SIDE = 640;
const QUALITIES = [0.7, 0.5, 0.3] as const;

/** The size a `width`×`height` camera frame is sent at. */
export function frameSize(width: number, height: number, maxSide = FRAME_SIDE): { width: number; height: number } {
  if (!(width > 0 && height > 0)) return { width: 0, height: 0 };
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export interface Encoder {
  /** The canvas as JPEG at `quality`, or null when the browser could not encode it. */
  (quality: number): Promise<Blob | null>;
}

/** The first encoding that fits `maxBytes`, trying lower qualities; null when none does. */
export async function fittingJpeg(encode: Encoder, maxBytes: number): Promise<Blob | null> {
  for (const quality of QUALITIES) {
    const blob = await encode(quality);
    if (blob && blob.size <= maxBytes) return blob;
  }
  return null;
}

/** The video's current picture as a JPEG for the service, or null before the camera runs. */
export async function grabFrame(
  video: HTMLVideoElement,
  canvas: HTMLCanvasElement,
  maxBytes: number,
  maxSide = FRAME_SIDE,
): Promise<Blob | null> {
  const size = frameSize(video.videoWidth, video.videoHeight, maxSide);
  if (!size.width) return null;
  canvas.width = size.width;
  canvas.height = size.height;
  const context = canvas.getContext("2d");
  if (!context) return null;
  context.drawImage(video, 0, 0, size.width, size.height);
  return fittingJpeg(
    (quality) => new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality)),
    maxBytes,
  );
}
