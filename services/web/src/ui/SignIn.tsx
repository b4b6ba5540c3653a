import { useId, useState, type FormEvent } from "react";
import { sessionFromToken, type Session } from "./session";
import { useApp } from "./context";
import { ErrorNote, errorOf, PageTitle } from "./common";

type Mode = "login" | "register";

export function SignIn({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn: (session: Session) => void;
}) {
  const { api, t } = useApp();
  const [mode, setMode] = useState<Mode>("login");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const [email, setEmail] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const id = useId();

  async function run(action: () => Promise<{ access_token: string; expires_in: number; token_type?: string }>) {
    setBusy(true);
    setError(null);
    try {
      const token = await action();
      onSignedIn(sessionFromToken({ token_type: "bearer", ...token }, Date.now()));
    } catch (cause) {
      setError(errorOf(cause));
      setBusy(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (mode === "login") {
      void run(() => api.login({ email, password }));
    } else {
      void run(async () => {
        await api.register({ email, username, password });
        return api.login({ email, password });
      });
    }
  }

  return (
    <section className="page signin">
      <PageTitle>{t.t("signin.title")}</PageTitle>
      <p className="lead">{t.t("signin.intro")}</p>
      {notice && (
        <p className="note" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={error} />

      <div className="card">
        <button
          type="button"
          className="button button-primary button-wide"
          disabled={busy}
          onClick={() => void run(() => api.guest())}
        >
          {t.t("signin.guest")}
        </button>
        <p className="hint">{t.t("signin.guestNote")}</p>
      </div>

      <div className="card">
        <h2>{t.t("signin.or")}</h2>
        <div className="segmented" role="group" aria-label={t.t("signin.or")}>
          {(["login", "register"] as const).map((m) => (
            <button
              key={m}
              type="button"
              className="button"
              aria-pressed={mode === m}
              onClick={() => {
                setMode(m);
                setError(null);
              }}
            >
              {t.t(m === "login" ? "signin.modeLogin" : "signin.modeRegister")}
            </button>
          ))}
        </div>
        <form onSubmit={submit} className="form">
          <div className="field">
            <label htmlFor={`${id}-email`}>{t.t("signin.email")}</label>
            <input
              id={`${id}-email`}
              type="email"
              autoComplete="email"
              inputMode="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          {mode === "register" && (
            <div className="field">
              <label htmlFor={`${id}-username`}>{t.t("signin.username")}</label>
              <input
                id={`${id}-username`}
                type="text"
                autoComplete="username"
                autoCapitalize="none"
                spellCheck={false}
                required
                minLength={3}
                maxLength={32}
                pattern="[A-Za-z0-9_.\-]+"
                aria-describedby={`${id}-username-hint`}
                value={username}
                onChange={(e) => setUsername(e.target.value)}
              />
              <p className="hint" id={`${id}-username-hint`}>
                {t.t("signin.usernameHint")}
              </p>
            </div>
          )}
          <div className="field">
            <label htmlFor={`${id}-password`}>{t.t("signin.password")}</label>
            <input
              id={`${id}-password`}
              type="password"
              autoComplete={mode === "login" ? "current-password" : "new-password"}
              required
              minLength={mode === "register" ? 8 : 1}
              maxLength={128}
              aria-describedby={mode === "register" ? `${id}-password-hint` : undefined}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            {mode === "register" && (
              <p className="hint" id={`${id}-password-hint`}>
                {t.t("signin.passwordHint")}
              </p>
            )}
          </div>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy
              ? t.t("signin.working")
              : t.t(mode === "login" ? "signin.submitLogin" : "signin.submitRegister")}
          </button>
        </form>
      </div>
    </section>
  );
}
