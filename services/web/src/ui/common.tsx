import { useEffect, useRef, useState, type ReactNode } from "react";
import type { OnStep, StartStep, UploadProgress } from "../tasks/start";
import { useApp } from "./context";

/** An error said as a sentence, announced to screen readers. */
export function ErrorNote({
  error,
  children,
}: {
  error: { code?: string | null; message?: string | null } | string | null | undefined;
  children?: ReactNode;
}) {
  const { t } = useApp();
  if (!error) return null;
  const text = typeof error === "string" ? error : t.error(error);
  return (
    <div className="note note-error" role="alert">
      <p>{text}</p>
      {children}
    </div>
  );
}

export function Loading() {
  const { t } = useApp();
  return (
    <p className="loading" role="status">
      {t.t("common.loading")}
    </p>
  );
}

/** The page's heading, focused after navigation so screen readers start there. */
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.body.dataset.navigated === "1") ref.current?.focus({ preventScroll: false });
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function errorOf(cause: unknown): { code: string; message: string } {
  if (cause && typeof cause === "object" && "code" in cause && typeof cause.code === "string") {
    return { code: cause.code, message: String((cause as { message?: unknown }).message ?? "") };
  }
  return { code: "internal_error", message: String((cause as Error)?.message ?? cause) };
}

export type Problem = { code: string; message: string } | string | null;

/** The start sequence's step, said as a short sentence (for the submit button and a status). */
export function useStartSteps(what: "photo" | "sketch") {
  const { t } = useApp();
  const [state, setState] = useState<{ step: StartStep; upload?: UploadProgress } | null>(null);
  const onStep: OnStep = (step, _taskId, upload) => setState(upload ? { step, upload } : { step });
  let text = "";
  if (state?.step === "creating") text = t.t("mural.step.creating");
  if (state?.step === "submitting") text = t.t("mural.step.submitting");
  if (state?.step === "uploading") {
    const upload = state.upload;
    text =
      upload && upload.count > 1
        ? t.t("start.uploadingPhotoN", { n: upload.index, count: upload.count })
        : what === "sketch"
          ? t.t("start.uploadingSketch")
          : t.t("mural.step.uploading");
  }
  return { busy: state !== null, text, onStep, reset: () => setState(null) };
}
