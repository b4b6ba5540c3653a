// What the service worker (src/pwa/sw.ts) does with a Web Push message and with a click on
// the notification it shows. Pure, and imported by the worker only: the build bundles it into
// /sw.js, which must stay one self-contained script (a module the app imports as well would
// become a shared chunk the worker imports).
//
// The message is the worker's `PushNotification` (packages/contracts/saekdam_contracts/push.py):
// `{type, task_id, kind, status, title, body}` as JSON, already in words (English).

/** One of the app's icons (public/icons/), cached with the shell. */
export const NOTIFICATION_ICON = "/icons/icon-192.png";

/** Where a notification without a task leads: the list of my tasks. */
export const TASKS_URL = "/#/tasks";

const MAX_TITLE = 100;
const MAX_BODY = 300;

type Lang = "en" | "ko";

/** A message whose data is missing or not the JSON we send still shows something. */
const GENERIC: Record<Lang, { title: string; body: string }> = {
  en: { title: "Saekdam", body: "One of your tasks has news. Tap to see your tasks." },
  ko: { title: "색담", body: "작업에 새 소식이 있습니다. 눌러서 내 작업을 확인하세요." },
};

/** The app's page for a task: the hash route `#/tasks/<id>` (src/ui/router.ts). */
export function taskUrl(taskId: string): string {
  return `/#/tasks/${encodeURIComponent(taskId)}`;
}

/** The worker's language for the generic text, as the app picks its own (src/i18n/lang.ts). */
export function workerLang(languages: readonly string[] | undefined | null): Lang {
  for (const tag of languages ?? []) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (primary === "ko") return "ko";
    if (primary === "en") return "en";
  }
  return "en";
}

/** The parts of a PushEvent's `data` (PushMessageData) read here. */
export interface PushDataLike {
  text(): string;
}

export interface ShownNotification {
  title: string;
  options: {
    body: string;
    /** The task's id: news about the same task replaces its earlier notification. */
    tag?: string;
    icon: string;
    data: { url: string };
  };
}

function text(value: unknown, max: number): string {
  return typeof value === "string" ? value.trim().slice(0, max) : "";
}

/** The notification for a push message; a generic one when its data is empty or not ours. */
export function notificationFor(data: PushDataLike | null | undefined, lang: Lang = "en"): ShownNotification {
  let message: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(data?.text() ?? "");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      message = parsed as Record<string, unknown>;
    }
  } catch {
    // empty, or not JSON: the generic notification
  }
  const taskId = text(message.task_id, 200);
  const title = text(message.title, MAX_TITLE);
  const body = text(message.body, MAX_BODY);
  const generic = GENERIC[lang];
  const shown: ShownNotification = {
    title: title || generic.title,
    options: {
      body: title ? body : body || generic.body,
      icon: NOTIFICATION_ICON,
      data: { url: taskId ? taskUrl(taskId) : TASKS_URL },
    },
  };
  if (taskId) shown.options.tag = taskId;
  return shown;
}

/** The page a clicked notification opens: its `data.url` when that is one of our paths. */
export function clickedUrl(data: unknown): string {
  const url = (data as { url?: unknown } | null | undefined)?.url;
  // A path of ours only (`/...`), never another origin (`//host`, `https:`).
  if (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") && !url.includes("\\")) {
    return url;
  }
  return TASKS_URL;
}

/** The parts of a WindowClient used here. */
export interface WindowClientLike {
  readonly url: string;
  readonly focused?: boolean;
  readonly visibilityState?: string;
  focus(): Promise<WindowClientLike>;
  navigate(url: string): Promise<WindowClientLike | null>;
}

/** The parts of the worker's `clients` used here. */
export interface ClientsLike {
  matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<readonly WindowClientLike[]>;
  openWindow(url: string): Promise<unknown>;
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * After a click: an open window of ours is focused and shown the page (the focused one first,
 * then a visible one, then any); with none, or when it cannot be moved (a page the worker
 * does not control), a new window opens on it.
 */
export async function openClicked(url: string, clients: ClientsLike, origin: string): Promise<void> {
  const target = new URL(url, origin).href;
  const ours = (await clients.matchAll({ type: "window", includeUncontrolled: true })).filter(
    (client) => originOf(client.url) === origin,
  );
  const client =
    ours.find((c) => c.focused) ?? ours.find((c) => c.visibilityState === "visible") ?? ours[0];
  if (client) {
    try {
      const focused = (await client.focus()) ?? client;
      if (focused.url !== target) await focused.navigate(target);
      return;
    } catch {
      // not ours to steer: a new window instead
    }
  }
  await clients.openWindow(target);
}
