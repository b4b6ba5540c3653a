import { beforeEach, describe, expect, it } from "vitest";
import {
  backoffDelay,
  closeError,
  eventsUrl,
  openTaskStream,
  pageSocketOrigin,
  type SocketLike,
  type TaskStreamOptions,
  type TaskStreamState,
  type Timers,
} from "./taskStream";

// -- a fake WebSocket and fake timers the tests drive by hand ------------------------------

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    if (this.readyState !== 1) throw new Error("send before open");
    this.sent.push(JSON.parse(data));
  }
  close(code?: number, reason?: string) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  // what the server does
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
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
  /** Runs every pending timer once; returns their delays. */
  fire(): number[] {
    const due = [...this.pending.values()];
    this.pending.clear();
    due.forEach((t) => t.fn());
    return due.map((t) => t.ms);
  }
}

let timers: FakeTimers;
const latest = () => FakeSocket.all[FakeSocket.all.length - 1]!;

function start(extra: Partial<TaskStreamOptions> = {}) {
  const stream = openTaskStream({
    taskId: "t1",
    getToken: () => "tok",
    origin: "wss://saekdam.test",
    WebSocket: FakeSocket,
    timers,
    backoff: { baseMs: 100, maxMs: 1000, random: () => 0 },
    ...extra,
  });
  const states: TaskStreamState[] = [];
  stream.subscribe((s) => states.push(s));
  return { stream, states };
}

const snapshot = (seq: number, status: string, more: object = {}) => ({
  type: "snapshot",
  task_id: "t1",
  seq,
  status,
  progress: 0,
  ...more,
});

beforeEach(() => {
  FakeSocket.all = [];
  timers = new FakeTimers();
});

describe("task stream", () => {
  it("connects to the task's events and sends the auth frame before anything else", () => {
    const { stream } = start();
    expect(latest().url).toBe("wss://saekdam.test/v1/tasks/t1/events");
    latest().open();
    expect(latest().sent).toEqual([{ type: "auth", token: "tok" }]);
    expect(stream.getState().connection).toBe("open");
  });

  it("applies state frames in seq order and drops any frame whose seq is not above the last", () => {
    const { stream } = start();
    latest().open();
    latest().frame(snapshot(3, "INPROGRESS", { progress: 0.2, stage: "denoise", step: 5 }));
    latest().frame({ type: "progress", task_id: "t1", seq: 5, status: "INPROGRESS", progress: 0.5 });
    latest().frame({ type: "progress", task_id: "t1", seq: 4, status: "INPROGRESS", progress: 0.4 });
    latest().frame({ type: "progress", task_id: "t1", seq: 5, status: "INPROGRESS", progress: 0.45 });
    const state = stream.getState();
    expect(state.seq).toBe(5);
    expect(state.task?.progress).toBe(0.5);
    // a frame is the whole task: a field it leaves out is null
    expect(state.task?.stage).toBeNull();
    expect(state.task?.step).toBeNull();
  });

  it("reconnects after a drop with growing, capped delays and takes the new snapshot, seq going on", () => {
    const { stream } = start();
    latest().open();
    latest().frame(snapshot(2, "INPROGRESS", { progress: 0.1 }));
    latest().drop(1006);
    expect(stream.getState().connection).toBe("waiting");
    expect(timers.fire()).toEqual([100]);
    expect(FakeSocket.all).toHaveLength(2);
    // the server is down for a while: each failed try waits longer, up to the cap
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      latest().drop(1006);
      delays.push(...timers.fire());
    }
    expect(delays).toEqual([200, 400, 800, 1000, 1000, 1000]);
    // back: auth again, a new snapshot with the seq the task has now
    latest().open();
    expect(latest().sent).toEqual([{ type: "auth", token: "tok" }]);
    latest().frame(snapshot(9, "INPROGRESS", { progress: 0.7 }));
    expect(stream.getState()).toMatchObject({ seq: 9, retries: 0, connection: "open" });
    expect(stream.getState().task?.progress).toBe(0.7);
    // and after a frame the backoff starts over
    latest().drop(1013, "client fell behind; reconnect for a snapshot");
    expect(timers.fire()).toEqual([100]);
  });

  it("keeps its state when the snapshot after a reconnect has the same seq", () => {
    const { stream } = start();
    latest().open();
    latest().frame(snapshot(4, "INPROGRESS", { progress: 0.3, stage: "denoise" }));
    latest().drop();
    timers.fire();
    latest().open();
    latest().frame(snapshot(4, "INPROGRESS", { progress: 0.3, stage: "denoise" }));
    expect(stream.getState()).toMatchObject({ seq: 4, retries: 0 });
    expect(stream.getState().task?.stage).toBe("denoise");
  });

  it("stops on a terminal status: closes, never reconnects, keeps the results", () => {
    const { stream, states } = start();
    latest().open();
    latest().frame(snapshot(1, "INPROGRESS"));
    const results = [{ url: "https://s/o.png", content_type: "image/png", width: 8, height: 8 }];
    latest().frame({ type: "status", task_id: "t1", seq: 2, status: "COMPLETED", progress: 1, results });
    expect(stream.getState()).toMatchObject({ finished: true, connection: "closed" });
    expect(stream.getState().task?.results).toEqual(results);
    expect(latest().closedWith?.code).toBe(1000);
    // the server's own close after the final frame changes nothing
    latest().drop(1000, "task finished");
    expect(timers.pending.size).toBe(0);
    expect(FakeSocket.all).toHaveLength(1);
    expect(states.at(-1)?.finished).toBe(true);
  });

  it.each(["FAILED", "CANCELLED"])("stops on %s too", (status) => {
    const { stream } = start();
    latest().open();
    latest().frame(
      snapshot(7, status, status === "FAILED" ? { error: { code: "no_wall_found", message: "x" } } : {}),
    );
    expect(stream.getState().finished).toBe(true);
    expect(timers.pending.size).toBe(0);
    if (status === "FAILED") expect(stream.getState().task?.error?.code).toBe("no_wall_found");
  });

  it("does not reconnect after a 1008 and says why", () => {
    const { stream } = start();
    latest().open();
    latest().drop(1008, "token_expired");
    expect(stream.getState()).toMatchObject({
      finished: true,
      connection: "closed",
      error: { code: "token_expired" },
    });
    expect(timers.pending.size).toBe(0);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("names a 1008's plain reasons", () => {
    expect(closeError("task not found").code).toBe("task_not_found");
    expect(closeError("authentication required").code).toBe("stream_unauthorized");
    expect(closeError("origin not allowed").code).toBe("stream_unauthorized");
    expect(closeError("").code).toBe("stream_unauthorized");
  });

  it("shows the queue position and ETA from QUEUED frames and queue frames, which have no seq", () => {
    const { stream } = start();
    latest().open();
    latest().frame(snapshot(2, "QUEUED", { queue_position: 4, eta_s: 80 }));
    expect(stream.getState()).toMatchObject({ queuePosition: 4 });
    expect(stream.getState().task?.eta_s).toBe(80);
    latest().frame({ type: "queue", task_id: "t1", queue_position: 2, eta_s: 40 });
    expect(stream.getState()).toMatchObject({ queuePosition: 2, seq: 2 });
    expect(stream.getState().task?.eta_s).toBe(40);
    // started: the place in the queue is gone, and a late queue frame is ignored
    latest().frame({ type: "status", task_id: "t1", seq: 3, status: "INPROGRESS", progress: 0, eta_s: 10 });
    latest().frame({ type: "queue", task_id: "t1", queue_position: 1, eta_s: 5 });
    expect(stream.getState()).toMatchObject({ queuePosition: null, seq: 3 });
    expect(stream.getState().task?.eta_s).toBe(10);
  });

  it("takes the queue place from a same-seq snapshot after a reconnect", () => {
    const { stream } = start();
    latest().open();
    latest().frame(snapshot(2, "QUEUED", { queue_position: 5, eta_s: 100 }));
    latest().drop();
    timers.fire();
    latest().open();
    latest().frame(snapshot(2, "QUEUED", { queue_position: 3, eta_s: 60 }));
    expect(stream.getState()).toMatchObject({ seq: 2, queuePosition: 3 });
    expect(stream.getState().task?.eta_s).toBe(60);
  });

  it("asks for previews after auth when opted in, and again after a reconnect", () => {
    start({ previews: { max_side: 256, every_s: 0.5 } });
    latest().open();
    expect(latest().sent).toEqual([
      { type: "auth", token: "tok" },
      { type: "options", previews: { max_side: 256, every_s: 0.5 } },
    ]);
    latest().drop();
    timers.fire();
    latest().open();
    expect(latest().sent[1]).toEqual({ type: "options", previews: { max_side: 256, every_s: 0.5 } });
  });

  it("shows preview frames, which have no seq and leave the task alone, only while opted in", () => {
    const { stream } = start();
    latest().open();
    latest().frame(snapshot(3, "INPROGRESS", { progress: 0.3 }));
    const preview = {
      type: "preview",
      task_id: "t1",
      step: 6,
      total_steps: 30,
      width: 256,
      height: 192,
      image: "data:image/jpeg;base64,AAAA",
    };
    latest().frame(preview);
    expect(stream.getState().preview).toBeNull(); // not asked for

    stream.setPreviews({ max_side: 256, every_s: 0.5 });
    expect(latest().sent.at(-1)).toEqual({ type: "options", previews: { max_side: 256, every_s: 0.5 } });
    latest().frame({ type: "options", previews: { max_side: 256, every_s: 0.5 } }); // the ack
    latest().frame(preview);
    expect(stream.getState().preview).toMatchObject({ step: 6, width: 256, image: preview.image });
    expect(stream.getState()).toMatchObject({ seq: 3 });
    expect(stream.getState().task?.progress).toBe(0.3);

    stream.setPreviews(null);
    expect(latest().sent.at(-1)).toEqual({ type: "options", previews: null });
    expect(stream.getState().preview).toBeNull();
  });

  it("drops the preview when the task is done", () => {
    const { stream } = start({ previews: { max_side: 128, every_s: 1 } });
    latest().open();
    latest().frame(snapshot(1, "INPROGRESS"));
    latest().frame({ type: "preview", task_id: "t1", step: 1, total_steps: 2, width: 1, height: 1, image: "data:," });
    expect(stream.getState().preview).not.toBeNull();
    latest().frame({ type: "status", task_id: "t1", seq: 2, status: "COMPLETED", progress: 1, results: [] });
    expect(stream.getState().preview).toBeNull();
  });

  it("keeps a server error frame as a notice without stopping", () => {
    const { stream } = start();
    latest().open();
    latest().frame({ type: "error", error: { code: "invalid_options", message: "previews.max_side: too big" } });
    expect(stream.getState()).toMatchObject({ finished: false, error: { code: "invalid_options" } });
  });

  it("ignores what is not JSON, binary frames and frame types it does not know", () => {
    const { stream, states } = start();
    latest().open();
    const before = states.length;
    latest().onmessage?.({ data: "not json" });
    latest().onmessage?.({ data: new ArrayBuffer(2) });
    latest().frame({ type: "pong" });
    latest().frame({ type: "something_new", seq: 99 });
    expect(states.length).toBe(before);
    expect(stream.getState().seq).toBe(-1);
  });

  it("close() stops a pending reconnect and closes the socket", () => {
    const { stream } = start();
    latest().open();
    latest().drop();
    expect(timers.pending.size).toBe(1);
    stream.close();
    expect(timers.pending.size).toBe(0);
    expect(stream.getState()).toMatchObject({ finished: true, connection: "closed" });

    const second = start();
    latest().open();
    second.stream.close();
    expect(latest().closedWith?.code).toBe(1000);
  });

  it("reads a fresh token at every connect", () => {
    let token = "first";
    start({ getToken: () => token });
    latest().open();
    latest().drop();
    token = "second";
    timers.fire();
    latest().open();
    expect(latest().sent[0]).toEqual({ type: "auth", token: "second" });
  });
});

describe("stream helpers", () => {
  it("builds the events URL from the page's origin", () => {
    expect(pageSocketOrigin({ protocol: "https:", host: "saekdam.example" })).toBe("wss://saekdam.example");
    expect(pageSocketOrigin({ protocol: "http:", host: "127.0.0.1:8000" })).toBe("ws://127.0.0.1:8000");
    expect(eventsUrl("a b", "ws://h")).toBe("ws://h/v1/tasks/a%20b/events");
  });

  it("adds at most a quarter of the delay as jitter and never passes the cap", () => {
    const backoff = { baseMs: 1000, maxMs: 8000, random: () => 1 };
    expect(backoffDelay(0, backoff)).toBe(1250);
    expect(backoffDelay(3, backoff)).toBe(8000);
    expect(backoffDelay(60, backoff)).toBe(8000);
  });
});
