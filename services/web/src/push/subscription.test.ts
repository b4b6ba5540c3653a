import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, createClient } from "../api/client";
import { base64UrlToBytes, bytesToBase64Url } from "./keys";
import { loadRecord, saveRecord } from "./store";
import {
  disableNotifications,
  enableNotifications,
  notificationState,
  pushApi,
  subscriptionBody,
  workerRegistration,
  type PushApi,
  type PushContext,
  type PushSubscriptionIn,
} from "./subscription";

const KEY =
  "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
const NEW_KEY = (() => {
  const bytes = base64UrlToBytes(KEY);
  bytes[64] = bytes[64]! ^ 0xff;
  return bytesToBase64Url(bytes);
})();
const P256DH =
  "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
const AUTH = "tBHItJI5svbpez7KI4CCXg";

// -- a browser's push manager and the API, faked ------------------------------------------

let endpoints = 0;

class FakeSubscription {
  readonly options: { applicationServerKey: ArrayBuffer | null; userVisibleOnly: boolean };
  unsubscribe = vi.fn(async () => {
    if (this.manager.current === this) this.manager.current = null;
    return true;
  });
  constructor(
    private readonly manager: FakeManager,
    readonly endpoint: string,
    key: ArrayBuffer | null,
  ) {
    this.options = { applicationServerKey: key, userVisibleOnly: true };
  }
  toJSON(): PushSubscriptionJSON {
    return { endpoint: this.endpoint, expirationTime: null, keys: { p256dh: P256DH, auth: AUTH } };
  }
}

class FakeManager {
  current: FakeSubscription | null = null;
  getSubscription = vi.fn(async () => this.current);
  subscribe = vi.fn(async (options: PushSubscriptionOptionsInit) => {
    const key = options.applicationServerKey as Uint8Array;
    // As browsers do: one key per registration at a time.
    if (this.current && bytesToBase64Url(this.current.options.applicationServerKey!) !== bytesToBase64Url(key)) {
      throw new DOMException("a subscription with another key exists", "InvalidStateError");
    }
    this.current ??= new FakeSubscription(this, `https://push.example/send/${++endpoints}`, key.slice().buffer);
    return this.current;
  });
  /** A subscription made earlier (with `key`). */
  existing(key: string): FakeSubscription {
    this.current = new FakeSubscription(this, `https://push.example/send/${++endpoints}`, base64UrlToBytes(key).buffer);
    return this.current;
  }
}

function fakeApi(initialKey: string = KEY) {
  let key: string | Error = initialKey;
  const rows = new Map<string, { id: string; body: PushSubscriptionIn }>();
  let ids = 0;
  const api = {
    rows,
    setKey: (next: string | Error) => void (key = next),
    key: vi.fn(async () => {
      if (key instanceof Error) throw key;
      return key;
    }),
    subscribe: vi.fn(async (body: PushSubscriptionIn) => {
      const id = rows.get(body.endpoint)?.id ?? `sub-${++ids}`;
      rows.set(body.endpoint, { id, body });
      return id;
    }),
    unsubscribe: vi.fn(async (id: string) => {
      for (const [endpoint, row] of rows) {
        if (row.id === id) {
          rows.delete(endpoint);
          return;
        }
      }
      throw new ApiError(404, "push_subscription_not_found", `no subscription ${id}`);
    }),
  };
  return api satisfies PushApi;
}

function memory() {
  const data = new Map<string, string>();
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

let manager: FakeManager;
let registration: { pushManager: FakeManager };
let api: ReturnType<typeof fakeApi>;
let storage: ReturnType<typeof memory>;
let notification: {
  permission: NotificationPermission;
  requestPermission: ReturnType<typeof vi.fn<() => Promise<NotificationPermission>>>;
};

function contextFor(userId: string, extra: Partial<PushContext> = {}): PushContext {
  return { userId, storage, support: { supported: true }, notification, ...extra };
}

/** The prompt, answered with `answer` (and the permission then stays so). */
function promptAnswers(answer: NotificationPermission) {
  notification.requestPermission.mockImplementation(async () => {
    notification.permission = answer;
    return answer;
  });
}

beforeEach(() => {
  manager = new FakeManager();
  registration = { pushManager: manager };
  api = fakeApi();
  storage = memory();
  notification = { permission: "default", requestPermission: vi.fn<() => Promise<NotificationPermission>>() };
  promptAnswers("granted");
});

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "resolved",
    (error: { code?: string }) => error.code,
  );

describe("turning notifications on", () => {
  it("asks, subscribes with the server's key, posts the subscription and remembers it", async () => {
    expect(await enableNotifications(api, registration, contextFor("ann"))).toEqual({ state: "on" });
    expect(notification.requestPermission).toHaveBeenCalledOnce();
    expect(manager.subscribe).toHaveBeenCalledOnce();
    const options = manager.subscribe.mock.calls[0]![0];
    expect(options.userVisibleOnly).toBe(true);
    expect(bytesToBase64Url(options.applicationServerKey as Uint8Array)).toBe(KEY);
    const endpoint = manager.current!.endpoint;
    expect(api.subscribe).toHaveBeenCalledWith({ endpoint, keys: { p256dh: P256DH, auth: AUTH } });
    expect(loadRecord(storage, "ann")).toEqual({ id: "sub-1", endpoint });
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "on" });
  });

  it("asks for permission before anything is awaited (the click's gesture)", async () => {
    let resolveWorker!: (value: typeof registration) => void;
    const worker = new Promise<typeof registration>((resolve) => (resolveWorker = resolve));
    const done = enableNotifications(api, worker, contextFor("ann"));
    expect(notification.requestPermission).toHaveBeenCalledOnce();
    expect(api.key).not.toHaveBeenCalled();
    resolveWorker(registration);
    expect(await done).toEqual({ state: "on" });
  });

  it("does not ask again once granted", async () => {
    notification.permission = "granted";
    await enableNotifications(api, registration, contextFor("ann"));
    expect(notification.requestPermission).not.toHaveBeenCalled();
  });

  it("says so when the person blocks or dismisses the prompt", async () => {
    promptAnswers("denied");
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("notifications_blocked");
    notification.permission = "default";
    promptAnswers("default");
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("notifications_dismissed");
    expect(manager.subscribe).not.toHaveBeenCalled();
    expect(api.subscribe).not.toHaveBeenCalled();
  });

  it("does not ask when the browser's settings block notifications", async () => {
    notification.permission = "denied";
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("notifications_blocked");
    expect(notification.requestPermission).not.toHaveBeenCalled();
  });

  it("passes on push_unavailable from a server without a VAPID key", async () => {
    api.setKey(new ApiError(503, "push_unavailable", "Web Push is not set up on this server"));
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("push_unavailable");
    expect(manager.subscribe).not.toHaveBeenCalled();
  });

  it("refuses in a browser without push, and with a key that is no P-256 point", async () => {
    const unsupported = contextFor("ann", {
      support: { supported: false, reason: "push_unsupported", missing: "PushManager" },
    });
    expect(await codeOf(enableNotifications(api, registration, unsupported))).toBe("push_unsupported");
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann", { notification: null })))).toBe(
      "push_unsupported",
    );
    api.setKey("AQID");
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("push_key_invalid");
  });

  it("says the worker is missing when there is none", async () => {
    const none = Promise.reject(Object.assign(new Error("none"), { code: "service_worker_unavailable" }));
    expect(await codeOf(enableNotifications(api, none, contextFor("ann")))).toBe("service_worker_unavailable");
  });

  it("turns the push service's refusals into sentences", async () => {
    manager.subscribe.mockRejectedValueOnce(new DOMException("denied", "NotAllowedError"));
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("notifications_blocked");
    manager.subscribe.mockRejectedValueOnce(new DOMException("push service error", "AbortError"));
    expect(await codeOf(enableNotifications(api, registration, contextFor("ann")))).toBe("push_subscribe_failed");
  });

  it("gives up on a push service that does not answer", async () => {
    manager.subscribe.mockReturnValueOnce(new Promise<never>(() => {}));
    const context = contextFor("ann", { subscribeWaitMs: 5 });
    expect(await codeOf(enableNotifications(api, registration, context))).toBe("push_subscribe_failed");
    expect(api.subscribe).not.toHaveBeenCalled();
  });

  it("subscribes again when the server's VAPID key changed, and drops the old subscription", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    const old = manager.current!;
    api.setKey(NEW_KEY);
    expect(await enableNotifications(api, registration, contextFor("ann"))).toEqual({ state: "on" });
    expect(old.unsubscribe).toHaveBeenCalled();
    const fresh = manager.current!;
    expect(fresh.endpoint).not.toBe(old.endpoint);
    expect(bytesToBase64Url(fresh.options.applicationServerKey!)).toBe(NEW_KEY);
    expect(loadRecord(storage, "ann")).toEqual({ id: "sub-2", endpoint: fresh.endpoint });
    // The old endpoint's row is deleted on the server.
    expect(api.unsubscribe).toHaveBeenCalledWith("sub-1");
    expect([...api.rows.keys()]).toEqual([fresh.endpoint]);
  });

  it("reuses the browser's subscription with the same key", async () => {
    const existing = manager.existing(KEY);
    await enableNotifications(api, registration, contextFor("ann"));
    expect(manager.subscribe).not.toHaveBeenCalled();
    expect(api.subscribe).toHaveBeenCalledWith(expect.objectContaining({ endpoint: existing.endpoint }));
  });
});

describe("where notifications stand on load", () => {
  it("never asks for permission", async () => {
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "off" });
    expect(await notificationState(api, null, contextFor("ann"))).toEqual({ state: "off" });
    expect(notification.requestPermission).not.toHaveBeenCalled();
    expect(manager.subscribe).not.toHaveBeenCalled();
  });

  it("is blocked when the browser's settings deny notifications", async () => {
    notification.permission = "denied";
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "blocked" });
    expect(api.key).not.toHaveBeenCalled();
  });

  it("is unsupported with the reason", async () => {
    const insecure = contextFor("ann", { support: { supported: false, reason: "push_insecure_context" } });
    expect(await notificationState(api, registration, insecure)).toEqual({
      state: "unsupported",
      reason: "push_insecure_context",
    });
  });

  it("is unavailable on a server without push", async () => {
    api.setKey(new ApiError(503, "push_unavailable", "not set up"));
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "unavailable" });
  });

  it("stays on when the key cannot be fetched, and throws when off", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    api.setKey(new ApiError(0, "network_error", "offline"));
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "on" });
    expect(await codeOf(notificationState(api, registration, contextFor("bob")))).toBe("network_error");
  });

  it("is another user's subscription, not mine: off, until I turn it on", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    expect(await notificationState(api, registration, contextFor("bob"))).toEqual({ state: "off" });
    expect(manager.subscribe).toHaveBeenCalledOnce();
    await enableNotifications(api, registration, contextFor("bob"));
    // The same endpoint, moved to bob on the server; ann's record of it is gone.
    expect(api.rows.size).toBe(1);
    expect(loadRecord(storage, "bob")?.id).toBe("sub-1");
    expect(loadRecord(storage, "ann")).toBeNull();
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "off" });
    expect(await notificationState(api, registration, contextFor("bob"))).toEqual({ state: "on" });
  });

  it("subscribes again by itself when the server's key changed, as permission is granted", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    const old = manager.current!;
    api.setKey(NEW_KEY);
    notification.requestPermission.mockClear();
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "on" });
    expect(notification.requestPermission).not.toHaveBeenCalled();
    expect(old.unsubscribe).toHaveBeenCalled();
    expect(bytesToBase64Url(manager.current!.options.applicationServerKey!)).toBe(NEW_KEY);
    expect(loadRecord(storage, "ann")?.endpoint).toBe(manager.current!.endpoint);
  });

  it("posts a subscription the browser renewed", async () => {
    saveRecord(storage, "ann", { id: "sub-old", endpoint: "https://push.example/send/expired" });
    notification.permission = "granted";
    const renewed = manager.existing(KEY);
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "on" });
    expect(api.subscribe).toHaveBeenCalledWith(expect.objectContaining({ endpoint: renewed.endpoint }));
    expect(api.unsubscribe).toHaveBeenCalledWith("sub-old");
  });

  it("is off when permission was taken back", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    notification.permission = "default";
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "off" });
  });
});

describe("turning notifications off", () => {
  it("deletes the subscription on the server, then in the browser", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    const subscription = manager.current!;
    expect(await disableNotifications(api, registration, contextFor("ann"))).toEqual({ state: "off" });
    expect(api.unsubscribe).toHaveBeenCalledWith("sub-1");
    expect(subscription.unsubscribe).toHaveBeenCalled();
    expect(api.rows.size).toBe(0);
    expect(loadRecord(storage, "ann")).toBeNull();
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "off" });
  });

  it("is fine with a subscription the server no longer has", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    api.rows.clear();
    expect(await disableNotifications(api, registration, contextFor("ann"))).toEqual({ state: "off" });
    expect(manager.current).toBeNull();
  });

  it("keeps everything when the server could not be told", async () => {
    await enableNotifications(api, registration, contextFor("ann"));
    api.unsubscribe.mockRejectedValueOnce(new ApiError(0, "network_error", "offline"));
    expect(await codeOf(disableNotifications(api, registration, contextFor("ann")))).toBe("network_error");
    expect(manager.current).not.toBeNull();
    expect(await notificationState(api, registration, contextFor("ann"))).toEqual({ state: "on" });
  });
});

describe("the page's service worker", () => {
  const found = { pushManager: new FakeManager() };

  it("is the active registration", async () => {
    const container = { getRegistration: async () => found, ready: Promise.resolve(found) };
    expect(await workerRegistration(container)).toBe(found);
  });

  it("is missing on the dev server, or where the browser has none", async () => {
    const none = { getRegistration: async () => undefined, ready: new Promise<never>(() => {}) };
    expect(await codeOf(workerRegistration(none))).toBe("service_worker_unavailable");
    expect(await codeOf(workerRegistration(null))).toBe("push_unsupported");
  });

  it("is given up on when it never becomes active", async () => {
    const stuck = { getRegistration: async () => found, ready: new Promise<never>(() => {}) };
    expect(await codeOf(workerRegistration(stuck, 5))).toBe("service_worker_unavailable");
  });
});

describe("the subscription sent to the API", () => {
  it("is toJSON()'s endpoint and keys, with an expiration time when there is one", () => {
    const subscription = {
      endpoint: "https://push.example/send/1",
      toJSON: () => ({ endpoint: "https://push.example/send/1", expirationTime: 1700000000000, keys: { p256dh: P256DH, auth: AUTH } }),
      unsubscribe: async () => true,
    };
    expect(subscriptionBody(subscription)).toEqual({
      endpoint: "https://push.example/send/1",
      expirationTime: 1700000000000,
      keys: { p256dh: P256DH, auth: AUTH },
    });
    const keyless = { ...subscription, toJSON: () => ({ endpoint: "https://push.example/send/1" }) };
    expect(() => subscriptionBody(keyless)).toThrow(expect.objectContaining({ code: "push_subscribe_failed" }));
  });

  it("goes to the API's push paths", async () => {
    const calls: Array<[string, string, string | null]> = [];
    const fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
      calls.push([String(init?.method), String(url), (init?.body as string | undefined) ?? null]);
      if (String(url).endsWith("/key")) return Response.json({ public_key: KEY });
      if (init?.method === "POST") return Response.json({ subscription_id: "sub-9" }, { status: 201 });
      return new Response(null, { status: 204 });
    });
    const push = pushApi(createClient({ fetch, getToken: () => "token" }));
    expect(await push.key()).toBe(KEY);
    const body = { endpoint: "https://push.example/send/1", keys: { p256dh: P256DH, auth: AUTH } };
    expect(await push.subscribe(body)).toBe("sub-9");
    await push.unsubscribe("sub-9");
    expect(calls).toEqual([
      ["GET", "/v1/push/key", null],
      ["POST", "/v1/push/subscriptions", JSON.stringify(body)],
      ["DELETE", "/v1/push/subscriptions/sub-9", null],
    ]);
  });

  it("gives the API's errors with their codes", async () => {
    const fetch = vi.fn(async () =>
      Response.json({ error: { code: "push_unavailable", message: "not set up" } }, { status: 503 }),
    );
    const push = pushApi(createClient({ fetch }));
    expect(await codeOf(push.key())).toBe("push_unavailable");
  });
});
