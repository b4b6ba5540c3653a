import { errorSentence } from "./errors";
import type { Lang } from "./lang";
import { en, ko, type StringKey } from "./strings";

export { errorSentence } from "./errors";
export { pickLanguage, type Lang } from "./lang";
export type { StringKey } from "./strings";

const TABLES: Record<Lang, Record<StringKey, string>> = { en, ko };

export type Vars = Record<string, string | number>;

/** `{name}` placeholders filled from `vars`; an unknown placeholder is left as it is. */
export function fill(template: string, vars: Vars = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

export interface Translator {
  lang: Lang;
  t(key: StringKey, vars?: Vars): string;
  /** A key that may not exist (a theme or stage from a newer server): `fallback` then. */
  maybe(key: string, fallback: string, vars?: Vars): string;
  error(error: { code?: string | null; message?: string | null } | null | undefined): string;
  duration(seconds: number): string;
  percent(share: number): string;
  bytes(count: number): string;
  date(iso: string): string;
}

export function translator(lang: Lang): Translator {
  const table = TABLES[lang];
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  return {
    lang,
    t: (key, vars) => fill(table[key], vars),
    maybe: (key, fallback, vars) =>
      fill(key in table ? table[key as StringKey] : fallback, vars),
    error: (error) => errorSentence(lang, error),
    duration: (seconds) => formatDuration(lang, seconds),
    percent: (share) => percent.format(Math.max(0, Math.min(1, share))),
    bytes: (count) => formatBytes(lang, count),
    date: (iso) => {
      const when = new Date(iso);
      return Number.isNaN(when.getTime()) ? iso : dateFormat.format(when);
    },
  };
}

/** "45 seconds", "3 minutes", "1 hour, 5 minutes" (and in Korean: 45초, 3분, 1시간 5분). */
export function formatDuration(lang: Lang, seconds: number): string {
  const unit = (value: number, name: "second" | "minute" | "hour") =>
    new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "long" }).format(value);
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return unit(s, "second");
  const minutes = Math.round(s / 60);
  if (minutes < 60) return unit(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (rest === 0) return unit(hours, "hour");
  const joiner = lang === "ko" ? " " : ", ";
  return `${unit(hours, "hour")}${joiner}${unit(rest, "minute")}`;
}

export function formatBytes(lang: Lang, count: number): string {
  const format = (value: number, name: "kilobyte" | "megabyte") =>
    new Intl.NumberFormat(lang, {
      style: "unit",
      unit: name,
      unitDisplay: "short",
      maximumFractionDigits: 1,
    }).format(value);
  if (count < 1024 * 1024) return format(Math.max(0.1, count / 1024), "kilobyte");
  return format(count / (1024 * 1024), "megabyte");
}
