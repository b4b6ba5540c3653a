// An alert reaches the person as a browser notification (when allowed) and a short tone
// (when chosen). The sentence is the page's own, in the page's language; the server's
// English one is kept for states this client does not know.
import type { StringKey, Translator } from "../i18n";
import type { PostureAlert } from "./postureStream";

/** The sentence for an alert: by state, a firmer one once it has been ignored. */
export function alertSentence(t: Translator, alert: PostureAlert): string {
  const firm = alert.level >= 2 ? "Again" : "";
  if (alert.state === "forward_head") return t.t(`posture.alertForward${firm}` as StringKey);
  if (alert.state === "looking_down") return t.t(`posture.alertDown${firm}` as StringKey);
  return alert.message;
}

export type NotifyPermission = "granted" | "denied" | "default" | "unsupported";

export function notificationPermission(): NotifyPermission {
  if (typeof Notification === "undefined") return "unsupported";
  return Notification.permission;
}

/** Asks (from a click only: browsers ignore other asks) and says what the person chose. */
export async function askNotificationPermission(): Promise<NotifyPermission> {
  if (typeof Notification === "undefined") return "unsupported";
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** A notification through the service worker where there is one (phones allow no other
 * kind), else the page's own; one at a time (`tag`), the newest replacing the last. */
export async function showAlertNotification(title: string, body: string): Promise<void> {
  if (notificationPermission() !== "granted") return;
  const options = { body, tag: "saekdam-posture", icon: "/icons/icon-192.png" };
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (registration) return await registration.showNotification(title, options);
    new Notification(title, options);
  } catch {
    // A notification that could not be shown is not worth an error on the page.
  }
}

let audio: AudioContext | null = null;

/** A short, soft two-note chime (Web Audio: no sound file to load). */
export function playAlertTone(): void {
  try {
    audio ??= new AudioContext();
    const start = audio.currentTime;
    for (const [offset, frequency] of [[0, 660], [0.18, 880]] as const) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.3);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.32);
    }
  } catch {
    // No audio output: the alert is still on the page.
  }
}
