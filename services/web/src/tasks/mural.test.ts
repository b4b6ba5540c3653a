import { describe, expect, it, vi } from "vitest";
import { ApiError, type UploadOut } from "../api/client";
import { muralParams, retryParams, settingsFromParams, startMural } from "./mural";

describe("mural params", () => {
  it("trims the wish and leaves the seed out unless one is given", () => {
    expect(muralParams({ theme: "ocean", prompt: "  whales  ", region: { mode: "auto" } })).toEqual({
      theme: "ocean",
      prompt: "whales",
      region: { mode: "auto" },
    });
    expect(
      muralParams({ theme: "space", prompt: "", region: { mode: "auto" }, seed: 42 }),
    ).toMatchObject({ seed: 42 });
  });

  it("cuts a wish to the API's 500 characters", () => {
    const params = muralParams({ theme: "custom", prompt: "a".repeat(600), region: { mode: "auto" } });
    expect((params.prompt as string).length).toBe(500);
  });

  it("tries again with the same settings and a new seed", () => {
    const params = { theme: "ocean", prompt: "whales", region: { mode: "auto" }, seed: 7, steps: 30 };
    expect(retryParams(params, () => 99)).toEqual({ ...params, seed: 99 });
    const seeds = [7, 7, 8];
    expect(retryParams(params, () => seeds.shift()!).seed).toBe(8);
    expect(retryParams({ theme: "ocean" }, () => 0)).toEqual({ theme: "ocean", seed: 0 });
  });

  it("never repeats the old seed, even with a stuck generator", () => {
    expect(retryParams({ seed: 5 }, () => 5).seed).toBe(6);
    expect(retryParams({ seed: 2 ** 32 - 1 }, () => 2 ** 32 - 1).seed).toBe(0);
  });

  it("reads the form's settings back from a task's params", () => {
    expect(
      settingsFromParams({ theme: "play", prompt: "kites", region: { mode: "auto" }, seed: 3 }),
    ).toEqual({ theme: "play", prompt: "kites", region: { mode: "auto" } });
    expect(settingsFromParams(null)).toEqual({});
  });
});

describe("starting a mural", () => {
  const slot: UploadOut = {
    upload_id: "u1",
    key: "k",
    url: "http://h/v1/storage/upload",
    fields: { key: "k" },
    expires_at: "2030-01-01T00:00:00Z",
    max_bytes: 100,
  };

  function fakeApi() {
    const calls: string[] = [];
    const api = {
      createTask: vi.fn(async () => {
        calls.push("create");
        return { task_id: "t9", status: "CREATED" as const };
      }),
      requestUpload: vi.fn(async () => {
        calls.push("slot");
        return slot;
      }),
      upload: vi.fn(async () => {
        calls.push("upload");
      }),
      submit: vi.fn(async () => {
        calls.push("submit");
        return { task_id: "t9", status: "QUEUED" as const };
      }),
    };
    return { api, calls };
  }

  it("creates the task, asks for a slot of the photo's type and size, uploads, then submits", async () => {
    const { api, calls } = fakeApi();
    const steps: string[] = [];
    const photo = { blob: new Blob(["12345"]), type: "image/jpeg", name: "wall.jpg" };
    const params = { theme: "ocean", prompt: "", region: { mode: "auto" } };
    const started = await startMural(api, photo, params, (step) => steps.push(step));
    expect(started).toEqual({ taskId: "t9", status: "QUEUED" });
    expect(calls).toEqual(["create", "slot", "upload", "submit"]);
    expect(steps).toEqual(["creating", "uploading", "submitting"]);
    expect(api.requestUpload).toHaveBeenCalledWith("t9", {
      role: "image",
      content_type: "image/jpeg",
      size: 5,
    });
    expect(api.upload).toHaveBeenCalledWith(slot, photo.blob, "wall.jpg");
    expect(api.submit).toHaveBeenCalledWith("t9", { kind: "mural", params });
  });

  it("stops at the step that failed", async () => {
    const { api, calls } = fakeApi();
    api.upload.mockRejectedValueOnce(new ApiError(403, "upload_expired", "expired"));
    await expect(
      startMural(api, { blob: new Blob(["1"]), type: "image/png", name: "a.png" }, {}),
    ).rejects.toMatchObject({ code: "upload_expired" });
    expect(calls).toEqual(["create", "slot"]);
    expect(api.submit).not.toHaveBeenCalled();
  });
});
