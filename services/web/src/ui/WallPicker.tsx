import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type CSSProperties,
  type Dispatch,
  type KeyboardEvent,
  type PointerEvent,
  type SetStateAction,
} from "react";
import {
  addStroke,
  BRUSH_STEP_PX,
  canUndo,
  clampView,
  clearMask,
  DEFAULT_BRUSH_PX,
  EMPTY_MASK,
  IDENTITY_VIEW,
  IDLE,
  isZoomed,
  lastEntry,
  maskOps,
  MAX_BRUSH_PX,
  MAX_SCALE,
  MIN_BRUSH_PX,
  PAN_STEP,
  panBy,
  pointerDown,
  pointerMove,
  pointerUp,
  replayMask,
  strokeOps,
  undoStroke,
  viewFrame,
  visibleStrokes,
  wheelFactor,
  zoomAt,
  zoomCentre,
  ZOOM_STEP,
  type BrushMask,
  type BrushMode,
  type BrushStroke,
  type Gesture,
  type GestureResult,
  type Ink,
  type ScreenPoint,
  type View,
  type ViewSize,
} from "../tasks/brush";
import type { Region } from "../tasks/mural";
import {
  addPoint,
  boxFrom,
  clearPoints,
  DEFAULT_BOX,
  KEY_STEP,
  MAX_POINTS,
  moveBox,
  moveSpot,
  normalise,
  regionFor,
  resizeBox,
  stateFromRegion,
  undoPoint,
  type PointLabel,
  type RegionChoice,
  type Spot,
  type WallBox,
  type WallMode,
  type WallPoint,
} from "../tasks/wall";
import { useApp } from "./context";

export interface PickerPhoto {
  url: string;
  width: number;
  height: number;
}

/** A tap moving further than this (CSS pixels) is a scroll or a drag, not a point. */
const TAP_SLOP_PX = 10;
/** The photo is never taller than this share of the screen, so the tools stay in view. */
const MAX_HEIGHT_VH = 50;

const ARROWS: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

const MODES: {
  mode: WallMode;
  label: "mural.wallAuto" | "mural.wallPoints" | "mural.wallBox" | "mural.wallMask";
}[] = [
  { mode: "auto", label: "mural.wallAuto" },
  { mode: "points", label: "mural.wallPoints" },
  { mode: "box", label: "mural.wallBox" },
  { mode: "mask", label: "mural.wallMask" },
];

const percentOf = (share: number) => `${share * 100}%`;

/** How the wall is found: automatically, from points tapped on the photo, from a box
 *  dragged around it, or painted over with a brush. One finger (or mouse, or keyboard; two
 *  fingers zoom the brush's photo); tells the form the Region to send (and the strokes of a
 *  painted mask), or what is still missing. */
export function WallPicker({
  photo,
  initial,
  disabled = false,
  onChange,
}: {
  photo: PickerPhoto | null;
  /** A region carried over from an earlier mural, shown again if it is points or a box. */
  initial?: Region | null;
  disabled?: boolean;
  onChange(choice: RegionChoice): void;
}) {
  const { t } = useApp();
  const id = useId();
  const [start] = useState(() => stateFromRegion(initial));
  const [mode, setMode] = useState<WallMode>(start.mode);
  const [points, setPoints] = useState<WallPoint[]>(start.points);
  const [box, setBox] = useState<WallBox | null>(start.box);
  const [mask, setMask] = useState<BrushMask>(EMPTY_MASK);
  const [kind, setKind] = useState<PointLabel>(1);
  const [cursor, setCursor] = useState<Spot>({ x: 0.5, y: 0.5 });
  const [drag, setDrag] = useState<{ pointerId: number; from: Spot; to: Spot } | null>(null);
  const [message, setMessage] = useState<{ text: string; refused?: boolean } | null>(null);
  const [natural, setNatural] = useState<{ url: string; width: number; height: number } | null>(null);
  const tap = useRef<{ pointerId: number; x: number; y: number } | null>(null);

  const report = useRef(onChange);
  report.current = onChange;
  useEffect(() => {
    report.current(regionFor(mode, points, box, mask));
  }, [mode, points, box, mask]);

  const describePoint = (p: WallPoint, index: number) =>
    t.t(p.label === 1 ? "mural.wallPointOn" : "mural.wallPointOff", {
      n: index + 1,
      x: t.percent(p.x),
      y: t.percent(p.y),
    });
  const describeBox = (b: WallBox) =>
    t.t("mural.wallBoxAt", {
      left: t.percent(b.x),
      right: t.percent(b.x + b.w),
      top: t.percent(b.y),
      bottom: t.percent(b.y + b.h),
    });

  function chooseMode(next: WallMode) {
    setMode(next);
    setMessage(null);
    setDrag(null);
    tap.current = null;
  }

  function place(spot: Spot) {
    const result = addPoint(points, { ...spot, label: kind });
    if (!result.ok) {
      setMessage({ text: t.t(result.reason, { max: MAX_POINTS }), refused: true });
      return;
    }
    setPoints(result.points);
    const index = result.points.length - 1;
    setMessage({ text: t.t("mural.wallAdded", { point: describePoint(result.points[index]!, index) }) });
  }

  function undo() {
    if (points.length === 0) return;
    setPoints(undoPoint(points));
    setMessage({ text: t.t("mural.wallUndone") });
  }

  function clear() {
    if (mode === "points") {
      if (points.length === 0) return;
      setPoints(clearPoints());
      setMessage({ text: t.t("mural.wallCleared") });
    } else {
      setBox(null); // the box's line below says so
    }
  }

  function spotOf(event: PointerEvent<HTMLDivElement>): Spot {
    return normalise(event.clientX, event.clientY, event.currentTarget.getBoundingClientRect());
  }

  function onPointerDown(event: PointerEvent<HTMLDivElement>) {
    // One finger (or the main mouse button) only; a second finger is ignored.
    if (disabled || !event.isPrimary || event.button !== 0) return;
    if (mode === "points") {
      tap.current = { pointerId: event.pointerId, x: event.clientX, y: event.clientY };
    } else if (mode === "box") {
      event.currentTarget.setPointerCapture(event.pointerId);
      const spot = spotOf(event);
      setDrag({ pointerId: event.pointerId, from: spot, to: spot });
    }
  }

  function onPointerMove(event: PointerEvent<HTMLDivElement>) {
    if (drag && drag.pointerId === event.pointerId) setDrag({ ...drag, to: spotOf(event) });
  }

  function onPointerUp(event: PointerEvent<HTMLDivElement>) {
    if (mode === "points") {
      const down = tap.current;
      tap.current = null;
      if (!down || down.pointerId !== event.pointerId || disabled) return;
      if (Math.hypot(event.clientX - down.x, event.clientY - down.y) > TAP_SLOP_PX) return;
      const spot = spotOf(event);
      setCursor(spot);
      place(spot);
    } else if (drag && drag.pointerId === event.pointerId) {
      const drawn = boxFrom(drag.from, spotOf(event));
      setDrag(null);
      // A plain tap keeps the box there was.
      if (drawn && !disabled) setBox(drawn);
    }
  }

  function onPointerCancel(event: PointerEvent<HTMLDivElement>) {
    if (tap.current?.pointerId === event.pointerId) tap.current = null;
    if (drag?.pointerId === event.pointerId) setDrag(null);
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (disabled || event.altKey || event.ctrlKey || event.metaKey) return;
    const arrow = ARROWS[event.key];
    const enter = event.key === "Enter" || event.key === " ";
    if (!arrow && !enter) return;
    event.preventDefault(); // no page scroll, no form submission
    if (mode === "points") {
      if (enter) return place(cursor);
      const step = event.shiftKey ? KEY_STEP * 5 : KEY_STEP;
      const next = moveSpot(cursor, arrow![0] * step, arrow![1] * step);
      setCursor(next);
      setMessage({ text: t.t("mural.wallCursor", { x: t.percent(next.x), y: t.percent(next.y) }) });
    } else if (mode === "box") {
      let next: WallBox | null = null;
      if (enter && !box) next = DEFAULT_BOX;
      if (arrow && box) {
        const [dx, dy] = [arrow[0] * KEY_STEP, arrow[1] * KEY_STEP];
        next = event.shiftKey ? resizeBox(box, dx, dy) : moveBox(box, dx, dy);
      }
      if (next) setBox(next);
    }
  }

  // The overlay matches the displayed photo exactly: its size comes from the photo's
  // proportions, so a pointer's place on it is its place on the photo.
  const known = photo && photo.width > 0 && photo.height > 0;
  const size = known
    ? { width: photo.width, height: photo.height }
    : natural && natural.url === photo?.url
      ? natural
      : { width: 4, height: 3 };
  const stageStyle: CSSProperties = {
    aspectRatio: `${size.width} / ${size.height}`,
    width: `min(100%, ${((MAX_HEIGHT_VH * size.width) / size.height).toFixed(3)}vh)`,
  };
  const shownBox = (drag && boxFrom(drag.from, drag.to, 0)) || box;
  const drawing = mode === "points" || mode === "box";

  return (
    <div className="wall-picker">
      <div className="choices choices-wide">
        {MODES.map((m) => (
          <label key={m.mode} className="choice">
            <input
              type="radio"
              name="region"
              value={m.mode}
              checked={mode === m.mode}
              disabled={disabled}
              onChange={() => chooseMode(m.mode)}
            />
            <span className="choice-label">{t.t(m.label)}</span>
          </label>
        ))}
      </div>

      {(drawing || mode === "mask") && !photo && <p className="hint">{t.t("mural.wallNeedPhotoFirst")}</p>}

      {mode === "mask" && photo && (
        <BrushPicker
          photo={photo}
          stageStyle={stageStyle}
          mask={mask}
          onMask={setMask}
          disabled={disabled}
          onNatural={setNatural}
        />
      )}

      {drawing && photo && (
        <div className="wall-tools">
          <p className="hint" id={`${id}-how`}>
            {t.t(mode === "points" ? "mural.wallPointsHint" : "mural.wallBoxHint")}
          </p>

          {mode === "points" && (
            <div className="segmented" role="group" aria-label={t.t("mural.wallKind")}>
              <button
                type="button"
                className="button"
                aria-pressed={kind === 1}
                disabled={disabled}
                onClick={() => setKind(1)}
              >
                <span className="wall-swatch wall-swatch-on" aria-hidden="true" />
                {t.t("mural.wallOn")}
              </button>
              <button
                type="button"
                className="button"
                aria-pressed={kind === 0}
                disabled={disabled}
                onClick={() => setKind(0)}
              >
                <span className="wall-swatch wall-swatch-off" aria-hidden="true" />
                {t.t("mural.wallOff")}
              </button>
            </div>
          )}

          <div className="wall-stage" style={stageStyle}>
            <img
              key={photo.url}
              src={photo.url}
              alt=""
              draggable={false}
              onLoad={(e) =>
                setNatural({
                  url: photo.url,
                  width: e.currentTarget.naturalWidth,
                  height: e.currentTarget.naturalHeight,
                })
              }
            />
            <div
              className={`wall-overlay wall-overlay-${mode}`}
              role="application"
              tabIndex={0}
              aria-label={t.t(mode === "points" ? "mural.wallPhotoPoints" : "mural.wallPhotoBox")}
              aria-describedby={`${id}-how ${id}-keys`}
              aria-disabled={disabled || undefined}
              onPointerDown={onPointerDown}
              onPointerMove={onPointerMove}
              onPointerUp={onPointerUp}
              onPointerCancel={onPointerCancel}
              onLostPointerCapture={onPointerCancel}
              onKeyDown={onKeyDown}
            >
              <div aria-hidden="true">
                {mode === "points" &&
                  points.map((p, i) => (
                    <span
                      key={i}
                      className={`wall-dot ${p.label === 1 ? "wall-dot-on" : "wall-dot-off"}`}
                      style={{ left: percentOf(p.x), top: percentOf(p.y) }}
                    >
                      {i + 1}
                    </span>
                  ))}
                {mode === "points" && (
                  <span
                    className="wall-cursor"
                    style={{ left: percentOf(cursor.x), top: percentOf(cursor.y) }}
                  />
                )}
                {mode === "box" && shownBox && (
                  <span
                    className={`wall-box${drag ? " wall-box-drawing" : ""}`}
                    style={{
                      left: percentOf(shownBox.x),
                      top: percentOf(shownBox.y),
                      width: percentOf(shownBox.w),
                      height: percentOf(shownBox.h),
                    }}
                  />
                )}
              </div>
            </div>
          </div>

          <p className="hint" id={`${id}-keys`}>
            {t.t(mode === "points" ? "mural.wallKeysPoints" : "mural.wallKeysBox")}
          </p>
          {mode === "points" && (
            <p className={message?.refused ? "wall-message wall-message-refused" : "wall-message"} role="status">
              {message?.text ?? ""}
            </p>
          )}

          <div className="actions">
            {mode === "points" && (
              <button
                type="button"
                className="button"
                onClick={undo}
                disabled={disabled}
                aria-disabled={points.length === 0 || undefined}
              >
                {t.t("mural.wallUndo")}
              </button>
            )}
            <button
              type="button"
              className="button"
              onClick={clear}
              disabled={disabled}
              aria-disabled={(mode === "points" ? points.length === 0 : !box) || undefined}
            >
              {t.t("mural.wallClear")}
            </button>
          </div>

          {mode === "points" && (
            <>
              <p className="wall-list-title" id={`${id}-list`}>
                {t.t("mural.wallPointList")}
              </p>
              {points.length === 0 ? (
                <p className="hint">{t.t("mural.wallNoPoints")}</p>
              ) : (
                <ol className="wall-points" role="list" aria-labelledby={`${id}-list`}>
                  {points.map((p, i) => (
                    <li key={i} className={p.label === 1 ? "wall-point-on" : "wall-point-off"}>
                      <span className="wall-swatch" aria-hidden="true" />
                      {describePoint(p, i)}
                    </li>
                  ))}
                </ol>
              )}
            </>
          )}
          {mode === "box" && (
            // Announced as it changes: drawn, moved, resized, cleared.
            <p role="status">{box ? describeBox(box) : t.t("mural.wallNoBox")}</p>
          )}
        </div>
      )}
    </div>
  );
}

/** The painted wall on screen: one colour, shown see-through over the photo; rubbed out
 *  where erased. (The mask that is sent is white on black: brush.ts `renderMask`.) */
const SCREEN_INK: Ink = { paint: "#ff2d8a", erase: null };
const SCREEN_ALPHA = 0.5;
/** Sharp on dense screens, without a huge canvas on a 3× phone. */
const MAX_CANVAS_DPR = 2;

/** Painting the wall: one finger (pen, mouse) paints or erases, two fingers move and zoom
 *  (and the wheel, the zoom buttons or + − 0 and the arrow keys); undo, clear. The photo is
 *  zoomed with a CSS transform, the strokes drawn on a canvas over it with the same view. */
function BrushPicker({
  photo,
  stageStyle,
  mask,
  onMask,
  disabled,
  onNatural,
}: {
  photo: PickerPhoto;
  stageStyle: CSSProperties;
  mask: BrushMask;
  onMask: Dispatch<SetStateAction<BrushMask>>;
  disabled: boolean;
  onNatural(natural: { url: string; width: number; height: number }): void;
}) {
  const { t } = useApp();
  const id = useId();
  const [brushMode, setBrushMode] = useState<BrushMode>("paint");
  const [brushPx, setBrushPx] = useState(DEFAULT_BRUSH_PX);
  const [view, setViewState] = useState<View>(IDENTITY_VIEW);
  const [pixels, setPixels] = useState<ViewSize>({ width: 1, height: 1 });
  const [message, setMessage] = useState("");
  const canvasRef = useRef<HTMLCanvasElement>(null);
  // The strokes at full strength; shown through `SCREEN_ALPHA` so overlaps do not darken.
  const layerRef = useRef<HTMLCanvasElement | null>(null);
  // Read by the event handlers between renders (pointer moves come faster than renders).
  const viewRef = useRef(view);
  const maskRef = useRef(mask);
  maskRef.current = mask;
  const disabledRef = useRef(disabled);
  disabledRef.current = disabled;
  const gesture = useRef<Gesture>(IDLE);

  function setView(next: View) {
    viewRef.current = next;
    setViewState(next);
  }

  function layer(width: number, height: number) {
    let canvas = layerRef.current;
    if (!canvas) canvas = layerRef.current = document.createElement("canvas");
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    return canvas.getContext("2d");
  }

  function show() {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx || !layerRef.current) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = SCREEN_ALPHA;
    ctx.drawImage(layerRef.current, 0, 0);
    ctx.globalAlpha = 1;
  }

  /** Everything again: the mask, the stroke being drawn, at the view now. */
  function redraw() {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const ctx = layer(canvas.width, canvas.height);
    if (!ctx) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const strokes = visibleStrokes(maskRef.current);
    const live = gesture.current.drawing?.stroke;
    const frame = viewFrame(viewRef.current, canvas.width, canvas.height);
    replayMask(ctx, maskOps(live ? [...strokes, live] : strokes, frame), SCREEN_INK);
    show();
  }

  /** Only what the stroke being drawn gained since `before`. */
  function paintLive(before: BrushStroke | null, after: BrushStroke) {
    const canvas = canvasRef.current;
    const ctx = canvas && layer(canvas.width, canvas.height);
    if (!canvas || !ctx) return;
    const from = before?.points.length ?? 0;
    const last = before?.points[from - 1];
    const points = last ? [last, ...after.points.slice(from)] : after.points;
    replayMask(ctx, strokeOps({ ...after, points }, viewFrame(viewRef.current, canvas.width, canvas.height)), SCREEN_INK);
    show();
  }

  useLayoutEffect(redraw, [mask, view, pixels]);

  // The canvas's own pixels follow its size on screen.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const measure = () => {
      const rect = canvas.getBoundingClientRect();
      const dpr = Math.min(MAX_CANVAS_DPR, window.devicePixelRatio || 1);
      const next = {
        width: Math.max(1, Math.round(rect.width * dpr)),
        height: Math.max(1, Math.round(rect.height * dpr)),
      };
      setPixels((old) => (old.width === next.width && old.height === next.height ? old : next));
    };
    measure();
    if (typeof ResizeObserver !== "function") {
      window.addEventListener("resize", measure);
      return () => window.removeEventListener("resize", measure);
    }
    const observer = new ResizeObserver(measure);
    observer.observe(canvas);
    return () => observer.disconnect();
  }, []);

  // Another photo: shown whole again.
  useEffect(() => {
    gesture.current = IDLE;
    setView(IDENTITY_VIEW);
  }, [photo.url]);

  // The wheel zooms around the pointer. Not a React handler: those are passive, and the
  // page must not scroll while the photo zooms. Zooming out at 1× lets the page scroll.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (event: WheelEvent) => {
      if (disabledRef.current) return;
      const factor = wheelFactor(event.deltaY, event.deltaMode);
      const current = viewRef.current;
      if (factor === 1 || (factor < 1 && !isZoomed(current))) return;
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const at = { x: event.clientX - rect.left, y: event.clientY - rect.top };
      setView(zoomAt(current, at, { width: rect.width, height: rect.height }, factor));
    };
    canvas.addEventListener("wheel", onWheel, { passive: false });
    return () => canvas.removeEventListener("wheel", onWheel);
  }, []);

  function apply(before: Gesture, result: GestureResult) {
    gesture.current = result.gesture;
    if (result.view !== viewRef.current) setView(result.view);
    if (result.done) {
      const stroke = result.done;
      onMask((m) => addStroke(m, stroke)); // redrawn with the mask
    } else if (result.dropped) {
      redraw(); // the stroke begun is gone from the screen too
    } else if (result.gesture.drawing && result.gesture.drawing.stroke !== before.drawing?.stroke) {
      paintLive(before.drawing?.stroke ?? null, result.gesture.drawing.stroke);
    }
  }

  function local(event: PointerEvent<HTMLCanvasElement>, rect: DOMRect): ScreenPoint {
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function onPointerDown(event: PointerEvent<HTMLCanvasElement>) {
    if (disabled) return;
    const mouse = event.pointerType === "mouse";
    // The main button paints, the middle one moves the photo; others are not ours.
    if (mouse && event.button !== 0 && event.button !== 1) return;
    event.preventDefault(); // no text selection, no autoscroll
    const canvas = event.currentTarget;
    canvas.focus({ preventScroll: true }); // so + − 0 and the arrows work after a click
    try {
      canvas.setPointerCapture(event.pointerId);
    } catch {
      // not capturable (already gone): pointerup still ends it
    }
    // A first finger while others are still "down": their ends were lost. Start afresh.
    if (event.pointerType === "touch" && event.isPrimary && gesture.current.pointers.length > 0) {
      gesture.current = IDLE;
      redraw();
    }
    const rect = canvas.getBoundingClientRect();
    const before = gesture.current;
    const result = pointerDown(
      before,
      { id: event.pointerId, at: local(event, rect) },
      {
        view: viewRef.current,
        size: { width: rect.width, height: rect.height },
        brush: { mode: brushMode, px: brushPx },
      },
      mouse && event.button === 1,
    );
    apply(before, result);
  }

  function onPointerMove(event: PointerEvent<HTMLCanvasElement>) {
    if (!gesture.current.pointers.some((p) => p.id === event.pointerId)) return;
    const rect = event.currentTarget.getBoundingClientRect();
    const size = { width: rect.width, height: rect.height };
    const native = event.nativeEvent;
    // Every position the browser saw since the last event, for smooth fast strokes.
    const coalesced = typeof native.getCoalescedEvents === "function" ? native.getCoalescedEvents() : [];
    for (const moved of coalesced.length > 0 ? coalesced : [native]) {
      const before = gesture.current;
      const at = { x: moved.clientX - rect.left, y: moved.clientY - rect.top };
      const result = pointerMove(before, { id: event.pointerId, at }, {
        view: viewRef.current,
        size,
        brush: { mode: brushMode, px: brushPx },
      });
      apply(before, result);
    }
  }

  function onPointerEnd(event: PointerEvent<HTMLCanvasElement>, cancelled: boolean) {
    const before = gesture.current;
    if (!before.pointers.some((p) => p.id === event.pointerId)) return;
    apply(before, pointerUp(before, event.pointerId, { view: viewRef.current }, cancelled || disabled));
  }

  function zoomTo(next: View) {
    setView(next);
    setMessage(t.t("mural.wallZoomLevel", { n: Math.round(next.scale * 100) }));
  }

  function onKeyDown(event: KeyboardEvent<HTMLCanvasElement>) {
    if (disabled || event.altKey || event.ctrlKey || event.metaKey) return;
    const current = viewRef.current;
    const arrow = ARROWS[event.key];
    if (event.key === "+" || event.key === "=") zoomTo(zoomCentre(current, ZOOM_STEP));
    else if (event.key === "-" || event.key === "_") zoomTo(zoomCentre(current, 1 / ZOOM_STEP));
    else if (event.key === "0") zoomTo(IDENTITY_VIEW);
    // The arrow shows more of the photo that way: the photo moves the other way.
    else if (arrow) setView(panBy(current, -arrow[0] * PAN_STEP, -arrow[1] * PAN_STEP, { width: 1, height: 1 }));
    else return;
    event.preventDefault(); // no page scroll
  }

  function undo() {
    if (!canUndo(mask)) return;
    const last = lastEntry(mask);
    onMask(undoStroke(mask));
    setMessage(t.t(last === "clear" ? "mural.wallMaskUndoneClear" : "mural.wallMaskUndone"));
  }

  function clear() {
    if (visibleStrokes(mask).length === 0) return;
    onMask(clearMask(mask));
    setMessage(t.t("mural.wallMaskCleared"));
  }

  const strokes = visibleStrokes(mask).length;
  const shown = clampView(view);
  const percent = Math.round(shown.scale * 100);

  return (
    <div className="wall-tools">
      <p className="hint" id={`${id}-how`}>
        {t.t("mural.wallMaskHint")}
      </p>

      <div className="wall-brush-tools" role="group" aria-label={t.t("mural.wallBrushTools")}>
        <div className="segmented">
          {(["paint", "erase"] as const).map((name) => (
            <button
              key={name}
              type="button"
              className="button"
              aria-pressed={brushMode === name}
              disabled={disabled}
              onClick={() => setBrushMode(name)}
            >
              {t.t(name === "paint" ? "mural.wallBrush" : "mural.wallEraser")}
            </button>
          ))}
        </div>
        <div className="wall-brush-size">
          <label htmlFor={`${id}-size`}>{t.t("mural.wallBrushSize")}</label>
          <input
            id={`${id}-size`}
            type="range"
            min={MIN_BRUSH_PX}
            max={MAX_BRUSH_PX}
            step={BRUSH_STEP_PX}
            value={brushPx}
            aria-valuetext={t.t("mural.wallBrushSizeValue", { n: brushPx })}
            disabled={disabled}
            onChange={(e) => setBrushPx(Number(e.target.value))}
          />
          <span
            className="wall-brush-preview"
            aria-hidden="true"
            style={{ width: `${brushPx}px`, height: `${brushPx}px` }}
          />
        </div>
      </div>

      <div className="wall-stage wall-stage-mask" style={stageStyle}>
        <div
          className="wall-zoom"
          style={{ transform: `translate(${shown.x * 100}%, ${shown.y * 100}%) scale(${shown.scale})` }}
        >
          <img
            key={photo.url}
            src={photo.url}
            alt=""
            draggable={false}
            onLoad={(e) =>
              onNatural({
                url: photo.url,
                width: e.currentTarget.naturalWidth,
                height: e.currentTarget.naturalHeight,
              })
            }
          />
        </div>
        <canvas
          ref={canvasRef}
          className={`wall-mask-canvas wall-mask-canvas-${brushMode}`}
          width={pixels.width}
          height={pixels.height}
          role="application"
          tabIndex={0}
          aria-label={t.t("mural.wallPhotoMask")}
          aria-describedby={`${id}-how ${id}-keys ${id}-state`}
          aria-disabled={disabled || undefined}
          style={{ touchAction: "none" }}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={(e) => onPointerEnd(e, false)}
          onPointerCancel={(e) => onPointerEnd(e, true)}
          onLostPointerCapture={(e) => onPointerEnd(e, true)}
          onContextMenu={(e) => e.preventDefault()}
          onKeyDown={onKeyDown}
        />
      </div>

      <div className="actions wall-brush-actions">
        <button
          type="button"
          className="button"
          onClick={undo}
          disabled={disabled}
          aria-disabled={!canUndo(mask) || undefined}
        >
          {t.t("mural.wallMaskUndo")}
        </button>
        <button
          type="button"
          className="button"
          onClick={clear}
          disabled={disabled}
          aria-disabled={strokes === 0 || undefined}
        >
          {t.t("mural.wallMaskClear")}
        </button>
        <div className="wall-zoom-tools" role="group" aria-label={t.t("mural.wallZoom")}>
          <button
            type="button"
            className="button"
            onClick={() => zoomTo(zoomCentre(viewRef.current, 1 / ZOOM_STEP))}
            disabled={disabled}
            aria-disabled={!isZoomed(shown) || undefined}
          >
            {t.t("mural.wallZoomOut")}
          </button>
          <button
            type="button"
            className="button"
            onClick={() => zoomTo(zoomCentre(viewRef.current, ZOOM_STEP))}
            disabled={disabled}
            aria-disabled={shown.scale >= MAX_SCALE || undefined}
          >
            {t.t("mural.wallZoomIn")}
          </button>
          <button
            type="button"
            className="button"
            onClick={() => zoomTo(IDENTITY_VIEW)}
            disabled={disabled}
            aria-disabled={!isZoomed(shown) || undefined}
          >
            {t.t("mural.wallZoomReset")}
          </button>
          <span className="wall-zoom-level" aria-hidden="true">
            {percent}%
          </span>
        </div>
      </div>

      <p className="hint" id={`${id}-keys`}>
        {t.t("mural.wallKeysMask")}
      </p>
      <p className="hint" id={`${id}-state`}>
        {strokes > 0 ? t.t("mural.wallMaskStrokes", { n: strokes }) : t.t("mural.wallMaskEmpty")}
      </p>
      <p className="wall-message" role="status">
        {message}
      </p>
    </div>
  );
}
