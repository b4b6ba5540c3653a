// A mural job: its params, and the four calls that start one (create → upload slot →
// upload → submit). Pure apart from the client it is given, so tests drive it with a fake.
import type { Client } from "../api/client";

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

export type Params = Record<string, unknown>;

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

export type StartStep = "creating" | "uploading" | "submitting";

export interface Photo {
  blob: Blob;
  type: string;
  name: string;
}

/** Steps 1–4 for a one-photo mural; the task's id once it is QUEUED. */
export async function startMural(
  api: Pick<Client, "createTask" | "requestUpload" | "upload" | "submit">,
  photo: Photo,
  params: Params,
  onStep: (step: StartStep, taskId?: string) => void = () => {},
): Promise<{ taskId: string; status: string }> {
  onStep("creating");
  const { task_id: taskId } = await api.createTask();
  onStep("uploading", taskId);
  const slot = await api.requestUpload(taskId, {
    role: "image",
    content_type: photo.type,
    size: photo.blob.size,
  });
  await api.upload(slot, photo.blob, photo.name);
  onStep("submitting", taskId);
  const submitted = await api.submit(taskId, { kind: "mural", params });
  return { taskId, status: submitted.status };
}
