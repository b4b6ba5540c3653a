// "Notifications" on the My tasks page: Web Push for my finished tasks (src/push/), turned on
// and off by the person. Permission is asked for only when they click the button.
import { useEffect, useId, useMemo, useState } from "react";
import {
  disableNotifications,
  enableNotifications,
  notificationState,
  pushApi,
  workerRegistration,
  type PushContext,
  type PushState,
  type WorkerContainer,
} from "../push/subscription";
import { pushSupport } from "../push/support";
import { useApp } from "./context";
import { ErrorNote, errorOf, type Problem } from "./common";

function localStore(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function workerContainer(): WorkerContainer | null {
  return "serviceWorker" in navigator && navigator.serviceWorker ? navigator.serviceWorker : null;
}

function contextFor(userId: string): PushContext {
  return {
    userId,
    storage: localStore(),
    support: pushSupport(window),
    notification: "Notification" in window ? Notification : null,
  };
}

/** Errors that are a state of their own: said as the state, not as an error too. */
function stateOfError(code: string): PushState | null {
  if (code === "notifications_blocked") return { state: "blocked" };
  if (code === "push_unavailable") return { state: "unavailable" };
  if (code === "push_unsupported" || code === "push_insecure_context") {
    return { state: "unsupported", reason: code };
  }
  return null;
}

export function NotificationsPanel() {
  const { api, t } = useApp();
  const push = useMemo(() => pushApi(api), [api]);
  const headingId = useId();
  const [userId, setUserId] = useState<string | null>(null);
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState<"enabling" | "disabling" | null>(null);
  const [error, setError] = useState<Problem>(null);

  useEffect(() => {
    let live = true;
    const support = pushSupport(window);
    if (!support.supported) {
      setState({ state: "unsupported", reason: support.reason });
      return;
    }
    let known = false;
    (async () => {
      const me = await api.me();
      if (!live) return;
      known = true;
      setUserId(me.id);
      const registration = (await workerContainer()?.getRegistration()) ?? null;
      const next = await notificationState(push, registration, contextFor(me.id));
      if (live) setState(next);
    })().catch((cause) => {
      if (!live) return;
      const problem = errorOf(cause);
      const asState = stateOfError(problem.code);
      if (asState) setState(asState);
      else {
        setError(problem);
        // Without the user, nothing can be turned on: the error alone says it.
        if (known) setState({ state: "off" });
      }
    });
    return () => {
      live = false;
    };
  }, [api, push]);

  function act(which: "enabling" | "disabling") {
    if (!userId || busy) return;
    setBusy(which);
    setError(null);
    const context = contextFor(userId);
    // Straight from the click, with nothing awaited first: browsers ask for permission only
    // from a person's gesture.
    const done =
      which === "enabling"
        ? enableNotifications(push, workerRegistration(workerContainer()), context)
        : (async () =>
            disableNotifications(push, (await workerContainer()?.getRegistration()) ?? null, context))();
    done
      .then(setState, (cause: unknown) => {
        const problem = errorOf(cause);
        const asState = stateOfError(problem.code);
        if (asState) setState(asState);
        else setError(problem);
      })
      .finally(() => setBusy(null));
  }

  let sentence: string;
  if (busy === "enabling") sentence = t.t("push.enabling");
  else if (busy === "disabling") sentence = t.t("push.disabling");
  else if (!state) sentence = error ? "" : t.t("push.checking");
  else if (state.state === "unsupported") sentence = t.error({ code: state.reason });
  else if (state.state === "blocked") sentence = t.error({ code: "notifications_blocked" });
  else if (state.state === "unavailable") sentence = t.error({ code: "push_unavailable" });
  else sentence = t.t(state.state === "on" ? "push.on" : "push.off");

  const canAct = userId !== null && (state?.state === "on" || state?.state === "off");
  const willAsk =
    state?.state === "off" && "Notification" in window && Notification.permission === "default";

  return (
    <section className="card push-panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{t.t("push.title")}</h2>
      <p role="status">{sentence}</p>
      {canAct && willAsk && !busy && <p className="hint">{t.t("push.askHint")}</p>}
      <ErrorNote error={error} />
      {canAct && (
        <div className="actions">
          <button
            type="button"
            className="button"
            disabled={busy !== null}
            onClick={() => act(state?.state === "on" ? "disabling" : "enabling")}
          >
            {t.t(state?.state === "on" ? "push.disable" : "push.enable")}
          </button>
        </div>
      )}
    </section>
  );
}
