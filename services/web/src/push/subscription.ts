// Notifications for my finished tasks through Web Push: the browser's subscription (made with
// the API's VAPID key) is posted to the API, which keeps it for the workers that send the
// pushes (services/model_worker/saekdam_worker/notify/push.py); the service worker shows them
// (./notification.ts). The API's id of the subscription is remembered per user (./store.ts).
//
// Pure of the page: the API, the worker registration, Notification and storage come in as
// arguments, so the tests drive every path with fakes.
import type { Client, Schemas } from "../api/client";
import { applicationServerKey, sameKey } from "./keys";
import { forgetRecord, loadRecord, saveRecord, type PushStore } from "./store";
import type { PushSupport, UnsupportedReason } from "./support";

export type PushSubscriptionIn = Schemas["PushSubscriptionIn"];

/** The client's own error codes here (each with a sentence in src/i18n/errors.ts). */
export type PushErrorCode =
  | UnsupportedReason
  /** The person (or the browser's settings) blocked notifications for the site. */
  | "notifications_blocked"
  /** The permission prompt was closed without an answer. */
  | "notifications_dismissed"
  /** No service worker runs for the page (the dev server, or its registration failed). */
  | "service_worker_unavailable"
  /** `GET /v1/push/key` gave something that is no P-256 public key. */
  | "push_key_invalid"
  /** The browser's push service did not give a subscription. */
  | "push_subscribe_failed";

export class PushError extends Error {
  constructor(
    readonly code: PushErrorCode,
    message: string = code,
  ) {
    super(message);
    this.name = "PushError";
  }
}

export type PushState =
  | { state: "unsupported"; reason: UnsupportedReason }
  /** Notifications are denied for the site: only the browser's settings can change that. */
  | { state: "blocked" }
  /** The server has no VAPID key (`push_unavailable`). */
  | { state: "unavailable" }
  | { state: "off" }
  | { state: "on" };

/** The API's push calls. */
export interface PushApi {
  /** `GET /v1/push/key` → the VAPID public key, base64url. */
  key(): Promise<string>;
  /** `POST /v1/push/subscriptions` → the subscription's id (the same for the same endpoint). */
  subscribe(body: PushSubscriptionIn): Promise<string>;
  /** `DELETE /v1/push/subscriptions/{subscription_id}`. */
  unsubscribe(subscriptionId: string): Promise<void>;
}

export function pushApi(client: Pick<Client, "call">): PushApi {
  return {
    key: async () => (await client.call("get", "/v1/push/key")).public_key,
    subscribe: async (body) =>
      (await client.call("post", "/v1/push/subscriptions", { body })).subscription_id,
    unsubscribe: async (subscriptionId) => {
      await client.call("delete", "/v1/push/subscriptions/{subscription_id}", {
        path: { subscription_id: subscriptionId },
      });
    },
  };
}

// -- the browser's parts, as far as they are used (a ServiceWorkerRegistration fits) --------

export interface BrowserSubscription {
  readonly endpoint: string;
  readonly options?: { readonly applicationServerKey: ArrayBuffer | null } | null;
  toJSON(): PushSubscriptionJSON;
  unsubscribe(): Promise<boolean>;
}

export interface PushRegistration {
  readonly pushManager: {
    getSubscription(): Promise<BrowserSubscription | null>;
    subscribe(options: PushSubscriptionOptionsInit): Promise<BrowserSubscription>;
  };
}

/** `Notification` (its static side). */
export interface NotificationPermissions {
  readonly permission: NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
}

export interface PushContext {
  /** Whose subscription it is (`GET /v1/users/me`'s id). */
  userId: string;
  /** localStorage, or null when it is blocked. */
  storage: PushStore | null;
  /** `pushSupport()` of this page. */
  support: PushSupport;
  /** `Notification`; null where the browser has none. */
  notification: NotificationPermissions | null;
  /** How long the browser's push service may take to subscribe (SUBSCRIBE_WAIT_MS). */
  subscribeWaitMs?: number;
}

/** The parts of `navigator.serviceWorker` used to find the worker. */
export interface WorkerContainer {
  getRegistration(): Promise<PushRegistration | undefined>;
  readonly ready: Promise<PushRegistration>;
}

/** How long a click waits for a worker still installing before it gives up. */
export const WORKER_WAIT_MS = 30_000;
/** How long the browser's push service may take: an unreachable one (a network that blocks
 * it, a browser build without one) can leave `subscribe()` pending for minutes. */
export const SUBSCRIBE_WAIT_MS = 30_000;

/** `promise`, or `error` once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function hasCode(cause: unknown, code: string): boolean {
  return (cause as { code?: unknown } | null)?.code === code;
}

/**
 * The page's active service worker, which push needs: its registration once active (a first
 * visit's worker may still be installing). None registered (the dev server, or the
 * registration failed): `service_worker_unavailable`.
 */
export async function workerRegistration(
  container: WorkerContainer | null | undefined,
  waitMs = WORKER_WAIT_MS,
): Promise<PushRegistration> {
  if (!container) throw new PushError("push_unsupported");
  if (!(await container.getRegistration())) throw new PushError("service_worker_unavailable");
  return within(container.ready, waitMs, () => new PushError("service_worker_unavailable"));
}

/** What the API takes, from the subscription's `toJSON()`. */
export function subscriptionBody(subscription: BrowserSubscription): PushSubscriptionIn {
  const json = subscription.toJSON();
  const endpoint = json.endpoint ?? subscription.endpoint;
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (!endpoint || !p256dh || !auth) {
    throw new PushError("push_subscribe_failed", "the browser's subscription has no endpoint or keys");
  }
  const body: PushSubscriptionIn = { endpoint, keys: { p256dh, auth } };
  if (typeof json.expirationTime === "number") body.expirationTime = json.expirationTime;
  return body;
}

/** The browser's subscription with `key` (an older key's is dropped), posted for the user. */
async function subscribeHere(
  api: PushApi,
  registration: PushRegistration,
  key: Uint8Array<ArrayBuffer>,
  context: PushContext,
): Promise<PushState> {
  const manager = registration.pushManager;
  let subscription = await manager.getSubscription();
  if (subscription && !sameKey(subscription.options?.applicationServerKey, key)) {
    // Made with the server's earlier VAPID key: its pushes would be refused. A browser
    // subscribes with one key at a time, so the old one goes first.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    try {
      subscription = await within(
        manager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
        context.subscribeWaitMs ?? SUBSCRIBE_WAIT_MS,
        () => new PushError("push_subscribe_failed", "the push service did not answer"),
      );
    } catch (cause) {
      if (cause instanceof PushError) throw cause;
      const name = (cause as { name?: unknown } | null)?.name;
      if (name === "NotAllowedError") throw new PushError("notifications_blocked");
      throw new PushError("push_subscribe_failed", String((cause as Error)?.message ?? cause));
    }
  }
  const body = subscriptionBody(subscription);
  const id = await api.subscribe(body);
  const previous = loadRecord(context.storage, context.userId);
  saveRecord(context.storage, context.userId, { id, endpoint: body.endpoint });
  // The user's earlier subscription (another endpoint): it gets nothing any more.
  if (previous && previous.id !== id) await api.unsubscribe(previous.id).catch(() => undefined);
  return { state: "on" };
}

function unsupported(context: PushContext): PushState | null {
  if (!context.support.supported) return { state: "unsupported", reason: context.support.reason };
  if (!context.notification) return { state: "unsupported", reason: "push_unsupported" };
  return null;
}

/**
 * Where notifications stand for this user in this browser, on load: never asks for
 * permission. Notifications the user had on whose browser subscription changed (the server's
 * VAPID key is new, or the browser renewed it) are subscribed again, as permission is granted.
 */
export async function notificationState(
  api: PushApi,
  registration: PushRegistration | null | undefined,
  context: PushContext,
): Promise<PushState> {
  const none = unsupported(context);
  if (none) return none;
  const permission = context.notification!.permission;
  if (permission === "denied") return { state: "blocked" };
  const record = loadRecord(context.storage, context.userId);
  const subscription = registration
    ? await registration.pushManager.getSubscription().catch(() => null)
    : null;
  const mine = permission === "granted" && !!record && subscription?.endpoint === record.endpoint;
  let keyText: string;
  try {
    keyText = await api.key();
  } catch (cause) {
    if (hasCode(cause, "push_unavailable")) return { state: "unavailable" };
    // The key is checked again on the next visit.
    if (mine) return { state: "on" };
    throw cause;
  }
  const key = applicationServerKey(keyText);
  if (!key) {
    if (mine) return { state: "on" };
    throw new PushError("push_key_invalid");
  }
  if (mine && sameKey(subscription?.options?.applicationServerKey, key)) return { state: "on" };
  if (permission === "granted" && record && registration) {
    try {
      return await subscribeHere(api, registration, key, context);
    } catch {
      return { state: "off" };
    }
  }
  return { state: "off" };
}

/**
 * Turns notifications on, from a click: asks for permission first (browsers only ask from a
 * user's gesture, so nothing is awaited before), then subscribes with the server's key and
 * posts the subscription. `registration` may still be on its way (`workerRegistration`).
 */
export async function enableNotifications(
  api: PushApi,
  registration: PushRegistration | Promise<PushRegistration>,
  context: PushContext,
): Promise<PushState> {
  const pending = Promise.resolve(registration);
  pending.catch(() => undefined); // awaited below, after the permission
  const none = unsupported(context);
  if (none?.state === "unsupported") throw new PushError(none.reason);
  const notification = context.notification!;
  if (notification.permission === "denied") throw new PushError("notifications_blocked");
  const answer =
    notification.permission === "granted" ? "granted" : await notification.requestPermission();
  if (answer === "denied") throw new PushError("notifications_blocked");
  if (answer !== "granted") throw new PushError("notifications_dismissed");
  const worker = await pending;
  const key = applicationServerKey(await api.key());
  if (!key) throw new PushError("push_key_invalid");
  return subscribeHere(api, worker, key, context);
}

/** Turns notifications off: the API forgets the subscription, then the browser drops it. */
export async function disableNotifications(
  api: PushApi,
  registration: PushRegistration | null | undefined,
  context: PushContext,
): Promise<PushState> {
  const record = loadRecord(context.storage, context.userId);
  const subscription = registration ? await registration.pushManager.getSubscription() : null;
  if (record) {
    try {
      await api.unsubscribe(record.id);
    } catch (cause) {
      // Gone already (another account took this browser over, or it was deleted): fine.
      if (!hasCode(cause, "push_subscription_not_found")) throw cause;
    }
  }
  if (subscription) await subscription.unsubscribe();
  forgetRecord(context.storage, context.userId, subscription?.endpoint ?? record?.endpoint);
  return { state: "off" };
}
