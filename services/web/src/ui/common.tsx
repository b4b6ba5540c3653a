import { useEffect, useRef, type ReactNode } from "react";
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
