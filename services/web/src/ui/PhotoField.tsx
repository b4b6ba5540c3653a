// Choosing one photo (camera or file), shrunk on the device for sending, with a preview:
// the mural's wall photo and the filter's photo.
import { useEffect, useId, useRef, useState, type ChangeEvent, type ReactNode } from "react";
import type { KindInfo } from "../api/client";
import type { StringKey } from "../i18n";
import { DEFAULT_LIMITS, limitsFor, shrinkForUpload, type PreparedImage, type UploadLimits } from "../images/shrink";
import { useApp } from "./context";
import { ErrorNote, errorOf, type Problem } from "./common";

export interface ChosenPhoto {
  prepared: PreparedImage;
  url: string;
}

/** The kind's side limits and upload counts from `GET /v1/kinds` (ours until it answers). */
export function useKind(kind: string): { limits: UploadLimits; info: KindInfo | null } {
  const { api } = useApp();
  const [found, setFound] = useState<{ limits: UploadLimits; info: KindInfo | null }>({
    limits: DEFAULT_LIMITS,
    info: null,
  });
  useEffect(() => {
    let live = true;
    api.kinds().then(
      (kinds) => {
        const info = kinds.find((k) => k.kind === kind) ?? null;
        if (live) setFound({ limits: limitsFor(info ?? undefined), info });
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api, kind]);
  return found;
}

/** One photo, prepared for sending; its object URL is revoked when replaced or left. */
export function useChosenPhoto(limits: UploadLimits) {
  const [photo, setPhoto] = useState<ChosenPhoto | null>(null);
  const [preparing, setPreparing] = useState(false);
  const [error, setError] = useState<Problem>(null);
  const url = useRef<string | null>(null);

  useEffect(
    () => () => {
      if (url.current) URL.revokeObjectURL(url.current);
    },
    [],
  );

  async function choose(file: File) {
    setPreparing(true);
    setError(null);
    try {
      const prepared = await shrinkForUpload(file, limits);
      if (url.current) URL.revokeObjectURL(url.current);
      url.current = URL.createObjectURL(prepared.blob);
      setPhoto({ prepared, url: url.current });
    } catch (cause) {
      setError(errorOf(cause));
    } finally {
      setPreparing(false);
    }
  }

  function forget() {
    if (url.current) URL.revokeObjectURL(url.current);
    url.current = null;
    setPhoto(null);
  }

  return { photo, preparing, error, choose, forget };
}

export type PhotoChoice = ReturnType<typeof useChosenPhoto>;

/** The photo's fieldset: take or choose, what is happening, the preview. */
export function PhotoFieldset({
  choice,
  busy,
  onFile,
  legend,
  hint,
  alt,
  children,
}: {
  choice: PhotoChoice;
  busy: boolean;
  onFile: (event: ChangeEvent<HTMLInputElement>) => void;
  legend: StringKey;
  hint: StringKey;
  alt: StringKey;
  children?: ReactNode;
}) {
  const { t } = useApp();
  const id = useId();
  const { photo, preparing, error } = choice;
  return (
    <fieldset className="card" aria-describedby={`${id}-photo-hint`}>
      <legend>{t.t(legend)}</legend>
      <p className="hint" id={`${id}-photo-hint`}>
        {t.t(hint)}
      </p>
      <div className="actions">
        <label className="button button-file">
          <input
            className="visually-hidden"
            type="file"
            accept="image/*"
            capture="environment"
            onChange={onFile}
            disabled={busy || preparing}
          />
          {t.t("mural.takePhoto")}
        </label>
        <label className="button button-file">
          <input
            className="visually-hidden"
            type="file"
            accept="image/*"
            onChange={onFile}
            disabled={busy || preparing}
          />
          {t.t("mural.choosePhoto")}
        </label>
      </div>
      <div aria-live="polite">
        {preparing && <p role="status">{t.t("mural.preparing")}</p>}
        {!preparing && !photo && !error && <p className="hint">{t.t("mural.noPhoto")}</p>}
      </div>
      <ErrorNote error={error} />
      {photo && (
        <figure className="photo-preview">
          <img
            src={photo.url}
            alt={t.t(alt)}
            width={photo.prepared.width || undefined}
            height={photo.prepared.height || undefined}
          />
          <figcaption className="hint">
            {photo.prepared.width > 0 &&
              t.t("mural.photoInfo", {
                width: photo.prepared.width,
                height: photo.prepared.height,
                size: t.bytes(photo.prepared.blob.size),
              })}{" "}
            {photo.prepared.shrunk && t.t("mural.photoShrunk")}
          </figcaption>
        </figure>
      )}
      {children}
    </fieldset>
  );
}

/** The file an input was given, the input emptied (choosing the same file again is a change too). */
export function takeFile(event: ChangeEvent<HTMLInputElement>): File | null {
  const file = event.target.files?.[0] ?? null;
  event.target.value = "";
  return file;
}

export function takeFiles(event: ChangeEvent<HTMLInputElement>): File[] {
  const files = [...(event.target.files ?? [])];
  event.target.value = "";
  return files;
}
