// One of several named choices as radios (sketch styles, filters); those that cannot be used
// now stay in view, disabled, with the reason said.
import { useId } from "react";

export interface ChoiceItem {
  value: string;
  label: string;
  available?: boolean;
  reason?: string;
}

export function Choices({
  name,
  items,
  value,
  onChange,
  disabled = false,
  wide = false,
}: {
  name: string;
  items: readonly ChoiceItem[];
  value: string;
  onChange: (value: string) => void;
  disabled?: boolean;
  wide?: boolean;
}) {
  const id = useId();
  return (
    <div className={wide ? "choices choices-wide" : "choices"}>
      {items.map((item, i) => {
        const available = item.available !== false;
        const reasonId = `${id}-${i}-reason`;
        return (
          <label key={item.value} className="choice" data-disabled={!available || undefined}>
            <input
              type="radio"
              name={`${name}-${id}`}
              value={item.value}
              checked={value === item.value}
              disabled={!available || disabled}
              aria-describedby={available ? undefined : reasonId}
              onChange={() => onChange(item.value)}
            />
            <span className="choice-label">{item.label}</span>
            {!available && item.reason && (
              <span className="choice-reason" id={reasonId}>
                {item.reason}
              </span>
            )}
          </label>
        );
      })}
    </div>
  );
}
