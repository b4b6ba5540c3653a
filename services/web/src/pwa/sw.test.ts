// The worker itself (./sw.ts, as built into /sw.js) in fake worker globals: what it stores,
// drops, answers and leaves alone.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cacheNameFor } from "./cachePolicy";

const ORIGIN = "https://saekdam.example";
const PRECACHE = {
  version: "v2",
  urls: ["/", "/index.html", "/assets/index-abc.js", "/manifest.webmanifest"],
};
const CURRENT = cacheNameFor("v2");

type Listener = (event: unknown) => void;

class FakeCaches {
  readonly stores = new Map<string, Map<string, Response>>();
  private keyOf = (request: Request | string) =>
    new URL(typeof request === "string" ? request : request.url, ORIGIN).href;
  open = async (name: string) => {
    const store = this.stores.get(name) ?? new Map<string, Response>();
    this.stores.set(name, store);
    return {
      addAll: async (requests: Request[]) => {
        for (const request of requests) store.set(this.keyOf(request), await fetch(request));
      },
      put: async (request: Request, response: Response) => void store.set(this.keyOf(request), response),
    };
  };
  match = async (request: Request | string, options: { cacheName: string; ignoreVary?: boolean }) => {
    // A page's request carries headers the install's did not (Origin): a server's Vary on
    // them must not make a cached file miss.
    if (!options.ignoreVary) throw new Error("matched without ignoreVary");
    return this.stores.get(options.cacheName)?.get(this.keyOf(request))?.clone();
  };
  keys = async () => [...this.stores.keys()];
  delete = async (name: string) => this.stores.delete(name);
}

let listeners: Record<string, Listener>;
let fakeCaches: FakeCaches;
let network: ReturnType<typeof vi.fn<(request: Request | { url: string }) => Promise<Response>>>;
const claim = vi.fn(async () => undefined);
const showNotification = vi.fn(async (_title: string, _options: unknown) => undefined);
let windows: Array<{ url: string; focus: () => Promise<unknown>; navigate: (url: string) => Promise<unknown> }>;
const openWindow = vi.fn(async (_url: string) => null);

/** A same-origin response, as the browser types it ("basic"; Node says "default"). */
function served(body: string) {
  return Object.defineProperty(new Response(body, { status: 200 }), "type", { value: "basic" });
}

async function lifecycle(type: "install" | "activate") {
  const pending: Promise<unknown>[] = [];
  listeners[type]!({ waitUntil: (promise: Promise<unknown>) => void pending.push(promise) });
  await Promise.all(pending);
}

/** Dispatches a fetch event: the response the worker gave, or "untouched". */
async function dispatch(url: string, init: { method?: string; mode?: string } = {}) {
  const request = {
    url: new URL(url, ORIGIN).href,
    method: init.method ?? "GET",
    mode: init.mode ?? "cors",
    headers: new Headers(),
  };
  let response: Promise<Response> | undefined;
  const pending: Promise<unknown>[] = [];
  listeners.fetch!({
    request,
    respondWith: (answer: Promise<Response>) => void (response = answer),
    waitUntil: (promise: Promise<unknown>) => void pending.push(promise),
  });
  if (!response) return "untouched";
  const text = await (await response).text();
  await Promise.all(pending);
  return text;
}

beforeEach(async () => {
  listeners = {};
  fakeCaches = new FakeCaches();
  network = vi.fn(async (request: Request | { url: string }) =>
    served(`network ${new URL(request.url).pathname}`),
  );
  vi.stubGlobal("self", {
    location: { origin: ORIGIN },
    clients: { claim, matchAll: async () => windows, openWindow },
    registration: { showNotification },
    navigator: { languages: ["en-US"] },
    addEventListener: (type: string, listener: Listener) => void (listeners[type] = listener),
  });
  vi.stubGlobal("caches", fakeCaches);
  windows = [];
  showNotification.mockClear();
  openWindow.mockClear();
  vi.stubGlobal("fetch", network);
  vi.stubGlobal("__SW_PRECACHE__", PRECACHE);
  vi.resetModules();
  await import("./sw");
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the service worker", () => {
  it("caches the shell and the assets in this release's cache on install", async () => {
    await lifecycle("install");
    const stored = fakeCaches.stores.get(CURRENT)!;
    expect([...stored.keys()]).toEqual(PRECACHE.urls.map((url) => ORIGIN + url));
    // Past the HTTP cache.
    expect(network.mock.calls.every(([request]) => (request as Request).cache === "reload")).toBe(
      true,
    );
  });

  it("drops earlier releases' caches on activate, and no one else's", async () => {
    await fakeCaches.open(cacheNameFor("v1"));
    await fakeCaches.open("another-apps-cache");
    await lifecycle("install");
    await lifecycle("activate");
    expect([...fakeCaches.stores.keys()].sort()).toEqual(["another-apps-cache", CURRENT]);
    expect(claim).toHaveBeenCalled();
  });

  it("leaves the API, other origins and writes to the network, untouched", async () => {
    await lifecycle("install");
    network.mockClear();
    expect(await dispatch("/v1/tasks")).toBe("untouched");
    expect(await dispatch("/healthz")).toBe("untouched");
    expect(await dispatch("/docs", { mode: "navigate" })).toBe("untouched");
    expect(await dispatch("https://s3.example.com/b/1.png?X-Amz-Signature=x")).toBe("untouched");
    expect(await dispatch("/assets/index-abc.js", { method: "POST" })).toBe("untouched");
    expect(network).not.toHaveBeenCalled();
  });

  it("loads pages from the network, and the cached index.html offline", async () => {
    await lifecycle("install");
    network.mockImplementation(async () => served("new page"));
    expect(await dispatch("/", { mode: "navigate" })).toBe("new page");
    network.mockRejectedValue(new TypeError("Failed to fetch"));
    expect(await dispatch("/?lang=ko", { mode: "navigate" })).toBe("network /index.html");
  });

  it("serves hashed assets from the cache, and stores those it did not have", async () => {
    await lifecycle("install");
    network.mockClear();
    expect(await dispatch("/assets/index-abc.js")).toBe("network /assets/index-abc.js");
    expect(network).not.toHaveBeenCalled();
    expect(await dispatch("/assets/later-def.js")).toBe("network /assets/later-def.js");
    expect(network).toHaveBeenCalledOnce();
    network.mockRejectedValue(new TypeError("Failed to fetch"));
    expect(await dispatch("/assets/later-def.js")).toBe("network /assets/later-def.js");
  });

  it("gets the manifest from the network, and the cached copy offline", async () => {
    await lifecycle("install");
    network.mockImplementation(async () => served("fresh manifest"));
    expect(await dispatch("/manifest.webmanifest")).toBe("fresh manifest");
    network.mockRejectedValue(new TypeError("Failed to fetch"));
    expect(await dispatch("/manifest.webmanifest")).toBe("network /manifest.webmanifest");
  });
});

describe("the service worker's notifications", () => {
  /** Dispatches an extendable event; resolves when what it waits for is done. */
  async function extendable(type: string, fields: Record<string, unknown>) {
    const pending: Promise<unknown>[] = [];
    listeners[type]!({ ...fields, waitUntil: (promise: Promise<unknown>) => void pending.push(promise) });
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
  }
  const message = (text: string) => ({ text: () => text });

  it("shows a finished task's push, leading to the task", async () => {
    const push = {
      type: "task.completed",
      task_id: "t1",
      kind: "mural",
      status: "COMPLETED",
      title: "Your mural is ready",
      body: "Tap to see it.",
    };
    await extendable("push", { data: message(JSON.stringify(push)) });
    expect(showNotification).toHaveBeenCalledWith("Your mural is ready", {
      body: "Tap to see it.",
      tag: "t1",
      icon: "/icons/icon-192.png",
      data: { url: "/#/tasks/t1" },
    });
  });

  it("shows something for a push without data or with data not ours", async () => {
    await extendable("push", { data: null });
    await extendable("push", { data: message("{broken") });
    expect(showNotification).toHaveBeenCalledTimes(2);
    for (const [title, options] of showNotification.mock.calls) {
      expect(title).toBe("Saekdam");
      expect(options).toMatchObject({ data: { url: "/#/tasks" } });
    }
  });

  it("on a click, closes the notification and shows the task in our open window", async () => {
    const navigate = vi.fn(async (url: string) => ({ url }));
    const mine = { url: `${ORIGIN}/#/mural`, focus: vi.fn(async () => mine), navigate };
    windows = [{ url: "https://elsewhere.example/", focus: vi.fn(), navigate: vi.fn() }, mine];
    const close = vi.fn();
    await extendable("notificationclick", { notification: { data: { url: "/#/tasks/t1" }, close } });
    expect(close).toHaveBeenCalled();
    expect(mine.focus).toHaveBeenCalled();
    expect(navigate).toHaveBeenCalledWith(`${ORIGIN}/#/tasks/t1`);
    expect(openWindow).not.toHaveBeenCalled();
  });

  it("on a click with no window of ours open, opens one", async () => {
    await extendable("notificationclick", { notification: { data: { url: "/#/tasks/t1" }, close: vi.fn() } });
    expect(openWindow).toHaveBeenCalledWith(`${ORIGIN}/#/tasks/t1`);
  });
});
