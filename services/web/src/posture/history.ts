// Posture history from the posture service: the last days' summaries for the chart and the
// latest sessions. Days are the person's local days (the service is told the UTC offset).
// The answers are free-form objects in the service's OpenAPI document, so they are checked
// here field by field.
import { ApiError, errorFromResponse } from "../api/client";
import type { paths } from "../api/posture";

type DailyQuery = NonNullable<paths["/v1/posture/summary/daily"]["get"]["parameters"]["query"]>;

export interface DaySummary {
  date: string;
  sessions: number;
  totalS: number;
  /** Of the time posture was scored, the share that was good; null when none was scored. */
  goodRatio: number | null;
  alerts: number;
  goodS: number;
  /** Forward head and looking down together. */
  badS: number;
}

export interface SessionSummary {
  id: string;
  startedAt: string;
  durationS: number;
  goodS: number;
  badS: number;
  alerts: number;
}

/** `YYYY-MM-DD` of `when` in local time. */
export function localDay(when: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
}

/** The `count` local days up to and including `today`'s, oldest first. */
export function lastDays(today: Date, count: number): string[] {
  const days: string[] = [];
  for (let back = count - 1; back >= 0; back--) {
    const day = new Date(today.getFullYear(), today.getMonth(), today.getDate() - back, 12);
    days.push(localDay(day));
  }
  return days;
}

/** Minutes east of UTC on `day` (noon, so a DST switch at night does not matter). */
export function utcOffsetMinutes(day: string): number {
  const [year, month, date] = day.split("-").map(Number) as [number, number, number];
  return -new Date(year, month - 1, date, 12).getTimezoneOffset();
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);

function stateSeconds(raw: unknown): { goodS: number; badS: number } {
  const seconds = (raw ?? {}) as Record<string, unknown>;
  return { goodS: num(seconds.good), badS: num(seconds.forward_head) + num(seconds.looking_down) };
}

export function parseDay(raw: unknown, day: string): DaySummary {
  const data = (raw ?? {}) as Record<string, unknown>;
  const ratio = data.good_ratio;
  return {
    date: typeof data.date === "string" ? data.date : day,
    sessions: num(data.sessions),
    totalS: num(data.total_s),
    goodRatio: typeof ratio === "number" && Number.isFinite(ratio) ? ratio : null,
    alerts: num(data.alerts),
    ...stateSeconds(data.state_seconds),
  };
}

export function parseSessions(raw: unknown): SessionSummary[] {
  const items = (raw as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return [];
  return items
    .filter((item): item is Record<string, unknown> => !!item && typeof item.session_id === "string")
    .map((item) => ({
      id: item.session_id as string,
      startedAt: typeof item.started_at === "string" ? item.started_at : "",
      durationS: num(item.duration_s),
      alerts: num(item.alerts),
      ...stateSeconds(item.state_seconds),
    }));
}

/** A bar of the week's chart: heights as shares of the longest day's watched time. */
export interface DayBar {
  date: string;
  good: number;
  bad: number;
  summary: DaySummary;
}

export function chartBars(days: readonly DaySummary[]): DayBar[] {
  const longest = Math.max(0, ...days.map((day) => day.goodS + day.badS));
  return days.map((day) => ({
    date: day.date,
    good: longest ? day.goodS / longest : 0,
    bad: longest ? day.badS / longest : 0,
    summary: day,
  }));
}

export interface HistoryOptions {
  getToken: () => string | null;
  fetch?: typeof fetch;
  baseUrl?: string;
}

async function getJson(url: string, options: HistoryOptions): Promise<unknown> {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const token = options.getToken();
  let response: Response;
  try {
    response = await doFetch((options.baseUrl ?? "") + url, {
      headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
  } catch (cause) {
    throw new ApiError(0, "network_error", String((cause as Error)?.message ?? cause));
  }
  if (!response.ok) throw await errorFromResponse(response);
  return response.json();
}

/** The summaries of the `count` days up to today, oldest first. */
export async function fetchDays(options: HistoryOptions, today: Date, count = 7): Promise<DaySummary[]> {
  return Promise.all(
    lastDays(today, count).map(async (day) => {
      const query: DailyQuery = { date: day, utc_offset_min: utcOffsetMinutes(day) };
      const search = new URLSearchParams({ date: query.date, utc_offset_min: String(query.utc_offset_min) });
      return parseDay(await getJson(`/v1/posture/summary/daily?${search}`, options), day);
    }),
  );
}

export async function fetchSessions(options: HistoryOptions, limit = 10): Promise<SessionSummary[]> {
  return parseSessions(await getJson(`/v1/posture/sessions?limit=${limit}`, options));
}
