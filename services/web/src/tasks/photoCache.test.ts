import { describe, expect, it } from "vitest";
import { createPhotoCache } from "./photoCache";

function fakeUrls() {
  let n = 0;
  const revoked: string[] = [];
  return { revoked, create: () => `blob:${++n}`, revoke: (url: string) => void revoked.push(url) };
}

const photo = (name: string) => ({ blob: new Blob([name]), type: "image/jpeg", name });

describe("photo cache", () => {
  it("keeps the newest photos up to its limit, releasing the oldest", () => {
    const urls = fakeUrls();
    const cache = createPhotoCache(2, urls);
    cache.put("a", photo("a"));
    cache.put("b", photo("b"));
    cache.put("c", photo("c"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("c")?.url).toBe("blob:3");
    expect(urls.revoked).toEqual(["blob:1"]);
  });

  it("shares one URL between tasks made from the same photo, until the last is gone", () => {
    const urls = fakeUrls();
    const cache = createPhotoCache(2, urls);
    const same = photo("wall");
    cache.put("first", same);
    cache.put("retry", same);
    expect(cache.get("retry")?.url).toBe(cache.get("first")?.url);
    cache.put("other", photo("other"));
    expect(urls.revoked).toEqual([]);
    cache.clear();
    expect(urls.revoked.sort()).toEqual(["blob:1", "blob:2"]);
  });
});
