import { describe, expect, it } from "vitest";
import {
  cacheNameFor,
  isStaleCache,
  NEVER_CACHE_PREFIXES,
  precacheUrls,
  strategyFor,
  type RequestLike,
} from "./cachePolicy";

const ORIGIN = "https://saekdam.example";
const SHELL = precacheUrls(
  ["index.html", "sw.js", "assets/index-C6Ots8pT.css", "assets/index-CBGj8OJG.js"],
  ["manifest.webmanifest", "icons/icon.svg", "icons/icon-192.png", "sw.js"],
);

function request(
  path: string,
  { method = "GET", mode = "cors", headers = {} as Record<string, string> } = {},
): RequestLike {
  return { url: new URL(path, ORIGIN).href, method, mode, headers: new Headers(headers) };
}

const strategy = (req: RequestLike) => strategyFor(req, ORIGIN, SHELL);

describe("what the service worker caches on install", () => {
  it("is the page, the public files and the hashed assets, not the worker itself", () => {
    expect(SHELL).toEqual([
      "/",
      "/index.html",
      "/assets/index-C6Ots8pT.css",
      "/assets/index-CBGj8OJG.js",
      "/icons/icon-192.png",
      "/icons/icon.svg",
      "/manifest.webmanifest",
    ]);
  });

  it("leaves out source maps and dot files", () => {
    expect(precacheUrls(["assets/a.js", "assets/a.js.map"], [".DS_Store"])).toEqual([
      "/",
      "/index.html",
      "/assets/a.js",
    ]);
  });
});

describe("how the service worker answers a request", () => {
  it("loads pages from the network first (the cached index.html offline)", () => {
    expect(strategy(request("/", { mode: "navigate" }))).toBe("navigation");
    expect(strategy(request("/index.html", { mode: "navigate" }))).toBe("navigation");
    expect(strategy(request("/?lang=ko#/tasks", { mode: "navigate" }))).toBe("navigation");
  });

  it("serves hashed assets from the cache first", () => {
    expect(strategy(request("/assets/index-CBGj8OJG.js"))).toBe("cache-first");
    expect(strategy(request("/assets/index-C6Ots8pT.css", { mode: "no-cors" }))).toBe(
      "cache-first",
    );
    // A file of a later release, not cached yet: fetched, then kept.
    expect(strategy(request("/assets/index-NEWHASH.js"))).toBe("cache-first");
  });

  it("gets the manifest and icons from the network, the cached copy offline", () => {
    expect(strategy(request("/manifest.webmanifest"))).toBe("network-first");
    expect(strategy(request("/icons/icon-192.png"))).toBe("network-first");
  });

  it("never touches the API: GET, navigations or health checks", () => {
    const api = [
      "/v1/tasks",
      "/v1/tasks/123",
      "/v1/auth/guest",
      "/v1/posture/history",
      "/healthz",
      "/readyz",
      "/docs",
      "/docs/oauth2-redirect",
      "/redoc",
      "/openapi.json",
      "/metrics",
    ];
    for (const path of api) {
      expect(strategy(request(path)), path).toBe("network");
      expect(strategy(request(path, { mode: "navigate" })), path).toBe("network");
    }
    for (const prefix of NEVER_CACHE_PREFIXES) {
      expect(strategy(request(prefix)), prefix).toBe("network");
    }
  });

  it("never touches websockets", () => {
    expect(strategy(request("wss://saekdam.example/v1/tasks/1/events"))).toBe("network");
    expect(strategy(request("ws://saekdam.example/v1/posture/stream"))).toBe("network");
    expect(strategy(request("/socket", { headers: { Upgrade: "websocket" } }))).toBe("network");
  });

  it("never touches anything but GET", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]) {
      expect(strategy(request("/v1/tasks", { method })), method).toBe("network");
      expect(strategy(request("/assets/index-CBGj8OJG.js", { method })), method).toBe("network");
      expect(strategy(request("/", { method, mode: "navigate" })), method).toBe("network");
    }
  });

  it("never touches other origins (presigned S3 uploads and downloads)", () => {
    const s3 = "https://s3.example.com/saekdam/results/1.png?X-Amz-Signature=abc";
    expect(strategy(request(s3))).toBe("network");
    expect(strategy(request(s3, { mode: "navigate" }))).toBe("network");
    expect(strategy(request("https://s3.example.com/assets/index-CBGj8OJG.js"))).toBe("network");
    expect(strategy(request("http://saekdam.example/assets/index-CBGj8OJG.js"))).toBe("network");
  });

  it("leaves partial requests, blobs and files it does not know to the network", () => {
    const range = { headers: { Range: "bytes=0-99" } };
    expect(strategy(request("/assets/index-CBGj8OJG.js", range))).toBe("network");
    expect(strategy(request("blob:https://saekdam.example/1"))).toBe("network");
    expect(strategy(request("data:image/png;base64,AAAA"))).toBe("network");
    expect(strategy(request("/robots.txt"))).toBe("network");
    expect(strategy(request("/manifest.webmanifest?v=2"))).toBe("network");
    expect(strategy({ ...request("/"), url: "not a url" })).toBe("network");
  });
});

describe("the worker's caches", () => {
  it("drops caches of earlier releases only, never anyone else's", () => {
    const current = cacheNameFor("new");
    expect(isStaleCache(cacheNameFor("old"), current)).toBe(true);
    expect(isStaleCache(current, current)).toBe(false);
    expect(isStaleCache("someone-elses-cache", current)).toBe(false);
  });
});
