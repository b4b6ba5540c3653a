// The service worker, served at /sw.js (scope `/`). Built by the `serviceWorker` plugin in
// vite.config.ts, which puts the list of files to cache and the cache's version in place of
// `__SW_PRECACHE__`; production builds only. What each request gets: ./cachePolicy. Web Push
// messages (my finished tasks) and clicks on their notifications: ../push/notification.
import {
  clickedUrl,
  notificationFor,
  openClicked,
  workerLang,
  type ClientsLike,
  type PushDataLike,
  type ShownNotification,
} from "../push/notification";
import { cacheNameFor, isStaleCache, OFFLINE_PAGE, strategyFor } from "./cachePolicy";

declare const __SW_PRECACHE__: { version: string; urls: string[] };

// The worker's own globals (the program is type-checked with the DOM library, not WebWorker).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface PushEvent extends ExtendableEvent {
  readonly data: PushDataLike | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: { readonly data: unknown; close(): void };
}
interface WorkerScope {
  readonly location: { readonly origin: string };
  readonly navigator?: { readonly languages?: readonly string[] };
  readonly clients: { claim(): Promise<void> } & ClientsLike;
  readonly registration: {
    showNotification(title: string, options: ShownNotification["options"]): Promise<void>;
  };
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
  addEventListener(type: "push", listener: (event: PushEvent) => void): void;
  addEventListener(type: "notificationclick", listener: (event: NotificationEvent) => void): void;
}

const worker = self as unknown as WorkerScope;
const { version, urls } = __SW_PRECACHE__;
const CACHE = cacheNameFor(version);
// A cached file is the same whatever the request's Origin or Accept-Encoding: a server's
// `Vary` on them (vite preview varies on Origin, which a <script crossorigin> sends) must not
// make a cached file miss.
const MATCH = { cacheName: CACHE, ignoreVary: true };

// A new release (new hashes, new version) installs beside the old one and waits until no page
// uses the old one (no skipWaiting: an open page keeps the files it was loaded with).
worker.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // Past the HTTP cache: what is stored must be this release's files.
      .then((cache) =>
        cache.addAll(
          urls.map((url) => new Request(new URL(url, worker.location.origin), { cache: "reload" })),
        ),
      ),
  );
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((name) => isStaleCache(name, CACHE)).map((name) => caches.delete(name))),
      )
      .then(() => worker.clients.claim()),
  );
});

async function cached(request: Request | string): Promise<Response> {
  const key = typeof request === "string" ? new URL(request, worker.location.origin).href : request;
  return (await caches.match(key, MATCH)) ?? Response.error();
}

async function cacheFirst(event: FetchEvent): Promise<Response> {
  const request = event.request;
  const hit = await caches.match(request, MATCH);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") {
    const copy = response.clone();
    // Stored in the background: the page does not wait for it, the worker does.
    event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)).catch(() => undefined));
  }
  return response;
}

worker.addEventListener("fetch", (event) => {
  const request = event.request;
  switch (strategyFor(request, worker.location.origin, urls)) {
    case "network":
      // No respondWith: the request goes to the network as if there were no worker.
      return;
    case "navigation":
      // Not stored: the cached page stays the one that matches the cached assets.
      event.respondWith(fetch(request).catch(() => cached(OFFLINE_PAGE)));
      return;
    case "cache-first":
      event.respondWith(cacheFirst(event));
      return;
    case "network-first":
      event.respondWith(fetch(request).catch(() => cached(request)));
      return;
  }
});

// A task of mine ended (services/model_worker/saekdam_worker/notify/push.py): always shown
// (the subscription promised userVisibleOnly), a generic text when the data is not ours.
worker.addEventListener("push", (event) => {
  const { title, options } = notificationFor(event.data, workerLang(worker.navigator?.languages));
  event.waitUntil(worker.registration.showNotification(title, options));
});

// The task's page, in a window of ours already open if there is one.
worker.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    openClicked(clickedUrl(event.notification.data), worker.clients, worker.location.origin),
  );
});
