import {
  useEffect,
  useId,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
  type PointerEvent,
} from "react";
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

const MODES: { mode: WallMode; label: "mural.wallAuto" | "mural.wallPoints" | "mural.wallBox" }[] = [
  { mode: "auto", label: "mural.wallAuto" },
  { mode: "points", label: "mural.wallPoints" },
  { mode: "box", label: "mural.wallBox" },
];

const percentOf = (share: number) => `${share * 100}%`;

/** How the wall is found: automatically, from points tapped on the photo, or from a box
 *  dragged around it. One finger (or mouse, or keyboard); tells the form the Region to send,
 *  or what is still missing. */
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
  const [kind, setKind] = useState<PointLabel>(1);
  const [cursor, setCursor] = useState<Spot>({ x: 0.5, y: 0.5 });
  const [drag, setDrag] = useState<{ pointerId: number; from: Spot; to: Spot } | null>(null);
  const [message, setMessage] = useState<{ text: string; refused?: boolean } | null>(null);
  const [natural, setNatural] = useState<{ url: string; width: number; height: number } | null>(null);
  const tap = useRef<{ pointerId: number; x: number; y: number } | null>(null);

  const report = useRef(onChange);
  report.current = onChange;
  useEffect(() => {
    report.current(regionFor(mode, points, box));
  }, [mode, points, box]);

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

      {drawing && !photo && <p className="hint">{t.t("mural.wallNeedPhotoFirst")}</p>}

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
