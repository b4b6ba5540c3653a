import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createClient, type ClientOptions } from "../api/client";
import { pickLanguage, translator } from "../i18n";
import type { MuralDraft } from "../board/remix";
import { createTaskNotes } from "../tasks/notes";
import { createPhotoCache } from "../tasks/photoCache";
import { AccountPage } from "./AccountPage";
import { BoardPage } from "./BoardPage";
import { PostPage } from "./PostPage";
import { ProfilePage } from "./ProfilePage";
import { AppContext, type AppServices } from "./context";
import { FilterPage } from "./FilterPage";
import { MuralPage } from "./MuralPage";
import { PanoramaPage } from "./PanoramaPage";
import { PosturePage } from "./PosturePage";
import { hrefFor, HOME, NAV_ROUTES, navSection, parseHash, type Route } from "./router";
import { clearSession, loadSession, saveSession, type Session } from "./session";
import { SignIn } from "./SignIn";
import { SketchPage } from "./SketchPage";
import { TaskList } from "./TaskList";
import { TaskPage } from "./TaskPage";
import { PageTitle } from "./common";

const storage = (): Storage | null => {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
};
const noStorage = { getItem: () => null, setItem: () => {}, removeItem: () => {} };

function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      document.body.dataset.navigated = "1";
      setRoute(parseHash(window.location.hash));
    };
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function App({ rebaseUrl }: { rebaseUrl?: ClientOptions["rebaseUrl"] }) {
  const t = useMemo(() => translator(pickLanguage(navigator.languages ?? [navigator.language])), []);
  const [session, setSession] = useState<Session | null>(() =>
    loadSession(storage() ?? noStorage, Date.now()),
  );
  const [notice, setNotice] = useState<string | null>(null);
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const route = useHashRoute();
  const photos = useMemo(() => createPhotoCache(), []);
  const notes = useMemo(() => createTaskNotes(storage()), []);
  const draftRef = useRef<MuralDraft | null>(null);

  useEffect(() => {
    document.documentElement.lang = t.lang;
    document.title = t.t("app.name");
  }, [t]);

  const signOut = useCallback(
    (message?: string) => {
      clearSession(storage() ?? noStorage);
      sessionRef.current = null;
      photos.clear();
      notes.clear();
      setSession(null);
      setNotice(message ?? null);
    },
    [photos, notes],
  );

  const signIn = useCallback((next: Session) => {
    saveSession(storage() ?? noStorage, next);
    sessionRef.current = next;
    setNotice(null);
    setSession(next);
  }, []);

  // The token's end: signed out then, not at the next failing call.
  useEffect(() => {
    if (!session) return;
    const left = session.expiresAt - Date.now();
    const timer = window.setTimeout(
      () => signOut(t.error({ code: "token_expired" })),
      Math.max(0, Math.min(left, 2 ** 31 - 1)),
    );
    return () => window.clearTimeout(timer);
  }, [session, signOut, t]);

  const api = useMemo(
    () =>
      createClient({
        getToken: () => sessionRef.current?.token ?? null,
        onUnauthorized: (error) => signOut(t.error(error)),
        ...(rebaseUrl ? { rebaseUrl } : {}),
      }),
    [rebaseUrl, signOut, t],
  );

  const services: AppServices = useMemo(
    () => ({
      api,
      t,
      getToken: () => sessionRef.current?.token ?? null,
      navigate: (next: Route) => {
        window.location.hash = hrefFor(next);
      },
      signOut,
      photos,
      notes,
      draft: {
        take: () => {
          const draft = draftRef.current;
          draftRef.current = null;
          return draft;
        },
        set: (settings) => {
          draftRef.current = settings;
        },
      },
    }),
    [api, t, signOut, photos, notes],
  );

  const section = navSection(route);

  return (
    <AppContext.Provider value={services}>
      <a className="skip-link" href="#main" onClick={skipToMain}>
        {t.t("app.skip")}
      </a>
      <header className="site-header">
        <div className="site-header-inner">
          <a className="brand" href={hrefFor(HOME)}>
            <span className="brand-mark" aria-hidden="true" />
            {t.t("app.name")}
            <span className="brand-tagline">{t.t("app.tagline")}</span>
          </a>
          {session && (
            <nav aria-label={t.t("nav.label")}>
              <ul className="nav">
                {NAV_ROUTES.map((name) => (
                  <li key={name}>
                    <a
                      href={hrefFor({ name } as Route)}
                      aria-current={section === name ? "page" : undefined}
                    >
                      {t.t(`nav.${name}`)}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {session ? <Page route={route} /> : <SignIn notice={notice} onSignedIn={signIn} />}
      </main>
    </AppContext.Provider>
  );
}

function skipToMain(event: React.MouseEvent) {
  // The hash is the router's: move focus without changing it.
  event.preventDefault();
  document.getElementById("main")?.focus();
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case "mural":
      return <MuralPage />;
    case "sketch":
      return <SketchPage />;
    case "filters":
      return <FilterPage />;
    case "panorama":
      return <PanoramaPage />;
    case "posture":
      return <PosturePage />;
    case "tasks":
      return <TaskList />;
    case "task":
      return <TaskPage key={route.id} taskId={route.id} />;
    case "account":
      return <AccountPage />;
    case "board":
      return <BoardPage />;
    case "post":
      return <PostPage key={route.id} postId={route.id} />;
    case "user":
      return <ProfilePage key={route.username} username={route.username} />;
    case "notFound":
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <AppContext.Consumer>
      {(services) => (
        <section className="page">
          <PageTitle>{services!.t.t("notFound.title")}</PageTitle>
          <p>
            <a href={hrefFor(HOME)}>{services!.t.t("notFound.back")}</a>
          </p>
        </section>
      )}
    </AppContext.Consumer>
  );
}
