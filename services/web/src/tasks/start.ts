// Starting any job: create → for each upload, ask for a slot and send the file → submit.
// Pure apart from the client it is given, so tests drive it with a fake. Every kind (mural,
// sketch, filter, panorama) starts through here; the uploads go in the order given, one after
// the other, which is the order the API hands them to the job (a panorama's left to right).
import type { Client, SubmitIn, UploadIn } from "../api/client";

export type Params = Record<string, unknown>;

export type StartStep = "creating" | "uploading" | "submitting";

export type UploadRole = UploadIn["role"];

/** A file ready to send (shrunk where needed), with the type to declare for it. */
export interface Photo {
  blob: Blob;
  type: string;
  name: string;
}

export interface TaskUpload extends Photo {
  role: UploadRole;
}

/** Which upload is being sent: `index` counts from 1. */
export interface UploadProgress {
  index: number;
  count: number;
}

export type StartApi = Pick<Client, "createTask" | "requestUpload" | "upload" | "submit">;

export type OnStep = (step: StartStep, taskId?: string, upload?: UploadProgress) => void;

export interface StartOptions {
  /** A CREATED task to use instead of creating one (a remix's task, made by the API). */
  taskId?: string | null;
}

/** Steps 1–4 for a job of `kind`; the task's id once it is QUEUED. */
export async function startTask(
  api: StartApi,
  kind: SubmitIn["kind"],
  uploads: readonly TaskUpload[],
  params: Params,
  onStep: OnStep = () => {},
  options: StartOptions = {},
): Promise<{ taskId: string; status: string }> {
  onStep("creating");
  const taskId = options.taskId ? options.taskId : (await api.createTask()).task_id;
  for (const [i, upload] of uploads.entries()) {
    onStep("uploading", taskId, { index: i + 1, count: uploads.length });
    const slot = await api.requestUpload(taskId, {
      role: upload.role,
      content_type: upload.type,
      size: upload.blob.size,
    });
    await api.upload(slot, upload.blob, upload.name);
  }
  onStep("submitting", taskId);
  const submitted = await api.submit(taskId, { kind, params });
  return { taskId, status: submitted.status };
}

/** The same file as an upload of `role`. */
export const asUpload = (photo: Photo, role: UploadRole): TaskUpload => ({
  role,
  blob: photo.blob,
  type: photo.type,
  name: photo.name,
});
