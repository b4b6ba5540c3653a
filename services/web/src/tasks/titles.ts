// A task's name for its page and for My tasks, whatever its kind.
import type { Translator } from "../i18n";
import type { TaskNote } from "./notes";

export interface Titled {
  kind?: string | null;
  params?: Record<string, unknown> | null;
}

const text = (value: unknown): string | null => (typeof value === "string" && value ? value : null);

/** "Ocean mural", "Sketch picture", "Pencil sketch filter", "Panorama of 3 photos"; null
 * when nothing is known of the task (the caller names it by its id). */
export function taskTitle(t: Translator, task: Titled, note?: TaskNote): string | null {
  const params = task.params ?? {};
  switch (task.kind) {
    case "mural": {
      const theme = text(params.theme);
      return theme ? t.t("task.heading", { theme: t.maybe(`theme.${theme}`, theme) }) : t.t("task.title");
    }
    case "sketch":
      return t.t("title.sketch");
    case "filter": {
      const filter = text(params.filter);
      return filter
        ? t.t("title.filter", { filter: t.maybe(`filterName.${filter}`, filter) })
        : t.t("title.filterAny");
    }
    case "panorama":
      return note?.photos && note.photos >= 2
        ? t.t("title.panorama", { count: note.photos })
        : t.t("title.panoramaAny");
    default: {
      // A mural from before kinds were sent, or a kind a newer server has.
      const theme = text(params.theme);
      if (theme) return t.t("task.heading", { theme: t.maybe(`theme.${theme}`, theme) });
      return task.kind ? t.maybe(`tasks.kind.${task.kind}`, task.kind) : null;
    }
  }
}
