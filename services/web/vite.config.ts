import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the client on its own port and forwards the API's paths to the
// address `make run` listens on (the same proxy that serves the built client at `/`).
const API_TARGET = process.env.SAEKDAM_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
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
