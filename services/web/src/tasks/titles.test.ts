import { describe, expect, it } from "vitest";
import { translator } from "../i18n";
import { createTaskNotes, NOTES_KEY } from "./notes";
import { taskTitle } from "./titles";

describe("task titles", () => {
  const en = translator("en");
  const ko = translator("ko");

  it("names each kind", () => {
    expect(taskTitle(en, { kind: "mural", params: { theme: "ocean" } })).toBe("Ocean mural");
    expect(taskTitle(en, { kind: "mural", params: {} })).toBe("Your mural");
    expect(taskTitle(en, { kind: "sketch", params: { style: "anime" } })).toBe("Sketch picture");
    expect(taskTitle(en, { kind: "filter", params: { filter: "pencil_gray" } })).toBe("Pencil sketch filter");
    expect(taskTitle(en, { kind: "filter", params: { filter: "oil_painting" } })).toBe("Oil painting filter");
    expect(taskTitle(en, { kind: "filter", params: {} })).toBe("Photo filter");
    expect(taskTitle(en, { kind: "panorama", params: {} }, { photos: 3 })).toBe("Panorama of 3 photos");
    expect(taskTitle(en, { kind: "panorama", params: {} })).toBe("Panorama");
    expect(taskTitle(ko, { kind: "filter", params: { filter: "cartoon" } })).toBe("카툰 필터");
    expect(taskTitle(ko, { kind: "panorama", params: null }, { photos: 4 })).toBe("사진 4장 파노라마");
  });

  it("falls back for what a newer server sends", () => {
    expect(taskTitle(en, { kind: "filter", params: { filter: "watercolour" } })).toBe("watercolour filter");
    expect(taskTitle(en, { kind: "paint_plan", params: {} })).toBe("paint_plan");
    expect(taskTitle(en, { kind: null, params: { theme: "space" } })).toBe("Space mural");
    expect(taskTitle(en, { kind: null, params: null })).toBeNull();
  });
});

describe("task notes", () => {
  function memory() {
    const data = new Map<string, string>();
    return {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
      removeItem: (k: string) => void data.delete(k),
      data,
    };
  }

  it("remembers a panorama's photo count across a reload, a limited number of tasks", () => {
    const store = memory();
    const notes = createTaskNotes(store, 2);
    notes.put("a", { photos: 3 });
    notes.put("b", { photos: 4 });
    expect(createTaskNotes(store).get("a")).toEqual({ photos: 3 });
    notes.put("c", { photos: 5 });
    const reloaded = createTaskNotes(store);
    expect(reloaded.get("a")).toBeUndefined();
    expect(reloaded.get("c")).toEqual({ photos: 5 });
    notes.clear();
    expect(store.data.has(NOTES_KEY)).toBe(false);
    expect(notes.get("b")).toBeUndefined();
  });

  it("survives broken or missing storage", () => {
    const store = memory();
    store.setItem(NOTES_KEY, "{not json");
    expect(createTaskNotes(store).get("x")).toBeUndefined();
    const none = createTaskNotes(null);
    none.put("x", { photos: 2 });
    expect(none.get("x")).toEqual({ photos: 2 });
  });
});
