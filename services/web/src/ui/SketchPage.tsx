import { useEffect, useId, useRef, useState, type ChangeEvent, type FormEvent, type PointerEvent } from "react";
import type { Style } from "../api/client";
import { MAX_PROMPT_CHARS } from "../tasks/mural";
import {
  addStroke,
  beginStroke,
  canUndo,
  clear,
  DEFAULT_LINE_WIDTH,
  drawOps,
  emptyDrawing,
  extendStroke,
  isBlank,
  MAX_LINE_WIDTH,
  MIN_LINE_WIDTH,
  replay,
  sketchParams,
  strokeOps,
  toDrawingPoint,
  undo,
  visibleStrokes,
  type DrawOp,
  type Drawing,
  type Stroke,
  type Tool,
} from "../tasks/sketch";
import { asUpload, startTask, type TaskUpload } from "../tasks/start";
import { Choices } from "./Choices";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle, useStartSteps, type Problem } from "./common";
import { takeFile, useChosenPhoto, useKind } from "./PhotoField";

const STYLES_RETRY_MS = 5000;

/** The drawing as the PNG that is sent: white paper, black strokes, at the drawing's size. */
function exportPng(drawing: Drawing): Promise<Blob> {
  const canvas = document.createElement("canvas");
  canvas.width = drawing.width;
  canvas.height = drawing.height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return Promise.reject(new Error("no 2d canvas"));
  replay(ctx, drawOps(drawing));
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG export failed"))), "image/png"),
  );
}

export function SketchPage() {
  const { api, t, photos, navigate } = useApp();
  const id = useId();
  const { limits } = useKind("sketch");
  const doodle = useChosenPhoto(limits);
  const steps = useStartSteps("sketch");

  const [drawing, setDrawing] = useState(() => emptyDrawing());
  const [tool, setTool] = useState<Tool>("pen");
  const [lineWidth, setLineWidth] = useState(DEFAULT_LINE_WIDTH);
  const [said, setSaid] = useState("");
  const [styles, setStyles] = useState<Style[] | null>(null);
  const [stylesError, setStylesError] = useState<Problem>(null);
  const [style, setStyle] = useState("");
  const [prompt, setPrompt] = useState("");
  const [error, setError] = useState<Problem>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  // The stroke being drawn: painted straight onto the canvas, into the drawing when it ends.
  const live = useRef<{ pointerId: number; stroke: Stroke; rect: DOMRect } | null>(null);

  function loadStyles() {
    setStylesError(null);
    api.styles().then(setStyles, (cause) => setStylesError(errorOf(cause)));
  }

  useEffect(loadStyles, [api]);

  // Keep the chosen style if it can be used, else "none" or the first that can.
  useEffect(() => {
    if (!styles) return;
    if (styles.find((s) => s.name === style)?.available) return;
    const usable = styles.filter((s) => s.available);
    setStyle((usable.find((s) => s.name === "none") ?? usable[0])?.name ?? "");
  }, [styles]);

  // No painter for sketches yet: ask again now and then, so the page comes alive by itself.
  useEffect(() => {
    if (!styles || styles.some((s) => s.available)) return;
    const timer = window.setTimeout(loadStyles, STYLES_RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [styles]);

  const drawingShown = !doodle.photo;

  // The whole drawing, whenever it changes (a stroke ended, undo, clear) or the canvas is back.
  useEffect(() => {
    const ctx = canvasRef.current?.getContext("2d");
    if (ctx) replay(ctx, drawOps(drawing));
  }, [drawing, drawingShown]);

  function paint(ops: DrawOp[]) {
    const ctx = canvasRef.current?.getContext("2d");
    if (ctx) replay(ctx, ops);
  }

  const busy = steps.busy;

  function onPointerDown(event: PointerEvent<HTMLCanvasElement>) {
    // One finger or the mouse's main button: a second finger does not draw.
    if (busy || live.current || !event.isPrimary) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    const canvas = event.currentTarget;
    const rect = canvas.getBoundingClientRect();
    try {
      canvas.setPointerCapture(event.pointerId);
    } catch {
      // not capturable (already gone): the stroke still ends on pointerup
    }
    const at = toDrawingPoint({ x: event.clientX, y: event.clientY }, rect, drawing);
    const stroke = beginStroke(tool, lineWidth, at);
    live.current = { pointerId: event.pointerId, stroke, rect };
    paint(strokeOps(stroke));
    event.preventDefault();
  }

  function onPointerMove(event: PointerEvent<HTMLCanvasElement>) {
    const current = live.current;
    if (!current || current.pointerId !== event.pointerId) return;
    const native = event.nativeEvent;
    // Every position the browser saw since the last event, for smooth fast lines.
    const coalesced = typeof native.getCoalescedEvents === "function" ? native.getCoalescedEvents() : [];
    for (const moved of coalesced.length > 0 ? coalesced : [native]) {
      const at = toDrawingPoint({ x: moved.clientX, y: moved.clientY }, current.rect, drawing);
      const before = current.stroke;
      const after = extendStroke(before, at);
      if (after === before) continue;
      const last = before.points[before.points.length - 1]!;
      paint(strokeOps({ ...after, points: [last, at] }));
      current.stroke = after;
    }
  }

  function onPointerEnd(event: PointerEvent<HTMLCanvasElement>) {
    const current = live.current;
    if (!current || current.pointerId !== event.pointerId) return;
    live.current = null;
    setDrawing((d) => addStroke(d, current.stroke));
    setError(null);
  }

  function onUndo() {
    const last = drawing.entries[drawing.entries.length - 1];
    setDrawing(undo(drawing));
    setSaid(t.t(last?.type === "clear" ? "sketch.undoneClear" : "sketch.undone"));
  }

  function onClear() {
    setDrawing(clear(drawing));
    setSaid(t.t("sketch.cleared"));
  }

  function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = takeFile(event);
    if (!file) return;
    setError(null);
    void doodle.choose(file);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!doodle.photo && isBlank(drawing)) return setError(t.t("sketch.needDrawing"));
    if (!style) return setError(t.t("sketch.needStyle"));
    setError(null);
    let upload: TaskUpload;
    if (doodle.photo) {
      upload = asUpload(doodle.photo.prepared, "sketch");
    } else {
      try {
        upload = { role: "sketch", blob: await exportPng(drawing), type: "image/png", name: "sketch.png" };
      } catch {
        return setError(t.t("sketch.exportFailed"));
      }
    }
    try {
      const { taskId } = await startTask(api, "sketch", [upload], sketchParams({ style, prompt }), steps.onStep);
      photos.put(taskId, { blob: upload.blob, type: upload.type, name: upload.name });
      navigate({ name: "task", id: taskId });
    } catch (cause) {
      setError(errorOf(cause));
      steps.reset();
    }
  }

  const strokes = visibleStrokes(drawing).length;
  const available = styles?.filter((s) => s.available) ?? [];

  return (
    <section className="page">
      <PageTitle>{t.t("sketch.title")}</PageTitle>
      <p className="lead">{t.t("sketch.intro")}</p>
      <form className="form" onSubmit={submit} noValidate>
        <fieldset className="card">
          <legend>{t.t("sketch.drawing")}</legend>
          {drawingShown ? (
            <>
              <div className="sketch-tools" role="group" aria-label={t.t("sketch.tools")}>
                <div className="segmented">
                  {(["pen", "eraser"] as const).map((name) => (
                    <button
                      key={name}
                      type="button"
                      className="button"
                      aria-pressed={tool === name}
                      onClick={() => setTool(name)}
                      disabled={busy}
                    >
                      {t.t(name === "pen" ? "sketch.pen" : "sketch.eraser")}
                    </button>
                  ))}
                </div>
                <div className="sketch-width">
                  <label htmlFor={`${id}-width`}>{t.t("sketch.lineWidth")}</label>
                  <input
                    id={`${id}-width`}
                    type="range"
                    min={MIN_LINE_WIDTH}
                    max={MAX_LINE_WIDTH}
                    step={2}
                    value={lineWidth}
                    aria-valuetext={t.t("sketch.lineWidthValue", { n: lineWidth })}
                    onChange={(e) => setLineWidth(Number(e.target.value))}
                    disabled={busy}
                  />
                  <output htmlFor={`${id}-width`} aria-hidden="true">
                    {t.t("sketch.lineWidthValue", { n: lineWidth })}
                  </output>
                </div>
                <div className="sketch-history">
                  <button type="button" className="button" onClick={onUndo} disabled={busy || !canUndo(drawing)}>
                    {t.t("sketch.undo")}
                  </button>
                  <button type="button" className="button" onClick={onClear} disabled={busy || strokes === 0}>
                    {t.t("sketch.clear")}
                  </button>
                </div>
              </div>
              <canvas
                ref={canvasRef}
                className={`sketch-canvas sketch-canvas-${tool}`}
                width={drawing.width}
                height={drawing.height}
                role="img"
                aria-label={t.t("sketch.canvas")}
                aria-describedby={`${id}-canvas-hint ${id}-strokes`}
                onPointerDown={onPointerDown}
                onPointerMove={onPointerMove}
                onPointerUp={onPointerEnd}
                onPointerCancel={onPointerEnd}
                onLostPointerCapture={onPointerEnd}
              />
              <p className="hint" id={`${id}-canvas-hint`}>
                {t.t("sketch.canvasHint")}
              </p>
              <p className="hint" id={`${id}-strokes`}>
                {t.t("sketch.strokes", { n: strokes })}
              </p>
            </>
          ) : (
            doodle.photo && (
              <>
                <figure className="photo-preview">
                  <img
                    src={doodle.photo.url}
                    alt={t.t("sketch.doodleAlt")}
                    width={doodle.photo.prepared.width || undefined}
                    height={doodle.photo.prepared.height || undefined}
                  />
                </figure>
                <div className="actions">
                  <button type="button" className="button" onClick={doodle.forget} disabled={busy}>
                    {t.t("sketch.drawInstead")}
                  </button>
                </div>
              </>
            )
          )}
          <p className="hint" id={`${id}-upload-hint`}>
            {t.t("sketch.uploadHint")}
          </p>
          <div className="actions">
            <label className="button button-file">
              <input
                className="visually-hidden"
                type="file"
                accept="image/*"
                aria-describedby={`${id}-upload-hint`}
                onChange={onFile}
                disabled={busy || doodle.preparing}
              />
              {t.t("sketch.upload")}
            </label>
          </div>
          <div aria-live="polite">{doodle.preparing && <p role="status">{t.t("sketch.preparing")}</p>}</div>
          <ErrorNote error={doodle.error} />
          <p className="visually-hidden" role="status">
            {said}
          </p>
        </fieldset>

        <fieldset className="card">
          <legend>{t.t("sketch.style")}</legend>
          {!styles && !stylesError && <Loading />}
          {stylesError && (
            <ErrorNote error={stylesError}>
              <button type="button" className="button" onClick={loadStyles}>
                {t.t("common.retry")}
              </button>
            </ErrorNote>
          )}
          {styles && available.length === 0 && <p className="note">{t.t("sketch.noStyleAvailable")}</p>}
          {styles && available.length > 0 && available.length < styles.length && (
            <p className="hint">{t.t("sketch.someUnavailable")}</p>
          )}
          {styles && (
            <Choices
              name="style"
              items={styles.map((s) => ({
                value: s.name,
                label: t.maybe(`style.${s.name}`, s.name),
                available: s.available,
                reason: s.reason ? t.error(s.reason) : t.t("sketch.styleUnavailable"),
              }))}
              value={style}
              onChange={setStyle}
              disabled={busy}
            />
          )}
        </fieldset>

        <div className="card field">
          <label htmlFor={`${id}-prompt`}>{t.t("sketch.prompt")}</label>
          <textarea
            id={`${id}-prompt`}
            rows={3}
            maxLength={MAX_PROMPT_CHARS}
            value={prompt}
            aria-describedby={`${id}-prompt-hint`}
            onChange={(e) => setPrompt(e.target.value)}
            disabled={busy}
          />
          <p className="hint" id={`${id}-prompt-hint`}>
            {t.t("sketch.promptHint")}{" "}
            <span aria-hidden="true">
              ({prompt.length}/{MAX_PROMPT_CHARS})
            </span>
          </p>
        </div>

        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="button button-primary button-wide" disabled={busy || doodle.preparing}>
            {busy ? steps.text : t.t("sketch.submit")}
          </button>
        </div>
        <p className="visually-hidden" role="status">
          {steps.text}
        </p>
      </form>
    </section>
  );
}
