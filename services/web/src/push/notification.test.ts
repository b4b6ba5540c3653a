import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi, type Mock } from "vitest";
import { pickLanguage } from "../i18n/lang";
import { hrefFor, parseHash } from "../ui/router";
import {
  clickedUrl,
  NOTIFICATION_ICON,
  notificationFor,
  openClicked,
  TASKS_URL,
  taskUrl,
  workerLang,
  type WindowClientLike,
} from "./notification";

const ORIGIN = "https://saekdam.example";
const data = (text: string) => ({ text: () => text });

// What the worker sends (saekdam_worker/notify/push.py `notification`).
const COMPLETED = JSON.stringify({
  type: "task.completed",
  task_id: "0b9c7a52-1f7e-4c7e-9a55-3d3c2d5c8e11",
  kind: "mural",
  status: "COMPLETED",
  title: "Your mural is ready",
  body: "Tap to see it.",
});

describe("the notification for a push", () => {
  it("shows the worker's title and body, tagged with the task, leading to its page", () => {
    expect(notificationFor(data(COMPLETED))).toEqual({
      title: "Your mural is ready",
      options: {
        body: "Tap to see it.",
        tag: "0b9c7a52-1f7e-4c7e-9a55-3d3c2d5c8e11",
        icon: NOTIFICATION_ICON,
        data: { url: "/#/tasks/0b9c7a52-1f7e-4c7e-9a55-3d3c2d5c8e11" },
      },
    });
  });

  it("uses one of the app's own icons", () => {
    const file = fileURLToPath(new URL(`../../public${NOTIFICATION_ICON}`, import.meta.url));
    expect(existsSync(file)).toBe(true);
  });

  it("leads to the route the app has for the task", () => {
    const id = "a b/c";
    expect(taskUrl(id)).toBe(`/${hrefFor({ name: "task", id })}`);
    expect(parseHash(new URL(taskUrl(id), ORIGIN).hash)).toEqual({ name: "task", id });
    expect(parseHash(new URL(TASKS_URL, ORIGIN).hash)).toEqual({ name: "tasks" });
  });

  it("is generic for empty, broken or foreign data", () => {
    for (const bad of [null, undefined, data(""), data("not json"), data("[1, 2]"), data('"text"'), data("{}")]) {
      const shown = notificationFor(bad);
      expect(shown.title).toBe("Saekdam");
      expect(shown.options.body).toMatch(/tasks/);
      expect(shown.options.tag).toBeUndefined();
      expect(shown.options.data.url).toBe(TASKS_URL);
    }
    const throwing = {
      text: () => {
        throw new Error("gone");
      },
    };
    expect(notificationFor(throwing).title).toBe("Saekdam");
    expect(notificationFor(data(""), "ko").title).toBe("색담");
  });

  it("fills in what a message lacks, and cuts what is too long", () => {
    const noTitle = notificationFor(data(JSON.stringify({ task_id: "t1", title: 7 })));
    expect(noTitle.title).toBe("Saekdam");
    expect(noTitle.options.tag).toBe("t1");
    expect(noTitle.options.data.url).toBe("/#/tasks/t1");
    const noBody = notificationFor(data(JSON.stringify({ task_id: "t1", title: "Done" })));
    expect(noBody.options.body).toBe("");
    const long = notificationFor(data(JSON.stringify({ title: "x".repeat(500), body: "y".repeat(900) })));
    expect(long.title.length).toBe(100);
    expect(long.options.body.length).toBe(300);
  });

  it("picks the worker's language as the app does", () => {
    for (const languages of [["ko-KR", "en"], ["fr", "ko"], ["en-GB", "ko"], ["de"], []]) {
      expect(workerLang(languages)).toBe(pickLanguage(languages));
    }
    expect(workerLang(undefined)).toBe("en");
  });
});

describe("a click on a notification", () => {
  it("opens only our own paths", () => {
    expect(clickedUrl({ url: "/#/tasks/t1" })).toBe("/#/tasks/t1");
    for (const bad of [{ url: "https://evil.example/" }, { url: "//evil.example/x" }, { url: "/\\evil" }, null, "x", {}]) {
      expect(clickedUrl(bad)).toBe(TASKS_URL);
    }
  });

  type FakeWindow = WindowClientLike & {
    focus: Mock<() => Promise<WindowClientLike>>;
    navigate: Mock<(url: string) => Promise<WindowClientLike | null>>;
  };
  function windowClient(url: string, extra: Partial<FakeWindow> = {}) {
    const client: FakeWindow = {
      url,
      focused: false,
      visibilityState: "hidden",
      focus: vi.fn(async (): Promise<WindowClientLike> => client),
      navigate: vi.fn(async (next: string): Promise<WindowClientLike> => ({ ...client, url: next })),
      ...extra,
    };
    return client;
  }

  function clientsWith(list: WindowClientLike[]) {
    return {
      matchAll: vi.fn(async () => list),
      openWindow: vi.fn(async () => null),
    };
  }

  it("focuses an open window of ours and shows it the task", async () => {
    const other = windowClient("https://elsewhere.example/");
    const hidden = windowClient(`${ORIGIN}/#/mural`);
    const visible = windowClient(`${ORIGIN}/#/board`, { visibilityState: "visible" });
    const clients = clientsWith([other, hidden, visible]);
    await openClicked("/#/tasks/t1", clients, ORIGIN);
    expect(clients.matchAll).toHaveBeenCalledWith({ type: "window", includeUncontrolled: true });
    expect(visible.focus).toHaveBeenCalled();
    expect(visible.navigate).toHaveBeenCalledWith(`${ORIGIN}/#/tasks/t1`);
    expect(hidden.focus).not.toHaveBeenCalled();
    expect(other.focus).not.toHaveBeenCalled();
    expect(clients.openWindow).not.toHaveBeenCalled();
  });

  it("prefers the focused window, and does not reload one already on the page", async () => {
    const focused = windowClient(`${ORIGIN}/#/tasks/t1`, { focused: true });
    const visible = windowClient(`${ORIGIN}/#/board`, { visibilityState: "visible" });
    const clients = clientsWith([visible, focused]);
    await openClicked("/#/tasks/t1", clients, ORIGIN);
    expect(focused.focus).toHaveBeenCalled();
    expect(focused.navigate).not.toHaveBeenCalled();
    expect(visible.focus).not.toHaveBeenCalled();
  });

  it("opens a new window when none of ours is open", async () => {
    const clients = clientsWith([windowClient("https://elsewhere.example/")]);
    await openClicked("/#/tasks/t1", clients, ORIGIN);
    expect(clients.openWindow).toHaveBeenCalledWith(`${ORIGIN}/#/tasks/t1`);
  });

  it("opens a new window when the open one cannot be moved", async () => {
    const uncontrolled = windowClient(`${ORIGIN}/#/mural`, {
      navigate: vi.fn(async (): Promise<WindowClientLike | null> => {
        throw new TypeError("not controlled");
      }),
    });
    const clients = clientsWith([uncontrolled]);
    await openClicked("/#/tasks/t1", clients, ORIGIN);
    expect(clients.openWindow).toHaveBeenCalledWith(`${ORIGIN}/#/tasks/t1`);
  });
});
