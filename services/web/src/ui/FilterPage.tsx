import { useEffect, useState, type ChangeEvent, type FormEvent } from "react";
import type { Filter } from "../api/client";
import { filterParams } from "../tasks/photoJobs";
import { asUpload, startTask } from "../tasks/start";
import { Choices } from "./Choices";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle, useStartSteps, type Problem } from "./common";
import { PhotoFieldset, takeFile, useChosenPhoto, useKind } from "./PhotoField";

export function FilterPage() {
  const { api, t, photos, navigate } = useApp();
  const { limits } = useKind("filter");
  const choice = useChosenPhoto(limits);
  const steps = useStartSteps("photo");
  const [filters, setFilters] = useState<Filter[] | null>(null);
  const [filtersError, setFiltersError] = useState<Problem>(null);
  const [filter, setFilter] = useState("");
  const [error, setError] = useState<Problem>(null);

  function loadFilters() {
    setFiltersError(null);
    api.filters().then(setFilters, (cause) => setFiltersError(errorOf(cause)));
  }

  useEffect(loadFilters, [api]);

  function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = takeFile(event);
    if (!file) return;
    setError(null);
    void choice.choose(file);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const photo = choice.photo;
    if (!photo) return setError(t.t("filter.needPhoto"));
    if (!filter) return setError(t.t("filter.needFilter"));
    setError(null);
    try {
      const { taskId } = await startTask(
        api,
        "filter",
        [asUpload(photo.prepared, "image")],
        filterParams(filter),
        steps.onStep,
      );
      photos.put(taskId, { blob: photo.prepared.blob, type: photo.prepared.type, name: photo.prepared.name });
      navigate({ name: "task", id: taskId });
    } catch (cause) {
      setError(errorOf(cause));
      steps.reset();
    }
  }

  const busy = steps.busy;

  return (
    <section className="page">
      <PageTitle>{t.t("filter.title")}</PageTitle>
      <form className="form" onSubmit={submit} noValidate>
        <PhotoFieldset
          choice={choice}
          busy={busy}
          onFile={onFile}
          legend="filter.photo"
          hint="filter.photoHint"
          alt="filter.photoAlt"
        />

        <fieldset className="card">
          <legend>{t.t("filter.filter")}</legend>
          {!filters && !filtersError && <Loading />}
          {filtersError && (
            <ErrorNote error={filtersError}>
              <button type="button" className="button" onClick={loadFilters}>
                {t.t("common.retry")}
              </button>
            </ErrorNote>
          )}
          {filters?.length === 0 && <p className="note">{t.t("filter.noFilters")}</p>}
          {filters && (
            <Choices
              name="filter"
              wide
              items={filters.map((f) => ({ value: f.name, label: t.maybe(`filterName.${f.name}`, f.name) }))}
              value={filter}
              onChange={setFilter}
              disabled={busy}
            />
          )}
        </fieldset>

        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="button button-primary button-wide" disabled={busy || choice.preparing}>
            {busy ? steps.text : t.t("filter.submit")}
          </button>
        </div>
        <p className="visually-hidden" role="status">
          {steps.text}
        </p>
      </form>
    </section>
  );
}
