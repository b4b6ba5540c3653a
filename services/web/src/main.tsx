import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { registerServiceWorker } from "./pwa/register";
import { App } from "./ui/App";
import "./styles.css";

// The dev server runs on its own port: the absolute URLs the API hands out (its public
// address) are sent through the dev proxy instead, or the browser would refuse them (CORS).
const rebaseUrl = import.meta.env.DEV
  ? (url: string) => (url.startsWith(__DEV_API_TARGET__) ? url.slice(__DEV_API_TARGET__.length) : url)
  : undefined;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App {...(rebaseUrl ? { rebaseUrl } : {})} />
  </StrictMode>,
);

// Offline start and installation (public/manifest.webmanifest): the service worker exists in
// production builds only (vite.config.ts builds it); the dev server never registers one.
if (import.meta.env.PROD) registerServiceWorker(window);
