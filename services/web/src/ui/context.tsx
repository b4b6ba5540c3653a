import { createContext, useContext } from "react";
import type { Client } from "../api/client";
import type { Translator } from "../i18n";
import type { MuralDraft } from "../board/remix";
import type { TaskNotes } from "../tasks/notes";
import type { PhotoCache } from "../tasks/photoCache";
import type { Route } from "./router";

export interface AppServices {
  api: Client;
  t: Translator;
  getToken(): string | null;
  navigate(route: Route): void;
  signOut(notice?: string): void;
  /** The inputs sent from this tab, by task: a mural's or filter's photo, a sketch's doodle. */
  photos: PhotoCache;
  /** What the API does not say back about a task (a panorama's photo count). */
  notes: TaskNotes;
  /** Settings for the mural form to start from ("try again" without the photo, a remix). */
  draft: { take(): MuralDraft | null; set(settings: MuralDraft): void };
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error("useApp outside the app");
  return services;
}
