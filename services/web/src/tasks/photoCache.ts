// The inputs sent from this tab, by task id (a wall or filter photo, a sketch's doodle): the
// "before" of the comparison (or the doodle beside the picture) and what "try again" sends anew.
// Memory only (the API gives no download of inputs), a few at most.
import type { Photo } from "./mural";

export interface CachedPhoto extends Photo {
  url: string;
}

export interface PhotoCache {
  get(taskId: string): CachedPhoto | undefined;
  put(taskId: string, photo: Photo): CachedPhoto;
  clear(): void;
}

export function createPhotoCache(
  limit = 4,
  urls: { create(blob: Blob): string; revoke(url: string): void } = {
    create: (blob) => URL.createObjectURL(blob),
    revoke: (url) => URL.revokeObjectURL(url),
  },
): PhotoCache {
  const entries = new Map<string, CachedPhoto>();
  const byBlob = new Map<Blob, string>();
  const release = (photo: CachedPhoto) => {
    // Tasks retried from one photo share its URL: revoke it when the last one goes.
    if (![...entries.values()].some((other) => other.url === photo.url)) {
      urls.revoke(photo.url);
      byBlob.delete(photo.blob);
    }
  };
  return {
    get: (taskId) => entries.get(taskId),
    put(taskId, photo) {
      const url = byBlob.get(photo.blob) ?? urls.create(photo.blob);
      byBlob.set(photo.blob, url);
      const cached = { ...photo, url };
      const previous = entries.get(taskId);
      entries.delete(taskId);
      entries.set(taskId, cached);
      if (previous) release(previous);
      while (entries.size > limit) {
        const [oldest, photoOut] = entries.entries().next().value as [string, CachedPhoto];
        entries.delete(oldest);
        release(photoOut);
      }
      return cached;
    },
    clear() {
      const all = [...entries.values()];
      entries.clear();
      for (const photo of all) release(photo);
    },
  };
}
