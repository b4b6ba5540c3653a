import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { precacheUrls } from "./src/pwa/cachePolicy.ts";
import { POSE_BASE_URL, POSE_FILES, POSE_PACKAGE } from "./src/posture/poseAssets.ts";

// `npm run dev` serves the client on its own port and forwards the API's paths to the
// address `make run` listens on (the same proxy that serves the built client at `/`).
const API_TARGET = process.env.SAEKDAM_API ?? "http://127.0.0.1:8000";

const SW_SOURCE = resolve(import.meta.dirname, "src/pwa/sw.ts");
const SW_FILE = "sw.js";
const SW_PLACEHOLDER = "__SW_PRECACHE__";

function filesUnder(dir: string): string[] {
  if (!dir) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => name.split(sep).join("/"));
}

/**
 * Builds the service worker (src/pwa/sw.ts, rules in src/pwa/cachePolicy.ts) as /sw.js, a
 * classic script at the site's root (scope `/`), in the same build as the app: once every
 * other file is generated, it writes into the worker what to cache on install (the page,
 * public/'s files and every emitted /assets/ file) and a version hashed from those files'
 * contents, so a release with any changed file gets a new cache and the old one is dropped.
 */
function serviceWorker(): Plugin {
  let publicDir = "";
  return {
    name: "saekdam:service-worker",
    apply: "build",
    enforce: "post",
    configResolved(config) {
      publicDir = config.publicDir;
    },
    buildStart() {
      this.emitFile({ type: "chunk", id: SW_SOURCE, fileName: SW_FILE });
    },
    generateBundle(_options, bundle) {
      const worker = bundle[SW_FILE];
      if (!worker || worker.type !== "chunk") return this.error(`${SW_FILE} was not built`);
      // Loaded with navigator.serviceWorker.register(url) (not type: "module"): one script.
      if (worker.imports.length || worker.dynamicImports.length || worker.exports.length) {
        return this.error(`${SW_FILE} must be self-contained, found imports or exports`);
      }
      const publicFiles = filesUnder(publicDir);
      const contentOf = (name: string): string | Uint8Array => {
        const output = bundle[name];
        if (output) return output.type === "chunk" ? output.code : output.source;
        return readFileSync(join(publicDir, name));
      };
      const urls = precacheUrls(Object.keys(bundle), publicFiles, SW_FILE);
      const hash = createHash("sha256").update(worker.code);
      for (const url of urls) {
        hash.update(`\0${url}\0`).update(contentOf(url === "/" ? "index.html" : url.slice(1)));
      }
      const version = hash.digest("hex").slice(0, 16);
      const parts = worker.code.split(SW_PLACEHOLDER);
      if (parts.length !== 2) {
        return this.error(`${SW_FILE}: expected ${SW_PLACEHOLDER} once, found ${parts.length - 1}`);
      }
      // Its top-level names stay out of the worker's global scope.
      worker.code = `(() => {\n${parts.join(JSON.stringify({ version, urls }))}})();\n`;
      this.info(`${SW_FILE}: ${urls.length} files to cache, version ${version}`);
    },
  };
}

/**
 * MediaPipe Pose's model and WebAssembly files (src/posture/poseAssets.ts lists them), from
 * the npm package into the build under /mediapipe/pose/, and served from there by the dev
 * server: the posture coach loads them from our origin only. A missing file fails the build.
 */
function poseModelFiles(): Plugin {
  const packageDir = dirname(createRequire(import.meta.url).resolve(`${POSE_PACKAGE}/package.json`));
  const source = (file: string) => {
    const path = join(packageDir, file);
    if (!existsSync(path)) throw new Error(`${POSE_PACKAGE} has no ${file}; its version changed?`);
    return path;
  };
  return {
    name: "saekdam:pose-model-files",
    generateBundle() {
      if (this.meta.watchMode) return;
      for (const file of POSE_FILES) {
        this.emitFile({
          type: "asset",
          fileName: `${POSE_BASE_URL.slice(1)}${file}`,
          source: readFileSync(source(file)),
        });
      }
    },
    configureServer(server) {
      server.middlewares.use(POSE_BASE_URL, (request, response, next) => {
        const file = (request.url ?? "").split("?")[0]?.replace(/^\//, "") ?? "";
        if (!(POSE_FILES as readonly string[]).includes(file)) return next();
        response.setHeader(
          "Content-Type",
          file.endsWith(".wasm") ? "application/wasm" : file.endsWith(".js") ? "text/javascript" : "application/octet-stream",
        );
        createReadStream(source(file)).pipe(response);
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), poseModelFiles(), serviceWorker()],
  // Everything is served from our own origin, at `/`.
  base: "/",
  define: {
    // Only the dev server needs it: upload and download URLs the API builds are absolute
    // (its public address), and the page on the dev port must reach them through the proxy.
    __DEV_API_TARGET__: JSON.stringify(API_TARGET),
  },
  server: {
    proxy: {
      "/v1": {
        target: API_TARGET,
        ws: true,
        // The API only accepts websockets from its own allowed origins; the dev page's
        // origin is not one of them.
        rewriteWsOrigin: true,
      },
      "/healthz": API_TARGET,
      "/openapi.json": API_TARGET,
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2020",
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
