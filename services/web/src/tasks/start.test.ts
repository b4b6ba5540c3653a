import { describe, expect, it, vi } from "vitest";
import { ApiError, type UploadOut } from "../api/client";
import { asUpload, startTask, type TaskUpload } from "./start";

const slot = (n: number): UploadOut => ({
  upload_id: `u${n}`,
  key: `k${n}`,
  url: "http://h/v1/storage/upload",
  fields: { key: `k${n}` },
  expires_at: "2030-01-01T00:00:00Z",
  max_bytes: 100,
});

function fakeApi() {
  const calls: string[] = [];
  let slots = 0;
  const api = {
    createTask: vi.fn(async () => {
      calls.push("create");
      return { task_id: "t1", status: "CREATED" as const };
    }),
    requestUpload: vi.fn(async (_id: string, body: { role: string }) => {
      calls.push(`slot ${body.role}`);
      return slot(++slots);
    }),
    upload: vi.fn(async (s: UploadOut, _blob: Blob, name?: string) => {
      calls.push(`upload ${s.upload_id} ${name}`);
    }),
    submit: vi.fn(async () => {
      calls.push("submit");
      return { task_id: "t1", status: "QUEUED" as const };
    }),
  };
  return { api, calls };
}

const file = (name: string, role: TaskUpload["role"] = "image"): TaskUpload => ({
  role,
  blob: new Blob([name]),
  type: "image/jpeg",
  name,
});

describe("starting a task of any kind", () => {
  it("sends a panorama's photos one after the other, in the order given", async () => {
    const { api, calls } = fakeApi();
    const steps: string[] = [];
    const started = await startTask(
      api,
      "panorama",
      [file("left.jpg"), file("middle.jpg"), file("right.jpg")],
      {},
      (step, taskId, upload) => steps.push(upload ? `${step} ${upload.index}/${upload.count}` : `${step} ${taskId ?? ""}`),
    );
    expect(started).toEqual({ taskId: "t1", status: "QUEUED" });
    expect(calls).toEqual([
      "create",
      "slot image",
      "upload u1 left.jpg",
      "slot image",
      "upload u2 middle.jpg",
      "slot image",
      "upload u3 right.jpg",
      "submit",
    ]);
    expect(steps).toEqual(["creating ", "uploading 1/3", "uploading 2/3", "uploading 3/3", "submitting t1"]);
    expect(api.submit).toHaveBeenCalledWith("t1", { kind: "panorama", params: {} });
  });

  it("uses an existing CREATED task (a remix's) instead of creating one", async () => {
    const { api, calls } = fakeApi();
    const started = await startTask(api, "mural", [file("wall.jpg")], { theme: "ocean" }, undefined, {
      taskId: "remix-1",
    });
    expect(api.createTask).not.toHaveBeenCalled();
    expect(calls).toEqual(["slot image", "upload u1 wall.jpg", "submit"]);
    expect(api.requestUpload).toHaveBeenCalledWith("remix-1", expect.objectContaining({ role: "image" }));
    expect(api.submit).toHaveBeenCalledWith("remix-1", { kind: "mural", params: { theme: "ocean" } });
    expect(started.taskId).toBe("remix-1");
  });

  it("asks for a sketch slot of the drawing's type and size", async () => {
    const { api } = fakeApi();
    const doodle = { role: "sketch" as const, blob: new Blob(["PNGDATA"]), type: "image/png", name: "sketch.png" };
    await startTask(api, "sketch", [doodle], { style: "none", prompt: "" });
    expect(api.requestUpload).toHaveBeenCalledWith("t1", { role: "sketch", content_type: "image/png", size: 7 });
    expect(api.submit).toHaveBeenCalledWith("t1", { kind: "sketch", params: { style: "none", prompt: "" } });
  });

  it("stops at the upload that failed and never submits", async () => {
    const { api, calls } = fakeApi();
    api.upload.mockResolvedValueOnce(undefined).mockRejectedValueOnce(new ApiError(413, "upload_too_large", "big"));
    await expect(startTask(api, "panorama", [file("a"), file("b"), file("c")], {})).rejects.toMatchObject({
      code: "upload_too_large",
    });
    expect(calls).toEqual(["create", "slot image", "slot image"]);
    expect(api.submit).not.toHaveBeenCalled();
  });

  it("turns a prepared photo into an upload of a role", () => {
    const blob = new Blob(["x"]);
    expect(asUpload({ blob, type: "image/webp", name: "p.webp" }, "image")).toEqual({
      role: "image",
      blob,
      type: "image/webp",
      name: "p.webp",
    });
  });
});
