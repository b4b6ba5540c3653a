// The filter and panorama jobs: their params, and the panorama's ordered list of photos
// (pure list operations, so the page only renders and forwards clicks).
import type { Params } from "./start";

export function filterParams(filter: string): Params {
  return { filter };
}

export type PanoramaMode = "panorama" | "scans";

export function panoramaParams(mode: PanoramaMode = "panorama"): Params {
  return mode === "panorama" ? {} : { mode };
}

/** How many photos a panorama takes (the API's panorama spec: 2 to 10 images). */
export const PANORAMA_MIN = 2;
export const PANORAMA_MAX = 10;

/** The list with the item at `index` moved by `delta` places (unchanged past either end). */
export function moveItem<T>(items: readonly T[], index: number, delta: number): T[] {
  const to = index + delta;
  if (index < 0 || index >= items.length || to < 0 || to >= items.length || delta === 0) return [...items];
  const next = [...items];
  const [item] = next.splice(index, 1);
  next.splice(to, 0, item as T);
  return next;
}

export function removeItem<T>(items: readonly T[], index: number): T[] {
  return items.filter((_, i) => i !== index);
}

/** Of `adding`, those that fit after `existing` items under `max`, and how many did not. */
export function takeUpTo<T>(existing: number, adding: readonly T[], max: number): { taken: T[]; leftOut: number } {
  const room = Math.max(0, max - existing);
  return { taken: adding.slice(0, room), leftOut: Math.max(0, adding.length - room) };
}
