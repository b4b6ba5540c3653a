import { beforeEach, describe, expect, it } from "vitest";
import type { Timers } from "../tasks/taskStream";
import { landmarksMessage } from "./landmarks";
import {
  applyMessage,
  initialPostureState,
  openPostureStream,
  postureUrl,
  type PostureSocketLike,
  type PostureStreamState,
} from "./postureStream";

class FakeSocket implements PostureSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  sent: unknown[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: PostureSocketLike["onopen"] = null;
  onmessage: PostureSocketLike["onmessage"] = null;
  onclose: PostureSocketLike["onclose"] = null;
  onerror: PostureSocketLike["onerror"] = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string | ArrayBuffer | Blob) {
    if (this.readyState !== 1) throw new Error("send before open");
    this.sent.push(typeof data === "string" ? JSON.parse(data) : data);
  }
  close(code?: number, reason?: string) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

class FakeTimers implements Timers {
  pending = new Map<number, { fn: () => void; ms: number }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.pending.delete(handle as number);
  }
  runAll() {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const { fn } of due) fn();
  }
}

const READY = {
  type: "ready",
  session_id: "s-1",
  setup: "default",
  calibrated: false,
  calibration_s: 15,
  limits: { max_frame_bytes: 1000, max_frame_side: 4096, max_messages_per_s: 30 },
};
const result = (extra: object = {}) => ({ type: "result", state: "uncalibrated", score: null, source: "landmarks", ...extra });

describe("applyMessage", () => {
  const open = () => applyMessage(initialPostureState(), READY);

  it("takes the session, the limits and whether a baseline exists from `ready`", () => {
    const state = open();
    expect(state.connection).toBe("open");
    expect(state.sessionId).toBe("s-1");
    expect(state.limits).toEqual({ maxFrameBytes: 1000, maxFrameSide: 4096, maxMessagesPerS: 30 });
    expect(state.calibration.durationS).toBe(15);
    expect(state.calibrated).toBe(false);
  });

  it("walks the calibration: started, progress from results, completed and stored", () => {
    let state = applyMessage(open(), { type: "calibration", status: "started", duration_s: 15 });
    expect(state.calibration.status).toBe("running");
    state = applyMessage(state, result({ calibration: { fraction: 0.4, samples: 6, min_samples: 10, duration_s: 15 } }));
    expect(state.calibration).toMatchObject({ fraction: 0.4, samples: 6, minSamples: 10 });
    state = applyMessage(state, { type: "calibration", status: "completed", stored: true });
    expect(state.calibration).toMatchObject({ status: "completed", fraction: 1, stored: true });
    expect(state.calibrated).toBe(true);
    state = applyMessage(state, result({ state: "good", score: 0.05 }));
    expect(state.result).toEqual({ state: "good", score: 0.05, reason: null, source: "landmarks" });
  });

  it("keeps why a calibration failed, and a cancel goes back to the start", () => {
    let state = applyMessage(open(), { type: "calibration", status: "started" });
    state = applyMessage(state, { type: "calibration", status: "failed", reason: "too_much_movement" });
    expect(state.calibration).toMatchObject({ status: "failed", reason: "too_much_movement" });
    state = applyMessage(state, { type: "calibration", status: "started" });
    state = applyMessage(state, { type: "calibration", status: "cancelled" });
    expect(state.calibration.status).toBe("idle");
  });

  it("ignores calibration progress when no calibration runs here", () => {
    const state = applyMessage(open(), result({ calibration: { fraction: 0.9 } }));
    expect(state.calibration.status).toBe("idle");
    expect(state.calibration.fraction).toBe(0);
  });

  it("counts alerts and keeps the latest", () => {
    const alert = { type: "alert", level: 2, state: "forward_head", message: "Sit back.", t: 1700000000, bad_for_s: 12 };
    let state = applyMessage(open(), alert);
    state = applyMessage(state, { ...alert, level: 3 });
    expect(state.alerts).toBe(2);
    expect(state.alert).toEqual({ level: 3, state: "forward_head", message: "Sit back.", t: 1700000000, badForS: 12 });
  });

  it("follows pause, resume and settings", () => {
    let state = applyMessage(open(), { type: "status", state: "paused" });
    expect(state.paused).toBe(true);
    state = applyMessage(state, { type: "status", state: "resumed" });
    expect(state.paused).toBe(false);
    state = applyMessage(state, { type: "settings", sensitivity: 0.8, setup: "desk", calibrated: true });
    expect(state).toMatchObject({ sensitivity: 0.8, setup: "desk", calibrated: true });
  });

  it("frees a frame's place on its result or its refusal, not on landmark results", () => {
    let state: PostureStreamState = { ...open(), framesInFlight: 2 };
    state = applyMessage(state, result({ source: "frame" }));
    expect(state.framesInFlight).toBe(1);
    state = applyMessage(state, result({ source: "landmarks" }));
    expect(state.framesInFlight).toBe(1);
    state = applyMessage(state, { type: "error", frame: 3, error: { code: "frame_too_large", message: "big" } });
    expect(state.framesInFlight).toBe(0);
    expect(state.error?.code).toBe("frame_too_large");
  });

  it("changes nothing for unknown messages or states (a newer server)", () => {
    const state = open();
    expect(applyMessage(state, { type: "hologram" })).toBe(state);
    expect(applyMessage(state, { type: "result", state: "levitating" })).toBe(state);
  });
});

describe("openPostureStream", () => {
  let timers: FakeTimers;
  beforeEach(() => {
    FakeSocket.all = [];
    timers = new FakeTimers();
  });
  const start = () =>
    openPostureStream({
      getToken: () => "tok",
      origin: "ws://example.test",
      WebSocket: FakeSocket,
      timers,
      backoff: { baseMs: 100, maxMs: 1000, random: () => 0 },
    });

  it("authenticates with the first frame, then sends landmarks and binary frames", () => {
    const stream = start();
    const socket = FakeSocket.all[0]!;
    expect(socket.url).toBe(postureUrl("ws://example.test"));
    expect(socket.binaryType).toBe("arraybuffer");
    expect(stream.sendLandmarks(landmarksMessage(1, null, 10, 10)!)).toBe(false); // not open yet
    socket.open();
    expect(socket.sent).toEqual([{ type: "auth", token: "tok" }]);
    socket.message(READY);
    expect(stream.sendLandmarks(landmarksMessage(1, null, 10, 10)!)).toBe(true);
    const frame = new ArrayBuffer(8);
    expect(stream.sendFrame(frame)).toBe(true);
    expect(stream.getState().framesInFlight).toBe(1);
    expect(socket.sent.at(-1)).toBe(frame);
    stream.calibrate("start");
    expect(socket.sent.at(-1)).toEqual({ type: "calibrate", action: "start" });
  });

  it("reconnects after a drop and sends the person's sensitivity and pause again", () => {
    const stream = start();
    let socket = FakeSocket.all[0]!;
    socket.open();
    socket.message(READY);
    stream.setSensitivity(0.7);
    stream.pause();
    stream.calibrate("start");
    socket.message({ type: "calibration", status: "started" });
    socket.drop();
    expect(stream.getState().connection).toBe("waiting");
    expect(stream.getState().calibration).toMatchObject({ status: "failed", reason: "interrupted" });
    expect([...timers.pending.values()][0]?.ms).toBe(100);
    timers.runAll();
    socket = FakeSocket.all[1]!;
    socket.open();
    socket.message(READY);
    expect(socket.sent).toEqual([
      { type: "auth", token: "tok" },
      { type: "settings", sensitivity: 0.7 },
      { type: "pause" },
    ]);
    expect(stream.getState().retries).toBe(0);
  });

  it("stops for good on a 1008 close and says why", () => {
    const stream = start();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.drop(1008, "token_expired");
    expect(stream.getState()).toMatchObject({ connection: "closed", finished: true });
    expect(stream.getState().error?.code).toBe("token_expired");
    expect(timers.pending.size).toBe(0);
  });

  it("closes the socket and cancels a pending reconnect when closed", () => {
    const stream = start();
    FakeSocket.all[0]!.drop();
    stream.close();
    expect(timers.pending.size).toBe(0);
    expect(stream.getState().connection).toBe("closed");
  });
});
