import { describe, expect, it } from "vitest";
import type { TaskOut } from "../api/client";
import type { TaskStreamState } from "./taskStream";
import { displayOf, taskView, thumbnailOf } from "./view";

const task = (more: Partial<TaskOut> = {}): TaskOut => ({
  task_id: "t1",
  status: "QUEUED",
  kind: "mural",
  params: { theme: "ocean" },
  seq: 2,
  progress: 0,
  stage: null,
  step: null,
  total_steps: null,
  eta_s: 30,
  attempt: 0,
  created_at: "2030-01-01T00:00:00Z",
  submitted_at: null,
  started_at: null,
  finished_at: null,
  ...more,
});

const live = (more: Partial<TaskStreamState>): TaskStreamState => ({
  taskId: "t1",
  connection: "open",
  seq: -1,
  task: null,
  queuePosition: null,
  preview: null,
  error: null,
  retries: 0,
  finished: false,
  ...more,
});

const frame = (status: TaskOut["status"], more: object = {}) => ({
  status,
  progress: 0,
  stage: null,
  step: null,
  total_steps: null,
  eta_s: null,
  attempt: 0,
  error: null,
  results: null,
  ...more,
});

describe("task view", () => {
  it("shows the fetched task until the stream has something newer", () => {
    expect(taskView(task(), null)).toMatchObject({ status: "QUEUED", etaS: 30, queuePosition: null });
    const ahead = live({ seq: 5, task: frame("INPROGRESS", { progress: 0.5, stage: "denoise" }) });
    expect(taskView(task(), ahead)).toMatchObject({ status: "INPROGRESS", progress: 0.5, stage: "denoise" });
  });

  it("takes the queue place and ETA from the stream's snapshot of the same seq", () => {
    const same = live({ seq: 2, task: frame("QUEUED", { eta_s: 12 }), queuePosition: 3 });
    expect(taskView(task(), same)).toMatchObject({ status: "QUEUED", etaS: 12, queuePosition: 3 });
  });

  it("prefers the fetched results on a tie (fresh download URLs)", () => {
    const fetched = task({
      status: "COMPLETED",
      seq: 9,
      results: [{ url: "new", content_type: "image/png", width: 1, height: 1 }],
    });
    const stale = live({
      seq: 9,
      task: frame("COMPLETED", { results: [{ url: "old", content_type: "image/png", width: 1, height: 1 }] }),
    });
    expect(taskView(fetched, stale).results[0]!.url).toBe("new");
  });

  it("shows the preview only while painting", () => {
    const preview = { step: 1, total_steps: 2, width: 1, height: 1, image: "data:," };
    expect(taskView(task(), live({ seq: 3, task: frame("INPROGRESS"), preview })).preview).toBe(preview);
    expect(taskView(task(), live({ seq: 3, task: frame("FAILED"), preview })).preview).toBeNull();
  });

  it("picks the display rendition, and the thumbnail for lists, falling back to the original", () => {
    const plain = { url: "o", content_type: "image/png", width: 4000, height: 3000 };
    expect(displayOf(plain)).toEqual({ url: "o", width: 4000, height: 3000 });
    const sized = {
      ...plain,
      display: { url: "d", content_type: "image/webp", width: 2048, height: 1536 },
      thumbnail: { url: "th", content_type: "image/webp", width: 512, height: 384 },
    };
    expect(displayOf(sized).url).toBe("d");
    expect(thumbnailOf(sized)?.url).toBe("th");
    expect(thumbnailOf({ ...sized, thumbnail: null })?.url).toBe("d");
    expect(thumbnailOf(undefined)).toBeNull();
  });
});
