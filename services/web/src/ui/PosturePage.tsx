import { useEffect, useRef, useState } from "react";
import type { StringKey } from "../i18n";
import {
  alertSentence,
  askNotificationPermission,
  notificationPermission,
  playAlertTone,
  showAlertNotification,
  type NotifyPermission,
} from "../posture/alerts";
import type { PostureStreamState } from "../posture/postureStream";
import { useApp } from "./context";
import { ErrorNote, PageTitle } from "./common";
import { PostureHistory } from "./PostureHistory";
import { usePostureCoach, type PostureCoach } from "./usePostureCoach";

const SENSITIVITY_KEY = "saekdam.posture.sensitivity";
const SOUND_KEY = "saekdam.posture.sound";
const NOTIFY_KEY = "saekdam.posture.notify";

function stored(key: string, fallback: string): string {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback;
  }
}
function store(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

export function PosturePage() {
  const { t, getToken } = useApp();
  const coach = usePostureCoach(getToken);
  const state = coach.state;
  const [sensitivity, setSensitivity] = useState(() => Number(stored(SENSITIVITY_KEY, "50")));
  const [sound, setSound] = useState(() => stored(SOUND_KEY, "1") === "1");
  const [notify, setNotify] = useState(() => stored(NOTIFY_KEY, "0") === "1" && notificationPermission() === "granted");
  const [permission, setPermission] = useState<NotifyPermission>(notificationPermission);

  // The person's sensitivity goes to each session once it is open.
  const open = state?.connection === "open";
  useEffect(() => {
    if (open) coach.stream?.setSensitivity(sensitivity / 100);
  }, [open, sensitivity, coach.stream]);

  // Each new alert: a notification and a tone, as chosen.
  const alerts = state?.alerts ?? 0;
  const seenAlerts = useRef(0);
  useEffect(() => {
    if (alerts <= seenAlerts.current || !state?.alert) {
      seenAlerts.current = alerts;
      return;
    }
    seenAlerts.current = alerts;
    const text = alertSentence(t, state.alert);
    if (notify) void showAlertNotification(t.t("posture.alertTitle"), text);
    if (sound) playAlertTone();
  }, [alerts, state?.alert, notify, sound, t]);

  async function toggleNotify(wanted: boolean) {
    if (wanted && permission !== "granted") {
      const answer = await askNotificationPermission();
      setPermission(answer);
      if (answer !== "granted") return;
    }
    setNotify(wanted);
    store(NOTIFY_KEY, wanted ? "1" : "0");
  }

  return (
    <section className="page">
      <PageTitle>{t.t("posture.title")}</PageTitle>
      <p>{t.t("posture.intro")}</p>

      <div className="card posture-camera">
        <Privacy coach={coach} />
        <figure className="posture-preview" aria-label={t.t("posture.preview")}>
          <video ref={coach.videoRef} muted playsInline autoPlay aria-hidden="true" />
          <canvas ref={coach.overlayRef} aria-hidden="true" />
          {coach.phase !== "on" && (
            <figcaption className="posture-preview-note">
              {coach.phase === "hidden" ? t.t("posture.hidden") : t.t("posture.cameraOff")}
            </figcaption>
          )}
        </figure>
        {coach.problem && <ErrorNote error={t.t(`posture.${coach.problem}` as StringKey)} />}
        {coach.loadingModel && (
          <p className="note" role="status">
            {t.t("posture.loadingModel")}
          </p>
        )}
        <div className="actions">
          {coach.phase === "off" ? (
            <button type="button" className="button button-primary" onClick={() => void coach.start()}>
              {t.t("posture.startCamera")}
            </button>
          ) : (
            <button type="button" className="button" onClick={coach.stop} disabled={coach.phase === "starting" && !coach.loadingModel}>
              {t.t("posture.stopCamera")}
            </button>
          )}
        </div>
      </div>

      {state && coach.phase !== "off" && (
        <>
          <LiveState state={state} />
          <Calibration coach={coach} state={state} />
          <fieldset className="card">
            <legend>{t.t("posture.settings")}</legend>
            <label className="field">
              <span>{t.t("posture.sensitivity")}</span>
              <input
                type="range"
                min={0}
                max={100}
                step={5}
                value={sensitivity}
                aria-valuetext={`${sensitivity} (${sensitivity < 34 ? t.t("posture.relaxed") : sensitivity > 66 ? t.t("posture.strict") : t.t("posture.balanced")})`}
                onChange={(event) => {
                  const value = Number(event.target.value);
                  setSensitivity(value);
                  store(SENSITIVITY_KEY, String(value));
                }}
              />
              <span className="range-ends" aria-hidden="true">
                <span>{t.t("posture.relaxed")}</span>
                <span>{t.t("posture.strict")}</span>
              </span>
            </label>
            <label className="checkbox">
              <input
                type="checkbox"
                checked={notify}
                disabled={permission === "denied" || permission === "unsupported"}
                onChange={(event) => void toggleNotify(event.target.checked)}
              />
              {t.t("posture.notify")}
            </label>
            {permission === "denied" && <p className="hint">{t.t("posture.notifyDenied")}</p>}
            {permission === "unsupported" && <p className="hint">{t.t("posture.notifyUnsupported")}</p>}
            <label className="checkbox">
              <input
                type="checkbox"
                checked={sound}
                onChange={(event) => {
                  setSound(event.target.checked);
                  store(SOUND_KEY, event.target.checked ? "1" : "0");
                }}
              />
              {t.t("posture.sound")}
            </label>
            <div className="actions">
              <button
                type="button"
                className="button"
                aria-pressed={state.paused}
                onClick={() => (state.paused ? coach.stream?.resume() : coach.stream?.pause())}
              >
                {state.paused ? t.t("posture.resume") : t.t("posture.pause")}
              </button>
            </div>
          </fieldset>
        </>
      )}

      <PostureHistory live={coach.phase !== "off"} />
    </section>
  );
}

function Privacy({ coach }: { coach: PostureCoach }) {
  const { t } = useApp();
  if (coach.mode === "device") return <p className="note">{t.t("posture.privacyDevice")}</p>;
  if (coach.mode === "server" || coach.fallbackReason) {
    return (
      <p className="note">
        {t.t("posture.privacyServer")} {coach.fallbackReason && t.t(`posture.fallback.${coach.fallbackReason}` as StringKey)}
      </p>
    );
  }
  return <p className="note">{t.t("posture.privacyFirst")}</p>;
}

function LiveState({ state }: { state: PostureStreamState }) {
  const { t } = useApp();
  let text: string;
  if (state.connection === "waiting" || state.connection === "connecting") {
    text = t.t(state.connection === "waiting" ? "posture.reconnecting" : "posture.connecting");
  } else if (state.connection === "closed") {
    text = t.error(state.error);
  } else {
    const shown = state.paused ? "paused" : (state.result?.state ?? "uncalibrated");
    text = t.t(`posture.state.${shown}` as StringKey);
  }
  const score = state.result?.score;
  return (
    <div className="card posture-live">
      <p className={`posture-state posture-state-${state.result?.state ?? "none"}`} role="status" aria-label={t.t("posture.live")}>
        {text}
      </p>
      {typeof score === "number" && !state.paused && (
        <div className="progress-row">
          <meter min={0} max={1} low={0.3} high={0.5} optimum={0} value={score} aria-label={t.t("posture.score")} />
          <span className="progress-figure">{t.percent(score)}</span>
        </div>
      )}
      {state.alert && (
        <p className="note" aria-live="polite">
          {t.t("posture.lastAlert", { text: alertSentence(t, state.alert) })}
        </p>
      )}
      {state.error && state.connection === "open" && <ErrorNote error={state.error} />}
    </div>
  );
}

function Calibration({ coach, state }: { coach: PostureCoach; state: PostureStreamState }) {
  const { t } = useApp();
  const calibration = state.calibration;
  const running = calibration.status === "running";
  const canStart = state.connection === "open" && coach.phase === "on";
  return (
    <section className="card" aria-labelledby="calibration-title">
      <h2 id="calibration-title">{t.t("posture.calibration")}</h2>
      <ol className="steps">
        <li aria-current={!running && calibration.status !== "completed" ? "step" : undefined}>
          {t.t("posture.calibrateStep1", { seconds: Math.round(calibration.durationS || 15) })}
        </li>
        <li aria-current={running ? "step" : undefined}>{t.t("posture.calibrateStep2")}</li>
        <li aria-current={calibration.status === "completed" ? "step" : undefined}>{t.t("posture.calibrateStep3")}</li>
      </ol>
      {running && (
        <div className="progress-row">
          <progress max={1} value={calibration.fraction} aria-label={t.t("posture.calibrationProgress")} />
          <span className="progress-figure">{t.percent(calibration.fraction)}</span>
        </div>
      )}
      <p role="status">
        {running
          ? t.t("posture.calibrating", { samples: calibration.samples, min: calibration.minSamples || 10 })
          : calibration.status === "completed"
            ? t.t(calibration.stored === false ? "posture.calibratedNotStored" : "posture.calibrated")
            : calibration.status === "failed"
              ? t.maybe(`posture.failed.${calibration.reason}`, t.t("posture.failed.other"))
              : state.calibrated
                ? t.t("posture.calibratedBefore")
                : t.t("posture.needCalibration")}
      </p>
      <div className="actions">
        {running ? (
          <button type="button" className="button" onClick={() => coach.stream?.calibrate("cancel")}>
            {t.t("posture.calibrateCancel")}
          </button>
        ) : (
          <button
            type="button"
            className="button button-primary"
            disabled={!canStart}
            onClick={() => coach.stream?.calibrate("start")}
          >
            {state.calibrated || calibration.status !== "idle" ? t.t("posture.calibrateAgain") : t.t("posture.calibrateStart")}
          </button>
        )}
      </div>
    </section>
  );
}
