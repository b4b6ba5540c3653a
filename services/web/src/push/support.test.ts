import { describe, expect, it } from "vitest";
import { pushSupport } from "./support";

const everything = () => ({
  isSecureContext: true,
  navigator: { serviceWorker: {} },
  PushManager: class {},
  Notification: class {},
});

describe("push support", () => {
  it("is there with a service worker, PushManager and Notification on a secure page", () => {
    expect(pushSupport(everything())).toEqual({ supported: true });
  });

  it("needs a secure context", () => {
    expect(pushSupport({ ...everything(), isSecureContext: false })).toEqual({
      supported: false,
      reason: "push_insecure_context",
    });
  });

  it("says what is missing", () => {
    expect(pushSupport({ ...everything(), navigator: {} })).toMatchObject({
      supported: false,
      reason: "push_unsupported",
      missing: "serviceWorker",
    });
    // Safari on iOS outside a Home Screen app: service workers, but no PushManager.
    const { PushManager: _p, ...noPush } = everything();
    expect(pushSupport(noPush)).toMatchObject({ reason: "push_unsupported", missing: "PushManager" });
    const { Notification: _n, ...noNotification } = everything();
    expect(pushSupport(noNotification)).toMatchObject({ missing: "Notification" });
  });
});
