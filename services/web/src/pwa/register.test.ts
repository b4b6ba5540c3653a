import { describe, expect, it, vi } from "vitest";
import { registerServiceWorker, SERVICE_WORKER_URL, type RegisterWindow } from "./register";

function fakeWindow(readyState: DocumentReadyState, withWorkers = true) {
  const register = vi.fn(() => Promise.resolve({} as ServiceWorkerRegistration));
  const listeners: Array<() => void> = [];
  const win: RegisterWindow = {
    navigator: withWorkers ? { serviceWorker: { register } } : {},
    document: { readyState },
    addEventListener: (_type, listener) => void listeners.push(listener),
  };
  return { win, register, load: () => listeners.forEach((listener) => listener()) };
}

describe("registering the service worker", () => {
  it("waits for the page to load", () => {
    const { win, register, load } = fakeWindow("interactive");
    registerServiceWorker(win);
    expect(register).not.toHaveBeenCalled();
    load();
    expect(register).toHaveBeenCalledWith(SERVICE_WORKER_URL, { scope: "/" });
  });

  it("registers at once when the page has loaded already", () => {
    const { win, register } = fakeWindow("complete");
    registerServiceWorker(win);
    expect(register).toHaveBeenCalledOnce();
  });

  it("does nothing in a browser without service workers", () => {
    const { win, load } = fakeWindow("loading", false);
    expect(() => {
      registerServiceWorker(win);
      load();
    }).not.toThrow();
  });

  it("keeps the page working when registration fails", async () => {
    const { win, register } = fakeWindow("complete");
    register.mockReturnValueOnce(Promise.reject(new Error("insecure origin")));
    registerServiceWorker(win);
    await Promise.resolve();
    expect(register).toHaveBeenCalledOnce();
  });

  it("is registered by main.tsx in production builds only", async () => {
    const { readFile } = await import("node:fs/promises");
    const main = await readFile(new URL("../main.tsx", import.meta.url), "utf8");
    expect(main).toMatch(/if \(import\.meta\.env\.PROD\) registerServiceWorker\(window\);/);
  });
});
