import { describe, expect, it, vi } from "vitest";
import { ApiError, type UploadOut } from "../api/client";
import { addStroke, EMPTY_MASK, maskUpload, type MaskCanvas } from "./brush";
import { muralParams, needsMask, retryParams, settingsFromParams, startMural } from "./mural";

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

  /** A canvas that records its size and reads back as painted everywhere. */
  function fakeCanvas(made: string[]) {
    return (width: number, height: number): MaskCanvas => {
      made.push(`${width}x${height}`);
      const noop = () => {};
      return {
        ctx: {
          fillStyle: "",
          strokeStyle: "",
          lineWidth: 1,
          lineCap: "butt",
          lineJoin: "miter",
          globalCompositeOperation: "source-over",
          fillRect: noop,
          beginPath: noop,
          moveTo: noop,
          lineTo: noop,
          arc: noop,
          fill: noop,
          stroke: noop,
          getImageData: (_x, _y, w, h) => ({ data: new Uint8ClampedArray(w * h * 4).fill(255) }),
        },
        toPng: async () => new Blob(["PNGMASK"], { type: "image/png" }),
      };
    };
  }

  it("sends a painted wall's mask after the photo, as a PNG the size of the photo as uploaded", async () => {
    const { api, calls } = fakeApi();
    // The photo as it goes, shrunk on the phone from 4000x3000 to 2048x1536.
    const prepared = { blob: new Blob(["123456"]), type: "image/jpeg", name: "wall.jpg", width: 2048, height: 1536 };
    const painted = addStroke(EMPTY_MASK, { mode: "paint", size: 0.2, points: [{ x: 0.5, y: 0.5 }] });
    const made: string[] = [];
    const mask = await maskUpload(painted, prepared, fakeCanvas(made));
    expect(made).toEqual(["2048x1536"]);
    expect(mask).toMatchObject({ type: "image/png", name: "mask.png" });

    const params = muralParams({ theme: "ocean", prompt: "", region: { mode: "mask" } });
    expect(params.region).toEqual({ mode: "mask" });
    const steps: string[] = [];
    await startMural(api, prepared, params, (step, _id, upload) => steps.push(upload ? `${step} ${upload.index}/${upload.count}` : step), {
      mask,
    });
    expect(calls).toEqual(["create", "slot", "upload", "slot", "upload", "submit"]);
    expect(steps).toEqual(["creating", "uploading 1/2", "uploading 2/2", "submitting"]);
    expect(api.requestUpload).toHaveBeenNthCalledWith(1, "t9", { role: "image", content_type: "image/jpeg", size: 6 });
    expect(api.requestUpload).toHaveBeenNthCalledWith(2, "t9", { role: "mask", content_type: "image/png", size: 7 });
    expect(api.upload).toHaveBeenNthCalledWith(1, slot, prepared.blob, "wall.jpg");
    expect(api.upload).toHaveBeenNthCalledWith(2, slot, mask!.blob, "mask.png");
    expect(api.submit).toHaveBeenCalledWith("t9", { kind: "mural", params: { theme: "ocean", prompt: "", region: { mode: "mask" } } });
  });

  it("sends the mask to a remix's task too", async () => {
    const { api, calls } = fakeApi();
    const mask = { blob: new Blob(["m"]), type: "image/png", name: "mask.png" };
    await startMural(api, { blob: new Blob(["p"]), type: "image/jpeg", name: "p.jpg" }, { region: { mode: "mask" } }, undefined, {
      taskId: "remix-1",
      mask,
    });
    expect(calls).toEqual(["slot", "upload", "slot", "upload", "submit"]);
    expect(api.requestUpload).toHaveBeenLastCalledWith("remix-1", { role: "mask", content_type: "image/png", size: 1 });
  });

  it("refuses a painted wall without its mask, or a mask without one, before making a task", async () => {
    const { api, calls } = fakeApi();
    const photo = { blob: new Blob(["p"]), type: "image/jpeg", name: "p.jpg" };
    await expect(startMural(api, photo, { theme: "ocean", region: { mode: "mask" } })).rejects.toMatchObject({
      code: "mask_required",
    });
    const mask = { blob: new Blob(["m"]), type: "image/png", name: "mask.png" };
    await expect(
      startMural(api, photo, { theme: "ocean", region: { mode: "auto" } }, undefined, { mask }),
    ).rejects.toMatchObject({ code: "mask_unexpected" });
    expect(calls).toEqual([]);
  });

  it("has nothing to send when nothing is painted", async () => {
    const made: string[] = [];
    expect(await maskUpload(EMPTY_MASK, { width: 640, height: 480 }, fakeCanvas(made))).toBeNull();
    expect(made).toEqual([]);
  });

  it("knows which params need a mask", () => {
    expect(needsMask({ region: { mode: "mask" } })).toBe(true);
    expect(needsMask({ region: { mode: "box", box: {} } })).toBe(false);
    expect(needsMask({})).toBe(false);
    expect(needsMask(null)).toBe(false);
  });
});
