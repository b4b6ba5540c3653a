// A remix: the API makes a CREATED task with a post's settings; the mural form starts from
// them, asks for the person's own wall photo, and submits to that task.
import { settingsFromParams, type MuralSettings } from "../tasks/mural";

/** What the mural form starts from: settings, and the task to submit to (a remix's). */
export type MuralDraft = Partial<MuralSettings> & { taskId?: string };

/** `POST /v1/posts/{id}/remix`'s answer as a mural draft; null for a kind the form cannot take. */
export function remixDraft(remix: {
  task_id: string;
  kind: string;
  params: Record<string, unknown>;
}): MuralDraft | null {
  if (remix.kind !== "mural" || !remix.task_id) return null;
  const settings: MuralDraft = { ...settingsFromParams(remix.params), taskId: remix.task_id };
  if (typeof remix.params.seed === "number") settings.seed = remix.params.seed;
  return settings;
}
