import { describe, expect, it } from "vitest";
import { clearSession, loadSession, saveSession, SESSION_KEY, sessionFromToken } from "./session";

function memoryStorage() {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

describe("session", () => {
  const now = 1_700_000_000_000;
  const token = { access_token: "abc", token_type: "bearer", expires_in: 3600 };

  it("keeps the token with its expiry and reads it back", () => {
    const storage = memoryStorage();
    saveSession(storage, sessionFromToken(token, now));
    expect(loadSession(storage, now + 1000)).toEqual({ token: "abc", expiresAt: now + 3_600_000 });
  });

  it("forgets an expired or nearly expired token", () => {
    const storage = memoryStorage();
    saveSession(storage, sessionFromToken(token, now));
    expect(loadSession(storage, now + 3_600_000 - 10_000)).toBeNull();
    expect(storage.data.has(SESSION_KEY)).toBe(false);
  });

  it("forgets a broken entry", () => {
    const storage = memoryStorage();
    storage.setItem(SESSION_KEY, "{not json");
    expect(loadSession(storage, now)).toBeNull();
    storage.setItem(SESSION_KEY, JSON.stringify({ token: 5 }));
    expect(loadSession(storage, now)).toBeNull();
  });

  it("signs out by removing it, and copes with storage that throws", () => {
    const storage = memoryStorage();
    saveSession(storage, sessionFromToken(token, now));
    clearSession(storage);
    expect(loadSession(storage, now)).toBeNull();
    const blocked = {
      getItem: () => {
        throw new Error("blocked");
      },
      setItem: () => {
        throw new Error("blocked");
      },
      removeItem: () => {
        throw new Error("blocked");
      },
    };
    expect(loadSession(blocked, now)).toBeNull();
    expect(() => saveSession(blocked, sessionFromToken(token, now))).not.toThrow();
  });
});
