import { useEffect, useId, useState, type ChangeEvent, type FormEvent } from "react";
import type { Themes } from "../api/client";
import { maskUpload } from "../tasks/brush";
import { MAX_PROMPT_CHARS, muralParams, startMural, type Photo } from "../tasks/mural";
import { MAX_POINTS, type RegionChoice } from "../tasks/wall";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle, useStartSteps, type Problem } from "./common";
import { PhotoFieldset, takeFile, useChosenPhoto, useKind } from "./PhotoField";
import { WallPicker } from "./WallPicker";

const THEMES_RETRY_MS = 5000;

export function MuralPage() {
  const { api, t, photos, navigate, draft } = useApp();
  const [initial] = useState(() => draft.take());
  const id = useId();

  const { limits } = useKind("mural");
  const [themes, setThemes] = useState<Themes | null>(null);
  const [themesError, setThemesError] = useState<Problem>(null);
  const [theme, setTheme] = useState(initial?.theme ?? "");
  const [prompt, setPrompt] = useState(initial?.prompt ?? "");
  // The wall as the picker has it: the Region to send, or what is still missing.
  const [wall, setWall] = useState<RegionChoice>({ region: { mode: "auto" } });
  // A painted wall's mask being rendered, before the steps start.
  const [packing, setPacking] = useState(false);

  const choice = useChosenPhoto(limits);
  const { photo, preparing } = choice;
  const steps = useStartSteps("photo");
  const [error, setError] = useState<Problem>(null);

  function loadThemes() {
    setThemesError(null);
    api.themes().then(setThemes, (cause) => setThemesError(errorOf(cause)));
  }

  useEffect(() => {
    loadThemes();
  }, [api]);

  // Once the themes are known: keep the chosen one if it can be painted, else the first that can.
  useEffect(() => {
    if (!themes) return;
    const current = themes.themes.find((th) => th.name === theme);
    if (!current?.available) {
      setTheme(themes.themes.find((th) => th.available)?.name ?? "");
    }
  }, [themes]);

  // No painter running yet (a worker starting, or scaled to zero): ask again now and then,
  // so the page comes alive by itself when one starts.
  useEffect(() => {
    if (!themes || themes.themes.some((th) => th.available)) return;
    const timer = window.setTimeout(loadThemes, THEMES_RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [themes]);

  function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = takeFile(event);
    if (!file) return;
    setError(null);
    void choice.choose(file);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!photo) return setError(t.t("mural.needPhoto"));
    if (!theme) return setError(t.t("mural.needTheme"));
    if (theme === "custom" && !prompt.trim()) return setError(t.t("mural.wishRequired"));
    if (wall.error) return setError(t.t(wall.error, { max: MAX_POINTS }));
    const region = wall.region;
    setError(null);
    // A painted wall goes as a PNG mask exactly the size of the photo as it is sent (after any
    // shrinking here): the API refuses any other size (mask_size_mismatch).
    let mask: Photo | null = null;
    if (region.mode === "mask") {
      setPacking(true);
      try {
        mask = wall.mask ? await maskUpload(wall.mask, photo.prepared) : null;
      } catch {
        return setError(t.t("mural.wallMaskFailed"));
      } finally {
        setPacking(false);
      }
      // Nothing left white (all of it rubbed out): the painter would find no wall.
      if (!mask) return setError(t.t("mural.wallNeedMask"));
    }
    try {
      const params = muralParams({ theme, prompt, region, seed: initial?.seed ?? null });
      // A remix's task is already made (CREATED, waiting for this photo): it is used, not a new one.
      // With a mask the two uploads are said as one step ("Sending the photo…"), not "photo 2 of 2".
      const onStep: typeof steps.onStep = mask ? (step, taskId) => steps.onStep(step, taskId) : steps.onStep;
      const { taskId } = await startMural(api, photo.prepared, params, onStep, {
        taskId: initial?.taskId ?? null,
        mask,
      });
      photos.put(taskId, { blob: photo.prepared.blob, type: photo.prepared.type, name: photo.prepared.name });
      navigate({ name: "task", id: taskId });
    } catch (cause) {
      setError(errorOf(cause));
      steps.reset();
    }
  }

  const busy = steps.busy;
  const stepText = steps.text;
  const available = themes?.themes.filter((th) => th.available) ?? [];

  return (
    <section className="page">
      <PageTitle>{t.t("mural.title")}</PageTitle>
      {initial && !initial.taskId && <p className="note">{t.t("mural.prefilled")}</p>}
      {initial?.taskId && <p className="note">{t.t("mural.remixNote")}</p>}
      <form className="form" onSubmit={submit} noValidate>
        <PhotoFieldset
          choice={choice}
          busy={busy}
          onFile={onFile}
          legend="mural.photo"
          hint="mural.photoHint"
          alt="mural.photoAlt"
        />

        <fieldset className="card">
          <legend>{t.t("mural.theme")}</legend>
          {!themes && !themesError && <Loading />}
          {themesError && (
            <ErrorNote error={themesError}>
              <button type="button" className="button" onClick={loadThemes}>
                {t.t("common.retry")}
              </button>
            </ErrorNote>
          )}
          {themes && available.length === 0 && (
            <p className="note">{t.t("mural.noThemeAvailable")}</p>
          )}
          {themes && available.length > 0 && available.length < themes.themes.length && (
            <p className="hint">{t.t("mural.someUnavailable")}</p>
          )}
          {themes && (
            <div className="choices">
              {themes.themes.map((th) => {
                const reasonId = `${id}-theme-${th.name}-reason`;
                return (
                  <label key={th.name} className="choice" data-disabled={!th.available || undefined}>
                    <input
                      type="radio"
                      name="theme"
                      value={th.name}
                      checked={theme === th.name}
                      disabled={!th.available || busy}
                      aria-describedby={th.available ? undefined : reasonId}
                      onChange={() => setTheme(th.name)}
                    />
                    <span className="choice-label">{t.maybe(`theme.${th.name}`, th.name)}</span>
                    {!th.available && (
                      <span className="choice-reason" id={reasonId}>
                        {th.reason ? t.error(th.reason) : t.t("mural.themeUnavailable")}
                      </span>
                    )}
                  </label>
                );
              })}
            </div>
          )}
        </fieldset>

        <div className="card field">
          <label htmlFor={`${id}-wish`}>{t.t("mural.wish")}</label>
          <textarea
            id={`${id}-wish`}
            rows={3}
            maxLength={MAX_PROMPT_CHARS}
            value={prompt}
            required={theme === "custom"}
            aria-describedby={`${id}-wish-hint`}
            onChange={(e) => setPrompt(e.target.value)}
            disabled={busy}
          />
          <p className="hint" id={`${id}-wish-hint`}>
            {theme === "custom" ? t.t("mural.wishRequired") : t.t("mural.wishHint")}{" "}
            <span aria-hidden="true">
              ({prompt.length}/{MAX_PROMPT_CHARS})
            </span>
          </p>
        </div>

        <fieldset className="card">
          <legend>{t.t("mural.wall")}</legend>
          <WallPicker
            photo={
              photo
                ? { url: photo.url, width: photo.prepared.width, height: photo.prepared.height }
                : null
            }
            initial={initial?.region}
            disabled={busy}
            onChange={setWall}
          />
        </fieldset>

        <ErrorNote error={error} />
        <div className="actions">
          <button
            type="submit"
            className="button button-primary button-wide"
            disabled={busy || preparing || packing}
          >
            {busy ? stepText : t.t("mural.submit")}
          </button>
        </div>
        <p className="visually-hidden" role="status">
          {stepText}
        </p>
      </form>
    </section>
  );
}
