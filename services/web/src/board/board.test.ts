import { describe, expect, it } from "vitest";
import { fromAnswer, toggled } from "./like";
import { addPage, canLoadMore, emptyPaged, pageFailed, startLoading } from "./paging";
import { remixDraft } from "./remix";

const key = (p: { id: string }) => p.id;

describe("board paging", () => {
  it("appends pages in order, drops repeats, and ends without a next cursor", () => {
    let state = emptyPaged<{ id: string }>();
    expect(canLoadMore(state)).toBe(true);
    state = startLoading(state);
    expect(canLoadMore(state)).toBe(false);
    state = addPage(state, { items: [{ id: "a" }, { id: "b" }], next_cursor: "c1" }, key);
    expect(state).toEqual({ items: [{ id: "a" }, { id: "b" }], cursor: "c1", done: false, loading: false });
    state = addPage(startLoading(state), { items: [{ id: "b" }, { id: "c" }], next_cursor: null }, key);
    expect(state.items.map(key)).toEqual(["a", "b", "c"]);
    expect(state.done).toBe(true);
    expect(canLoadMore(state)).toBe(false);
  });

  it("keeps what is shown when a page fails, and lets it be asked again", () => {
    const state = addPage(emptyPaged<{ id: string }>(), { items: [{ id: "a" }], next_cursor: "c1" }, key);
    const failed = pageFailed(startLoading(state));
    expect(failed.items).toHaveLength(1);
    expect(canLoadMore(failed)).toBe(true);
  });

  it("stops when a page repeats the same cursor with nothing new", () => {
    const state = addPage(emptyPaged<{ id: string }>(), { items: [{ id: "a" }], next_cursor: "c1" }, key);
    expect(addPage(state, { items: [{ id: "a" }], next_cursor: "c1" }, key).done).toBe(true);
  });
});

describe("likes", () => {
  it("toggles at once and never counts below zero", () => {
    expect(toggled({ liked: false, count: 2 })).toEqual({ liked: true, count: 3 });
    expect(toggled({ liked: true, count: 3 })).toEqual({ liked: false, count: 2 });
    expect(toggled({ liked: true, count: 0 })).toEqual({ liked: false, count: 0 });
  });

  it("takes the API's answer as the truth", () => {
    expect(fromAnswer({ liked: true, like_count: 7 })).toEqual({ liked: true, count: 7 });
  });
});

describe("remix prefill", () => {
  it("maps a mural remix to the form's settings and the task to submit to", () => {
    const region = { mode: "box", box: { x: 0.1, y: 0.2, w: 0.5, h: 0.5 } };
    expect(
      remixDraft({
        task_id: "t9",
        kind: "mural",
        params: { theme: "ocean", prompt: "whales", region, steps: 25 },
      }),
    ).toEqual({ taskId: "t9", theme: "ocean", prompt: "whales", region });
  });

  it("keeps a seed when the API kept one, and refuses kinds the mural form cannot take", () => {
    expect(remixDraft({ task_id: "t", kind: "mural", params: { theme: "forest", seed: 5 } })).toEqual({
      taskId: "t",
      theme: "forest",
      seed: 5,
    });
    expect(remixDraft({ task_id: "t", kind: "sketch", params: { style: "x" } })).toBeNull();
  });
});
