import { useEffect, useId, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { shrinkForUpload, type PreparedImage } from "../images/shrink";
import {
  moveItem,
  PANORAMA_MAX,
  PANORAMA_MIN,
  panoramaParams,
  removeItem,
  takeUpTo,
  type PanoramaMode,
} from "../tasks/photoJobs";
import { asUpload, startTask } from "../tasks/start";
import { Choices } from "./Choices";
import { useApp } from "./context";
import { ErrorNote, errorOf, PageTitle, useStartSteps, type Problem } from "./common";
import { takeFiles, useKind } from "./PhotoField";

interface Item {
  key: number;
  prepared: PreparedImage;
  url: string;
}

export function PanoramaPage() {
  const { api, t, notes, navigate } = useApp();
  const id = useId();
  const kind = useKind("panorama");
  const min = Math.max(PANORAMA_MIN, kind.info?.uploads.image?.min ?? PANORAMA_MIN);
  const max = kind.info?.uploads.image?.max ?? PANORAMA_MAX;
  const steps = useStartSteps("photo");

  const [items, setItems] = useState<Item[]>([]);
  const [preparing, setPreparing] = useState<{ n: number; count: number } | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [said, setSaid] = useState("");
  const [mode, setMode] = useState<PanoramaMode>("panorama");
  const [error, setError] = useState<Problem>(null);
  const nextKey = useRef(1);
  const focusNext = useRef<string | null>(null);
  const itemsRef = useRef(items);
  itemsRef.current = items;

  // Every preview URL goes when the page does.
  useEffect(() => () => itemsRef.current.forEach((item) => URL.revokeObjectURL(item.url)), []);

  // After a move or removal the list is re-rendered: focus goes where the person expects it.
  useEffect(() => {
    if (!focusNext.current) return;
    document.getElementById(focusNext.current)?.focus();
    focusNext.current = null;
  }, [items]);

  const busy = steps.busy;
  const working = busy || preparing !== null;
  const buttonId = (key: number, what: "up" | "down" | "remove") => `${id}-${key}-${what}`;
  const chooseId = `${id}-choose`;

  async function addFiles(event: ChangeEvent<HTMLInputElement>, replace: boolean) {
    const files = takeFiles(event);
    if (files.length === 0) return;
    setError(null);
    const existing = replace ? 0 : itemsRef.current.length;
    const { taken, leftOut } = takeUpTo(existing, files, max);
    const found: string[] = [];
    const added: Item[] = [];
    for (const [i, file] of taken.entries()) {
      setPreparing({ n: i + 1, count: taken.length });
      try {
        const prepared = await shrinkForUpload(file, kind.limits);
        added.push({ key: nextKey.current++, prepared, url: URL.createObjectURL(prepared.blob) });
      } catch (cause) {
        found.push(t.t("panorama.photoFailed", { name: file.name, reason: t.error(errorOf(cause)) }));
      }
    }
    setPreparing(null);
    if (leftOut > 0) found.push(t.t("panorama.tooMany", { max, count: leftOut }));
    setProblems(found);
    // "Choose photos" starts the list anew, unless none of the new ones could be used.
    const fresh = replace && added.length > 0;
    if (fresh) itemsRef.current.forEach((item) => URL.revokeObjectURL(item.url));
    const next = fresh ? added : [...itemsRef.current, ...added];
    setItems(next);
    setSaid(t.t("panorama.count", { count: next.length, max }));
  }

  function move(index: number, delta: number) {
    const next = moveItem(items, index, delta);
    const to = index + delta;
    const item = items[index];
    if (!item || to < 0 || to >= items.length) return;
    // The same button again, unless the photo is now at that end (it is disabled there).
    const atEnd = delta < 0 ? to === 0 : to === items.length - 1;
    focusNext.current = buttonId(item.key, atEnd ? (delta < 0 ? "down" : "up") : delta < 0 ? "up" : "down");
    setItems(next);
    setSaid(t.t("panorama.moved", { n: to + 1, count: items.length }));
  }

  function remove(index: number) {
    const item = items[index];
    if (!item) return;
    const next = removeItem(items, index);
    URL.revokeObjectURL(item.url);
    const neighbour = next[index] ?? next[index - 1];
    focusNext.current = neighbour ? buttonId(neighbour.key, "remove") : chooseId;
    setItems(next);
    setSaid(t.t("panorama.removed", { n: index + 1, count: next.length }));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (items.length < min) {
      return setError(t.t("panorama.needMore", { min, missing: min - items.length }));
    }
    setError(null);
    try {
      const { taskId } = await startTask(
        api,
        "panorama",
        items.map((item) => asUpload(item.prepared, "image")),
        panoramaParams(mode),
        steps.onStep,
      );
      notes.put(taskId, { photos: items.length });
      navigate({ name: "task", id: taskId });
    } catch (cause) {
      setError(errorOf(cause));
      steps.reset();
    }
  }

  return (
    <section className="page">
      <PageTitle>{t.t("panorama.title")}</PageTitle>
      <form className="form" onSubmit={submit} noValidate>
        <fieldset className="card" aria-describedby={`${id}-hint`}>
          <legend>{t.t("panorama.photos")}</legend>
          <p className="hint" id={`${id}-hint`}>
            {t.t("panorama.photosHint")}
          </p>
          <div className="actions">
            <label className="button button-file">
              <input
                id={chooseId}
                className="visually-hidden"
                type="file"
                accept="image/*"
                multiple
                onChange={(e) => void addFiles(e, true)}
                disabled={working}
              />
              {t.t("panorama.choose")}
            </label>
            {items.length > 0 && items.length < max && (
              <label className="button button-file">
                <input
                  className="visually-hidden"
                  type="file"
                  accept="image/*"
                  multiple
                  onChange={(e) => void addFiles(e, false)}
                  disabled={working}
                />
                {t.t("panorama.add")}
              </label>
            )}
          </div>
          <div aria-live="polite">
            {preparing && <p role="status">{t.t("panorama.preparing", preparing)}</p>}
            {!preparing && items.length === 0 && problems.length === 0 && (
              <p className="hint">{t.t("panorama.none")}</p>
            )}
          </div>
          {problems.length > 0 && (
            <div className="note note-error" role="alert">
              {problems.map((problem, i) => (
                <p key={i}>{problem}</p>
              ))}
            </div>
          )}
          {items.length > 0 && (
            <>
              <ol className="pano-list" aria-label={t.t("panorama.list")}>
                {items.map((item, i) => {
                  const n = i + 1;
                  return (
                    <li key={item.key} className="pano-item">
                      <span className="pano-number" aria-hidden="true">
                        {n}
                      </span>
                      <img
                        className="pano-thumb"
                        src={item.url}
                        alt={t.t("panorama.photoAlt", { n })}
                        width={item.prepared.width || undefined}
                        height={item.prepared.height || undefined}
                      />
                      <span className="pano-info hint">
                        {item.prepared.width > 0 &&
                          t.t("panorama.photoInfo", {
                            width: item.prepared.width,
                            height: item.prepared.height,
                            size: t.bytes(item.prepared.blob.size),
                          })}
                      </span>
                      <span className="pano-buttons">
                        <button
                          type="button"
                          id={buttonId(item.key, "up")}
                          className="button"
                          aria-label={t.t("panorama.moveUpName", { n })}
                          disabled={i === 0 || working}
                          onClick={() => move(i, -1)}
                        >
                          {t.t("panorama.moveUp")}
                        </button>
                        <button
                          type="button"
                          id={buttonId(item.key, "down")}
                          className="button"
                          aria-label={t.t("panorama.moveDownName", { n })}
                          disabled={i === items.length - 1 || working}
                          onClick={() => move(i, 1)}
                        >
                          {t.t("panorama.moveDown")}
                        </button>
                        <button
                          type="button"
                          id={buttonId(item.key, "remove")}
                          className="button button-danger"
                          aria-label={t.t("panorama.removeName", { n })}
                          disabled={working}
                          onClick={() => remove(i)}
                        >
                          {t.t("panorama.remove")}
                        </button>
                      </span>
                    </li>
                  );
                })}
              </ol>
              <p className="hint">
                {t.t("panorama.count", { count: items.length, max })}{" "}
                {items.length < min && t.t("panorama.needMore", { min, missing: min - items.length })}
              </p>
            </>
          )}
          <p className="visually-hidden" role="status">
            {said}
          </p>
        </fieldset>

        <fieldset className="card">
          <legend>{t.t("panorama.mode")}</legend>
          <Choices
            name="mode"
            wide
            items={[
              { value: "panorama", label: t.t("panorama.modePanorama") },
              { value: "scans", label: t.t("panorama.modeScans") },
            ]}
            value={mode}
            onChange={(value) => setMode(value as PanoramaMode)}
            disabled={busy}
          />
        </fieldset>

        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="button button-primary button-wide" disabled={working}>
            {busy ? steps.text : t.t("panorama.submit")}
          </button>
        </div>
        <p className="visually-hidden" role="status">
          {steps.text}
        </p>
      </form>
    </section>
  );
}
