import { useEffect, useRef, useState } from "react";
import { chartBars, fetchDays, fetchSessions, type DaySummary, type SessionSummary } from "../posture/history";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, type Problem } from "./common";

const CHART_HEIGHT = 120;
const BAR_WIDTH = 28;
const GAP = 12;
const SAVED_AFTER_MS = 1000;

/** The last seven days as a chart (with the same figures as a table for screen readers) and
 * the latest sessions. Loaded again when a `live` session ends, a moment later: the service
 * saves a session as its socket closes. */
export function PostureHistory({ live }: { live: boolean }) {
  const { t, getToken } = useApp();
  const [days, setDays] = useState<DaySummary[] | null>(null);
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [error, setError] = useState<Problem>(null);
  const [attempt, setAttempt] = useState(0);

  const loaded = useRef(false);

  useEffect(() => {
    if (live) return;
    let current = true;
    const load = () => {
      setError(null);
      const options = { getToken };
      Promise.all([fetchDays(options, new Date()), fetchSessions(options)]).then(
        ([week, latest]) => {
          if (!current) return;
          loaded.current = true;
          setDays(week);
          setSessions(latest);
        },
        (cause) => current && setError(errorOf(cause)),
      );
    };
    const timer = setTimeout(load, loaded.current ? SAVED_AFTER_MS : 0);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [live, attempt, getToken]);

  const weekday = new Intl.DateTimeFormat(t.lang, { weekday: "short" });
  const dayName = (day: string) => weekday.format(new Date(`${day}T12:00:00`));
  const minutes = (seconds: number) => t.duration(seconds);

  return (
    <section className="card" aria-labelledby="posture-history-title">
      <h2 id="posture-history-title">{t.t("posture.history")}</h2>
      {error && (
        <ErrorNote error={error}>
          <button type="button" className="button" onClick={() => setAttempt((n) => n + 1)}>
            {t.t("common.retry")}
          </button>
        </ErrorNote>
      )}
      {!days && !error && <Loading />}
      {days && (
        <>
          <svg
            className="posture-chart"
            role="img"
            aria-label={t.t("posture.chartLabel")}
            viewBox={`0 0 ${days.length * (BAR_WIDTH + GAP)} ${CHART_HEIGHT + 20}`}
          >
            {chartBars(days).map((bar, index) => {
              const x = index * (BAR_WIDTH + GAP) + GAP / 2;
              const good = bar.good * CHART_HEIGHT;
              const bad = bar.bad * CHART_HEIGHT;
              return (
                <g key={bar.date}>
                  <rect className="posture-chart-bad" x={x} y={CHART_HEIGHT - good - bad} width={BAR_WIDTH} height={bad} />
                  <rect className="posture-chart-good" x={x} y={CHART_HEIGHT - good} width={BAR_WIDTH} height={good} />
                  <text x={x + BAR_WIDTH / 2} y={CHART_HEIGHT + 15} textAnchor="middle">
                    {dayName(bar.date)}
                  </text>
                </g>
              );
            })}
          </svg>
          <p className="chart-legend" aria-hidden="true">
            <span className="swatch posture-chart-good" /> {t.t("posture.goodTime")}
            <span className="swatch posture-chart-bad" /> {t.t("posture.badTime")}
          </p>
          <table className="visually-hidden">
            <caption>{t.t("posture.chartLabel")}</caption>
            <thead>
              <tr>
                <th scope="col">{t.t("posture.day")}</th>
                <th scope="col">{t.t("posture.goodTime")}</th>
                <th scope="col">{t.t("posture.badTime")}</th>
                <th scope="col">{t.t("posture.alerts")}</th>
              </tr>
            </thead>
            <tbody>
              {days.map((day) => (
                <tr key={day.date}>
                  <th scope="row">{day.date}</th>
                  <td>{minutes(day.goodS)}</td>
                  <td>{minutes(day.badS)}</td>
                  <td>{day.alerts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h3>{t.t("posture.sessions")}</h3>
      {sessions?.length === 0 && <p className="note">{t.t("posture.noHistory")}</p>}
      {sessions && sessions.length > 0 && (
        <ul className="posture-sessions" aria-label={t.t("posture.sessions")}>
          {sessions.map((session) => {
            const watched = session.goodS + session.badS;
            return (
              <li key={session.id}>
                {t.t("posture.sessionRow", {
                  when: t.date(session.startedAt),
                  duration: minutes(session.durationS),
                  share: watched ? t.percent(session.goodS / watched) : "–",
                  alerts: session.alerts,
                })}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
