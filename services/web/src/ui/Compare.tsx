import { useId, useState, type CSSProperties } from "react";
import type { StringKey } from "../i18n";
import { useApp } from "./context";

/** Before and after, stacked; the range moves the line between them (keyboard: arrows). */
export function Compare({
  before,
  after,
  width,
  height,
  onAfterError,
  beforeAlt = "mural.photoAlt",
  afterAlt = "task.resultAlt",
}: {
  before: string;
  after: string;
  width: number;
  height: number;
  onAfterError?: () => void;
  beforeAlt?: StringKey;
  afterAlt?: StringKey;
}) {
  const { t } = useApp();
  const [position, setPosition] = useState(50);
  const id = useId();
  const style = { "--split": `${position}%`, aspectRatio: `${width} / ${height}` } as CSSProperties;
  return (
    <figure className="compare">
      <div className="compare-stage" style={style}>
        <img className="compare-after" src={after} alt={t.t(afterAlt)} onError={onAfterError} />
        <img className="compare-before" src={before} alt={t.t(beforeAlt)} />
        <span className="compare-line" aria-hidden="true" />
        <span className="compare-tag compare-tag-before" aria-hidden="true">
          {t.t("task.before")}
        </span>
        <span className="compare-tag compare-tag-after" aria-hidden="true">
          {t.t("task.after")}
        </span>
      </div>
      <label className="visually-hidden" htmlFor={`${id}-split`}>
        {t.t("task.compareSlider")}
      </label>
      <input
        id={`${id}-split`}
        className="compare-range"
        type="range"
        min={0}
        max={100}
        step={1}
        value={position}
        aria-valuetext={t.t("task.compareValue", { percent: t.percent((100 - position) / 100) })}
        onChange={(e) => setPosition(Number(e.target.value))}
      />
      <figcaption className="visually-hidden">{t.t("task.compare")}</figcaption>
    </figure>
  );
}
