// Which of the API's push subscriptions this browser holds, per user: `{subscription_id,
// endpoint}` in localStorage (it outlives the tab's session, as the browser's subscription
// does). Keyed by the user id, so a second person signing in on the same browser does not see
// the first one's notifications as their own. The API moves an endpoint to whoever posted it
// last (one browser, one account at a time): saving an endpoint for one user forgets it for
// every other.

export const PUSH_STORE_KEY = "saekdam.push";

export interface PushRecord {
  /** The API's id, for `DELETE /v1/push/subscriptions/{subscription_id}`. */
  id: string;
  /** The browser subscription's endpoint it was made for. */
  endpoint: string;
}

export type PushStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

function readAll(storage: PushStore | null): Record<string, PushRecord> {
  let raw: string | null = null;
  try {
    raw = storage?.getItem(PUSH_STORE_KEY) ?? null;
  } catch {
    return {}; // storage blocked
  }
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
    const out: Record<string, PushRecord> = {};
    for (const [user, value] of Object.entries(parsed as Record<string, unknown>)) {
      const record = value as Partial<PushRecord> | null;
      if (record && typeof record.id === "string" && typeof record.endpoint === "string") {
        out[user] = { id: record.id, endpoint: record.endpoint };
      }
    }
    return out;
  } catch {
    return {};
  }
}

function writeAll(storage: PushStore | null, records: Record<string, PushRecord>): void {
  try {
    if (Object.keys(records).length === 0) storage?.removeItem(PUSH_STORE_KEY);
    else storage?.setItem(PUSH_STORE_KEY, JSON.stringify(records));
  } catch {
    // remembered for nothing: the next visit shows notifications as off
  }
}

export function loadRecord(storage: PushStore | null, userId: string): PushRecord | null {
  return readAll(storage)[userId] ?? null;
}

/** `userId` now holds `record`; nobody else holds its endpoint any more. */
export function saveRecord(storage: PushStore | null, userId: string, record: PushRecord): void {
  const records = readAll(storage);
  for (const [user, other] of Object.entries(records)) {
    if (other.endpoint === record.endpoint) delete records[user];
  }
  records[userId] = record;
  writeAll(storage, records);
}

/** Forgets `userId`'s record, and with `endpoint`, every user's record of that endpoint. */
export function forgetRecord(storage: PushStore | null, userId: string, endpoint?: string): void {
  const records = readAll(storage);
  delete records[userId];
  if (endpoint) {
    for (const [user, other] of Object.entries(records)) {
      if (other.endpoint === endpoint) delete records[user];
    }
  }
  writeAll(storage, records);
}
