// Whether this browser can get Web Push notifications from the app at all, and if not, why
// (the reason is an error code with a sentence in src/i18n/errors.ts).

export type UnsupportedReason =
  /** Not https (nor localhost): browsers keep service workers and push to secure pages. */
  | "push_insecure_context"
  /** No service worker, PushManager or Notification (Safari on iOS outside a Home Screen app). */
  | "push_unsupported";

export type PushSupport =
  | { supported: true }
  | {
      supported: false;
      reason: UnsupportedReason;
      /** What is missing, for the curious (not shown). */
      missing?: "serviceWorker" | "PushManager" | "Notification";
    };

/** The parts of `window` the check reads. */
export interface SupportWindow {
  readonly isSecureContext?: boolean;
  readonly navigator: object;
}

export function pushSupport(win: SupportWindow = window): PushSupport {
  if (win.isSecureContext === false) return { supported: false, reason: "push_insecure_context" };
  if (!("serviceWorker" in win.navigator) || !(win.navigator as { serviceWorker?: unknown }).serviceWorker) {
    return { supported: false, reason: "push_unsupported", missing: "serviceWorker" };
  }
  if (!("PushManager" in win)) return { supported: false, reason: "push_unsupported", missing: "PushManager" };
  if (!("Notification" in win)) return { supported: false, reason: "push_unsupported", missing: "Notification" };
  return { supported: true };
}
