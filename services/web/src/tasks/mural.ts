// A mural job: its params, and how one is started (through `startTask`, as every kind is).
import {
  asUpload,
  startTask,
  type OnStep,
  type Params,
  type Photo,
  type StartApi,
  type StartOptions,
} from "./start";

export type { Params, Photo, StartStep } from "./start";

export const MAX_PROMPT_CHARS = 500;
export const MAX_SEED = 2 ** 32 - 1;

/** How the wall is found: automatically, a box, points, or a mask painted by hand (sent as
 *  the task's `mask` upload, not in the params). */
export type Region =
  | { mode: "auto" }
  | { mode: "box"; box: { x: number; y: number; w: number; h: number } }
  | { mode: "points"; points: { x: number; y: number; label: 0 | 1 }[] }
  | { mode: "mask" };

export interface MuralSettings {
  theme: string;
  prompt: string;
  region: Region;
  seed?: number | null;
}

export function muralParams(settings: MuralSettings): Params {
  const params: Params = {
    theme: settings.theme,
    prompt: settings.prompt.trim().slice(0, MAX_PROMPT_CHARS),
    region: settings.region,
  };
  if (settings.seed != null) params.seed = settings.seed;
  return params;
}

/** The settings a finished task was made with, to fill the form again. */
export function settingsFromParams(params: Params | null | undefined): Partial<MuralSettings> {
  if (!params) return {};
  const settings: Partial<MuralSettings> = {};
  if (typeof params.theme === "string") settings.theme = params.theme;
  if (typeof params.prompt === "string") settings.prompt = params.prompt;
  const region = params.region as Region | undefined;
  if (region && typeof region === "object" && typeof region.mode === "string") settings.region = region;
  return settings;
}

export function randomSeed(): number {
  const buffer = new Uint32Array(1);
  globalThis.crypto.getRandomValues(buffer);
  return buffer[0]!;
}

/** The same params with a new seed (never the old one), for "try again". */
export function retryParams(params: Params, nextSeed: () => number = randomSeed): Params {
  const old = params.seed;
  let seed = nextSeed();
  for (let i = 0; seed === old && i < 8; i++) seed = nextSeed();
  if (seed === old) seed = ((seed as number) + 1) % (MAX_SEED + 1);
  return { ...params, seed };
}

export interface MuralStartOptions extends StartOptions {
  /** The wall painted by hand, for region mode "mask": a PNG exactly the size of `photo`
   *  (white: the wall, black: the rest), sent as the `mask` upload after the photo. */
  mask?: Photo | null;
}

/** Whether these params find the wall from a `mask` upload (region mode "mask"). */
export function needsMask(params: Params | null | undefined): boolean {
  const region = params?.region as { mode?: unknown } | null | undefined;
  return !!region && typeof region === "object" && region.mode === "mask";
}

/** A mural that cannot be started as asked: refused here, before any task is made. */
export class MuralInputError extends Error {
  constructor(
    readonly code: "mask_required" | "mask_unexpected",
    message: string,
  ) {
    super(message);
    this.name = "MuralInputError";
  }
}

/** Steps 1–4 for a mural: the photo, and for a painted wall its mask; the task's id once it
 *  is QUEUED. */
export function startMural(
  api: StartApi,
  photo: Photo,
  params: Params,
  onStep?: OnStep,
  options: MuralStartOptions = {},
): Promise<{ taskId: string; status: string }> {
  const { mask, ...rest } = options;
  // The API takes a mask exactly when the region says "mask" (upload_required or
  // upload_role_unexpected otherwise): said here, before a task is made for nothing.
  if (needsMask(params) && !mask) {
    return Promise.reject(
      new MuralInputError("mask_required", "This mural's wall was painted by hand: paint it again on the photo."),
    );
  }
  if (!needsMask(params) && mask) {
    return Promise.reject(new MuralInputError("mask_unexpected", "A mask goes only with a painted wall."));
  }
  const uploads = [asUpload(photo, "image")];
  if (mask) uploads.push(asUpload(mask, "mask"));
  return startTask(api, "mural", uploads, params, onStep, rest);
}
