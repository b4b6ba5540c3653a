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

/** How the wall is found (the form offers auto, box and points; `mask` comes later). */
export type Region =
  | { mode: "auto" }
  | { mode: "box"; box: { x: number; y: number; w: number; h: number } }
  | { mode: "points"; points: { x: number; y: number; label: 0 | 1 }[] };

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

/** Steps 1–4 for a one-photo mural; the task's id once it is QUEUED. */
export function startMural(
  api: StartApi,
  photo: Photo,
  params: Params,
  onStep?: OnStep,
  options?: StartOptions,
): Promise<{ taskId: string; status: string }> {
  return startTask(api, "mural", [asUpload(photo, "image")], params, onStep, options);
}
