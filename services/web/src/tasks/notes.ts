// What this tab knows about a task that the API does not send back: how many photos a
// panorama was made of (TaskOut has no uploads, and params take no extra fields). Kept in
// session storage, so a reload keeps the titles; a few hundred tasks at most.
export interface TaskNote {
  photos?: number;
}

export interface TaskNotes {
  get(taskId: string): TaskNote | undefined;
  put(taskId: string, note: TaskNote): void;
  clear(): void;
}

type Store = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export const NOTES_KEY = "saekdam.taskNotes";

export function createTaskNotes(store: Store | null, limit = 200): TaskNotes {
  let entries: [string, TaskNote][] = read();

  function read(): [string, TaskNote][] {
    try {
      const parsed: unknown = JSON.parse(store?.getItem(NOTES_KEY) ?? "[]");
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(
        (e): e is [string, TaskNote] =>
          Array.isArray(e) && typeof e[0] === "string" && !!e[1] && typeof e[1] === "object",
      );
    } catch {
      return [];
    }
  }

  function write() {
    try {
      store?.setItem(NOTES_KEY, JSON.stringify(entries));
    } catch {
      // full or refused: the notes stay in memory for this page
    }
  }

  return {
    get: (taskId) => entries.find(([id]) => id === taskId)?.[1],
    put(taskId, note) {
      entries = [...entries.filter(([id]) => id !== taskId), [taskId, note]];
      if (entries.length > limit) entries = entries.slice(entries.length - limit);
      write();
    },
    clear() {
      entries = [];
      try {
        store?.removeItem(NOTES_KEY);
      } catch {
        // nothing to do
      }
    },
  };
}
