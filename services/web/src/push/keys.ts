// The VAPID public key the API hands out (`GET /v1/push/key`, base64url) as the bytes
// `pushManager.subscribe({applicationServerKey})` takes, and the comparison that tells an
// existing subscription made with an older key.

/** An uncompressed P-256 point: 0x04, then x and y (32 bytes each). */
export const P256_POINT_BYTES = 65;

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** base64url (padded or not; `+` and `/` are taken too) → bytes. Throws on anything else. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const trimmed = text.trim();
  const normal = trimmed.replace(/\+/g, "-").replace(/\//g, "_");
  if (!BASE64URL.test(normal)) throw new TypeError("not base64url");
  const bare = normal.replace(/=+$/, "");
  if (bare.length % 4 === 1) throw new TypeError("not base64url: wrong length");
  const base64 = bare.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** bytes → base64url without padding (how the API and the browser write keys). */
export function bytesToBase64Url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view =
    bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The server's key as `applicationServerKey`, or null when it is no uncompressed P-256 point. */
export function applicationServerKey(publicKey: string): Uint8Array<ArrayBuffer> | null {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = base64UrlToBytes(publicKey);
  } catch {
    return null;
  }
  return bytes.length === P256_POINT_BYTES && bytes[0] === 0x04 ? bytes : null;
}

/** Whether a subscription's `options.applicationServerKey` is `key` (null: made without one). */
export function sameKey(
  existing: ArrayBuffer | ArrayBufferView | null | undefined,
  key: Uint8Array,
): boolean {
  if (!existing) return false;
  const view =
    existing instanceof ArrayBuffer
      ? new Uint8Array(existing)
      : new Uint8Array(existing.buffer, existing.byteOffset, existing.byteLength);
  return view.length === key.length && view.every((byte, i) => byte === key[i]);
}
