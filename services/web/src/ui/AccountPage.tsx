import { useEffect, useRef, useState } from "react";
import type { UserOut } from "../api/client";
import { useApp } from "./context";
import { ErrorNote, errorOf, Loading, PageTitle } from "./common";

export function AccountPage() {
  const { api, t, signOut } = useApp();
  const [user, setUser] = useState<UserOut | null>(null);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const keepRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    let live = true;
    api.me().then(
      (me) => live && setUser(me),
      (cause) => live && setError(errorOf(cause)),
    );
    return () => {
      live = false;
    };
  }, [api]);

  // The confirmation takes focus, and gives it back when dismissed.
  useEffect(() => {
    if (confirming) keepRef.current?.focus();
  }, [confirming]);

  async function remove() {
    setDeleting(true);
    setError(null);
    try {
      await api.deleteAccount();
      signOut(t.t("account.deleted"));
    } catch (cause) {
      setError(errorOf(cause));
      setDeleting(false);
    }
  }

  return (
    <section className="page">
      <PageTitle>{t.t("account.title")}</PageTitle>
      <ErrorNote error={error} />
      {!user && !error && <Loading />}
      {user && (
        <div className="card">
          <dl className="facts">
            <dt>{t.t("account.username")}</dt>
            <dd>{user.username}</dd>
            {user.email && (
              <>
                <dt>{t.t("account.email")}</dt>
                <dd>{user.email}</dd>
              </>
            )}
            <dt>{t.t("account.kind")}</dt>
            <dd>{t.t(user.is_guest ? "account.guest" : "account.registered")}</dd>
            <dt>{t.t("account.joined")}</dt>
            <dd>{t.date(user.created_at)}</dd>
          </dl>
          {user.is_guest && <p className="hint">{t.t("account.guestNote")}</p>}
          <button type="button" className="button" onClick={() => signOut()}>
            {t.t("common.signOut")}
          </button>
        </div>
      )}
      {user && (
        <div className="card card-danger">
          <h2>{t.t("account.deleteTitle")}</h2>
          <p>{t.t("account.deleteWarn")}</p>
          {!confirming ? (
            <button
              ref={deleteRef}
              type="button"
              className="button button-danger"
              onClick={() => setConfirming(true)}
            >
              {t.t("account.delete")}
            </button>
          ) : (
            <div className="actions" role="group" aria-label={t.t("account.deleteTitle")}>
              <button
                type="button"
                className="button button-danger"
                disabled={deleting}
                onClick={() => void remove()}
              >
                {deleting ? t.t("account.deleting") : t.t("account.deleteConfirm")}
              </button>
              <button
                ref={keepRef}
                type="button"
                className="button"
                disabled={deleting}
                onClick={() => {
                  setConfirming(false);
                  requestAnimationFrame(() => deleteRef.current?.focus());
                }}
              >
                {t.t("account.deleteCancel")}
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
