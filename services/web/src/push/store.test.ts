import { describe, expect, it } from "vitest";
import { forgetRecord, loadRecord, PUSH_STORE_KEY, saveRecord } from "./store";

function memory(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (key: string) => data.get(key) ?? null,
    setItem: (key: string, value: string) => void data.set(key, value),
    removeItem: (key: string) => void data.delete(key),
  };
}

describe("remembered push subscriptions", () => {
  it("are kept per user", () => {
    const storage = memory();
    saveRecord(storage, "ann", { id: "s1", endpoint: "https://push.example/a" });
    saveRecord(storage, "bob", { id: "s2", endpoint: "https://push.example/b" });
    expect(loadRecord(storage, "ann")).toEqual({ id: "s1", endpoint: "https://push.example/a" });
    expect(loadRecord(storage, "bob")?.id).toBe("s2");
    expect(loadRecord(storage, "cy")).toBeNull();
  });

  it("move an endpoint to whoever saved it last, as the API does", () => {
    const storage = memory();
    saveRecord(storage, "ann", { id: "s1", endpoint: "https://push.example/a" });
    saveRecord(storage, "bob", { id: "s1", endpoint: "https://push.example/a" });
    expect(loadRecord(storage, "ann")).toBeNull();
    expect(loadRecord(storage, "bob")?.id).toBe("s1");
  });

  it("forget a user's record, and with an endpoint everyone's of it", () => {
    const storage = memory();
    saveRecord(storage, "ann", { id: "s1", endpoint: "https://push.example/a" });
    saveRecord(storage, "bob", { id: "s2", endpoint: "https://push.example/b" });
    forgetRecord(storage, "ann");
    expect(loadRecord(storage, "ann")).toBeNull();
    forgetRecord(storage, "cy", "https://push.example/b");
    expect(loadRecord(storage, "bob")).toBeNull();
    expect(storage.data.has(PUSH_STORE_KEY)).toBe(false);
  });

  it("survive broken or blocked storage", () => {
    expect(loadRecord(memory({ [PUSH_STORE_KEY]: "{not json" }), "ann")).toBeNull();
    expect(loadRecord(memory({ [PUSH_STORE_KEY]: '{"ann": {"id": 3}}' }), "ann")).toBeNull();
    expect(loadRecord(memory({ [PUSH_STORE_KEY]: "[1]" }), "ann")).toBeNull();
    const blocked = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("SecurityError");
      },
      removeItem: () => undefined,
    };
    expect(loadRecord(blocked, "ann")).toBeNull();
    expect(() => saveRecord(blocked, "ann", { id: "s1", endpoint: "e" })).not.toThrow();
    expect(loadRecord(null, "ann")).toBeNull();
  });
});
