// What the service worker (src/pwa/sw.ts, built to /sw.js by the plugin in vite.config.ts)
// does with each request, and what it stores on install. Pure: the worker and the build use
// these functions, the tests check them; no other copy of these rules exists.

/** Paths owned by the API (infra/proxy/Caddyfile routes them away from the web client):
 * never answered from a cache, never intercepted. A prefix match, so `/v1` covers `/v1/...`
 * and `/docs` covers `/docs/oauth2-redirect`. */
export const NEVER_CACHE_PREFIXES = [
  "/v1",
  "/healthz",
  "/readyz",
  "/docs",
  "/redoc",
  "/openapi.json",
  "/metrics",
] as const;

/** Hashed build output (Vite's `build.assetsDir`): a name never changes its content. */
export const ASSETS_PREFIX = "/assets/";

/** The page every navigation gets when the network is gone (the app routes by hash). */
export const OFFLINE_PAGE = "/index.html";

/** Caches of this worker are named PREFIX + version; other caches are not ours to delete. */
export const CACHE_PREFIX = "saekdam-shell-";

export type Strategy =
  /** Not intercepted: the browser fetches it as if there were no worker. */
  | "network"
  /** A page load: the network first; offline, the cached index.html. */
  | "navigation"
  /** A hashed asset: the cache first; the network (stored for next time) when missing. */
  | "cache-first"
  /** One of the shell's unhashed files (the manifest, icons): the network first; offline,
   * the copy cached on install. */
  | "network-first";

/** The parts of a fetch event's Request the decision looks at. */
export interface RequestLike {
  readonly url: string;
  readonly method: string;
  readonly mode: string;
  readonly headers: { get(name: string): string | null };
}

export function isApiPath(pathname: string): boolean {
  return NEVER_CACHE_PREFIXES.some((prefix) => pathname.startsWith(prefix));
}

/**
 * How the worker answers `request`. `origin` is the worker's own (its `location.origin`),
 * `shell` the URLs cached on install (see `precacheUrls`).
 */
export function strategyFor(
  request: RequestLike,
  origin: string,
  shell: readonly string[],
): Strategy {
  if (request.method !== "GET") return "network";
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return "network";
  }
  // Websockets (ws:, wss:), extensions' schemes and other origins (presigned S3 URLs for
  // uploads and downloads) are none of the worker's business.
  if (url.protocol !== "http:" && url.protocol !== "https:") return "network";
  if (url.origin !== origin) return "network";
  if (isApiPath(url.pathname)) return "network";
  if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return "network";
  // A partial response cannot be served from (or stored as) a whole one.
  if (request.headers.get("range") !== null) return "network";
  if (request.mode === "navigate") return "navigation";
  if (url.pathname.startsWith(ASSETS_PREFIX)) return "cache-first";
  if (url.search === "" && shell.includes(url.pathname)) return "network-first";
  return "network";
}

/**
 * What the worker caches on install, as absolute paths: the page (`/` and `/index.html`), the
 * public files (the manifest, icons; not the worker itself) and the hashed assets. Takes the
 * build's output file names, relative to the output directory (`assets/index-abc.js`).
 */
export function precacheUrls(
  bundleFiles: readonly string[],
  publicFiles: readonly string[],
  workerFile = "sw.js",
): string[] {
  const assets = bundleFiles.filter(
    (name) => `/${name}`.startsWith(ASSETS_PREFIX) && !name.endsWith(".map"),
  );
  const statics = publicFiles.filter((name) => name !== workerFile && !name.startsWith("."));
  const files = [...new Set([...statics, ...assets].map((name) => `/${name}`))].sort();
  return ["/", OFFLINE_PAGE, ...files.filter((url) => url !== OFFLINE_PAGE)];
}

export function cacheNameFor(version: string): string {
  return CACHE_PREFIX + version;
}

/** A cache an earlier release of this worker made: deleted once this one is active. */
export function isStaleCache(name: string, current: string): boolean {
  return name.startsWith(CACHE_PREFIX) && name !== current;
}
