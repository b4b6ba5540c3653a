// The access token lives in sessionStorage: it survives a reload, not the closing of the tab.
import type { TokenOut } from "../api/client";

export interface Session {
  token: string;
  /** Unix ms after which the API refuses the token. */
  expiresAt: number;
}

export const SESSION_KEY = "saekdam.session";
// A token this close to its end is treated as gone: a request started now could outlive it.
const EXPIRY_MARGIN_MS = 30_000;

type Store = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export function sessionFromToken(token: TokenOut, now: number): Session {
  return { token: token.access_token, expiresAt: now + token.expires_in * 1000 };
}

export function loadSession(storage: Store, now: number): Session | null {
  let raw: string | null = null;
  try {
    raw = storage.getItem(SESSION_KEY);
  } catch {
    return null; // storage blocked (private mode, policy)
  }
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (
      typeof parsed.token === "string" &&
      parsed.token &&
      typeof parsed.expiresAt === "number" &&
      parsed.expiresAt - EXPIRY_MARGIN_MS > now
    ) {
      return { token: parsed.token, expiresAt: parsed.expiresAt };
    }
  } catch {
    // fall through: a broken entry is removed
  }
  clearSession(storage);
  return null;
}

export function saveSession(storage: Store, session: Session): void {
  try {
    storage.setItem(SESSION_KEY, JSON.stringify(session));
  } catch {
    // still signed in for this page's life
  }
}

export function clearSession(storage: Store): void {
  try {
    storage.removeItem(SESSION_KEY);
  } catch {
    // nothing to clear
  }
}
