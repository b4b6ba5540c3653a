import { describe, expect, it, vi } from "vitest";
import type { Timers } from "../tasks/taskStream";
import { FRAMES_INTERVAL_MS, LANDMARKS_INTERVAL_MS, startCoachLoop } from "./coach";
import type { PoseDetector } from "./inBrowserPose";
import { LANDMARK_COUNT, type Landmark } from "./landmarks";
import { initialPostureState, type PostureStreamState } from "./postureStream";

class ManualTimers implements Timers {
  queue: { fn: () => void; ms: number; id: number }[] = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.queue.push({ fn, ms, id });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.queue = this.queue.filter((t) => t.id !== handle);
  }
  /** Runs the next timer and lets the tick's promises settle. */
  async step() {
    const due = this.queue.shift();
    due?.fn();
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return due?.ms;
  }
}

const camera = { videoWidth: 640, videoHeight: 480 } as unknown as HTMLVideoElement;
const person: Landmark[] = Array.from({ length: LANDMARK_COUNT }, () => ({ x: 0.5, y: 0.5, visibility: 1 }));

function fakeStream(change: Partial<PostureStreamState> = {}) {
  let state: PostureStreamState = { ...initialPostureState(), connection: "open", ...change };
  return {
    set: (next: Partial<PostureStreamState>) => (state = { ...state, ...next }),
    getState: () => state,
    sendLandmarks: vi.fn(() => true),
    sendFrame: vi.fn(() => true),
  };
}

describe("startCoachLoop", () => {
  it("sends the device's landmarks, never a frame, about ten times a second", async () => {
    const timers = new ManualTimers();
    const stream = fakeStream();
    const detector: PoseDetector = { detect: vi.fn(async () => person), close: vi.fn() };
    const grabFrame = vi.fn(async () => new Blob(["jpeg"]));
    const seen: (Landmark[] | null)[] = [];
    const loop = startCoachLoop({ stream, camera, detector, grabFrame, timers, now: () => 0, onLandmarks: (l) => seen.push(l) });
    expect(loop.mode()).toBe("device");
    await timers.step();
    await timers.step();
    expect(stream.sendLandmarks).toHaveBeenCalledTimes(2);
    expect(stream.sendLandmarks.mock.calls.map((call) => (call as unknown as [{ frame_id: number }])[0].frame_id)).toEqual([1, 2]);
    expect(grabFrame).not.toHaveBeenCalled();
    expect(stream.sendFrame).not.toHaveBeenCalled();
    expect(seen).toEqual([person, person]);
    expect(timers.queue[0]?.ms).toBe(LANDMARKS_INTERVAL_MS);
    loop.stop();
    expect(timers.queue).toHaveLength(0);
    expect(detector.close).not.toHaveBeenCalled(); // the caller's, kept for the next start
  });

  it("looks at nothing while the session is paused or not open", async () => {
    const timers = new ManualTimers();
    const stream = fakeStream({ paused: true });
    const detector: PoseDetector = { detect: vi.fn(async () => person), close: vi.fn() };
    startCoachLoop({ stream, camera, detector, grabFrame: async () => null, timers, now: () => 0 });
    await timers.step();
    stream.set({ paused: false, connection: "waiting" });
    await timers.step();
    expect(detector.detect).not.toHaveBeenCalled();
    stream.set({ connection: "open" });
    await timers.step();
    expect(detector.detect).toHaveBeenCalledTimes(1);
  });

  it("without the model sends a frame only once the last one's result came back", async () => {
    const timers = new ManualTimers();
    const stream = fakeStream();
    const frame = new Blob(["jpeg"]);
    const loop = startCoachLoop({ stream, camera, detector: null, grabFrame: async () => frame, timers, now: () => 0 });
    expect(loop.mode()).toBe("server");
    await timers.step();
    expect(stream.sendFrame).toHaveBeenCalledWith(frame);
    stream.set({ framesInFlight: 1 });
    await timers.step();
    await timers.step();
    expect(stream.sendFrame).toHaveBeenCalledTimes(1);
    stream.set({ framesInFlight: 0 });
    await timers.step();
    expect(stream.sendFrame).toHaveBeenCalledTimes(2);
    expect(timers.queue[0]?.ms).toBe(FRAMES_INTERVAL_MS);
  });

  it("hands over to frames when the model fails", async () => {
    const timers = new ManualTimers();
    const stream = fakeStream();
    const detector: PoseDetector = { detect: vi.fn(async () => Promise.reject(new Error("context lost"))), close: vi.fn() };
    const onFallback = vi.fn();
    const loop = startCoachLoop({ stream, camera, detector, grabFrame: async () => new Blob(["x"]), timers, now: () => 0, onFallback });
    await timers.step();
    expect(onFallback).toHaveBeenCalledTimes(1);
    expect(detector.close).toHaveBeenCalled();
    expect(loop.mode()).toBe("server");
    await timers.step();
    expect(stream.sendFrame).toHaveBeenCalledTimes(1);
  });

  it("subtracts the time a look took from the wait before the next", async () => {
    const timers = new ManualTimers();
    let clock = 0;
    const detector: PoseDetector = {
      detect: async () => {
        clock += 60;
        return person;
      },
      close: () => {},
    };
    startCoachLoop({ stream: fakeStream(), camera, detector, grabFrame: async () => null, timers, now: () => clock });
    await timers.step();
    expect(timers.queue[0]?.ms).toBe(LANDMARKS_INTERVAL_MS - 60);
  });
});
