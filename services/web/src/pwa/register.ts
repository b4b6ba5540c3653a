// Registers the service worker (/sw.js, built from ./sw.ts) once the page has loaded, so its
// install (which downloads the app shell again to cache it) does not compete with the first
// load. Called by main.tsx in production builds only: the dev server has no /sw.js.

export const SERVICE_WORKER_URL = "/sw.js";

/** The parts of `window` this needs. */
export interface RegisterWindow {
  readonly navigator: { readonly serviceWorker?: Pick<ServiceWorkerContainer, "register"> };
  readonly document: { readonly readyState: DocumentReadyState };
  addEventListener(type: "load", listener: () => void, options: { once: true }): void;
}

export function registerServiceWorker(win: RegisterWindow): void {
  if (!("serviceWorker" in win.navigator) || !win.navigator.serviceWorker) return;
  const container = win.navigator.serviceWorker;
  const register = () => {
    // Without the worker the app still works, online only: nothing to tell the user.
    container.register(SERVICE_WORKER_URL, { scope: "/" }).catch(() => undefined);
  };
  if (win.document.readyState === "complete") register();
  else win.addEventListener("load", register, { once: true });
}
