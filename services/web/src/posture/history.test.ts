import { describe, expect, it, vi } from "vitest";
import { chartBars, fetchDays, lastDays, localDay, parseDay, parseSessions, utcOffsetMinutes } from "./history";

describe("days", () => {
  it("lists the last days oldest first, across a month's end", () => {
    expect(lastDays(new Date(2026, 2, 2, 9), 4)).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(localDay(new Date(2026, 11, 2, 23, 59))).toBe("2026-12-02");
  });

  it("gives the UTC offset of the day as the service takes it (minutes east)", () => {
    expect(utcOffsetMinutes("2026-12-02")).toBe(-new Date(2026, 11, 2, 12).getTimezoneOffset());
  });
});

describe("parsing", () => {
  it("reads a day's summary, good and poor time from its states", () => {
    const day = parseDay(
      {
        date: "2026-12-02",
        sessions: 2,
        total_s: 600,
        state_seconds: { good: 300, forward_head: 100, looking_down: 50, away: 20 },
        good_ratio: 0.667,
        alerts: 3,
      },
      "2026-12-02",
    );
    expect(day).toEqual({ date: "2026-12-02", sessions: 2, totalS: 600, goodRatio: 0.667, alerts: 3, goodS: 300, badS: 150 });
  });

  it("treats a missing or odd answer as an empty day", () => {
    expect(parseDay(null, "2026-12-01")).toEqual({
      date: "2026-12-01",
      sessions: 0,
      totalS: 0,
      goodRatio: null,
      alerts: 0,
      goodS: 0,
      badS: 0,
    });
  });

  it("reads sessions and drops items without an id", () => {
    const sessions = parseSessions({
      items: [{ session_id: "a", started_at: "2026-12-02T10:00:00Z", duration_s: 65, state_seconds: { good: 40 }, alerts: 1 }, { nope: 1 }],
    });
    expect(sessions).toEqual([{ id: "a", startedAt: "2026-12-02T10:00:00Z", durationS: 65, goodS: 40, badS: 0, alerts: 1 }]);
  });
});

describe("chartBars", () => {
  it("scales each day against the longest watched day", () => {
    const days = [parseDay({ state_seconds: { good: 30, forward_head: 10 } }, "a"), parseDay({ state_seconds: { good: 80 } }, "b"), parseDay({}, "c")];
    const bars = chartBars(days);
    expect(bars.map((b) => [b.good, b.bad])).toEqual([[0.375, 0.125], [1, 0], [0, 0]]);
  });
});

describe("fetchDays", () => {
  it("asks for each day with its offset and the token, and turns a refusal into an ApiError", async () => {
    const fetch = vi.fn(async (url: string) =>
      new Response(JSON.stringify({ date: new URL(url, "http://x").searchParams.get("date"), sessions: 1 }), { status: 200 }),
    );
    const days = await fetchDays({ getToken: () => "tok", fetch: fetch as unknown as typeof globalThis.fetch }, new Date(2026, 11, 2, 12), 3);
    expect(days.map((d) => d.date)).toEqual(["2026-11-30", "2026-12-01", "2026-12-02"]);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toMatch(/^\/v1\/posture\/summary\/daily\?date=2026-11-30&utc_offset_min=-?\d+$/);
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok");

    const refusing = async () =>
      new Response(JSON.stringify({ error: { code: "token_expired", message: "expired" } }), { status: 401 });
    await expect(fetchDays({ getToken: () => "tok", fetch: refusing as unknown as typeof globalThis.fetch }, new Date(), 1)).rejects.toMatchObject({
      code: "token_expired",
      status: 401,
    });
  });
});
