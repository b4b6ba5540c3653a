import { describe, expect, it } from "vitest";
import { applicationServerKey, base64UrlToBytes, bytesToBase64Url, P256_POINT_BYTES, sameKey } from "./keys";

// A real VAPID public key (the API's example shape): 65 bytes, 0x04 first.
const KEY =
  "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";

describe("base64url keys", () => {
  it("decodes base64url without padding, with - and _", () => {
    const bytes = base64UrlToBytes(KEY);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(P256_POINT_BYTES);
    expect(bytes[0]).toBe(0x04);
    expect(bytesToBase64Url(bytes)).toBe(KEY);
    expect([...base64UrlToBytes("-_8")]).toEqual([0xfb, 0xff]);
  });

  it("takes padding and standard base64's + and /", () => {
    expect([...base64UrlToBytes("AQ==")]).toEqual([1]);
    expect([...base64UrlToBytes("+/8")]).toEqual([0xfb, 0xff]);
    expect([...base64UrlToBytes("")]).toEqual([]);
  });

  it("refuses what is not base64url", () => {
    expect(() => base64UrlToBytes("not base64!")).toThrow();
    expect(() => base64UrlToBytes("A")).toThrow();
  });

  it("takes only an uncompressed P-256 point as the application server key", () => {
    expect(applicationServerKey(KEY)?.length).toBe(65);
    expect(applicationServerKey("AQID")).toBeNull();
    const compressed = new Uint8Array(65);
    compressed[0] = 0x02;
    expect(applicationServerKey(bytesToBase64Url(compressed))).toBeNull();
    expect(applicationServerKey("%%%")).toBeNull();
  });

  it("compares a subscription's key with the server's", () => {
    const key = base64UrlToBytes(KEY);
    expect(sameKey(key.slice().buffer, key)).toBe(true);
    expect(sameKey(new Uint8Array(key), key)).toBe(true);
    const other = key.slice();
    other[64] = other[64]! ^ 1;
    expect(sameKey(other.buffer, key)).toBe(false);
    expect(sameKey(key.slice(0, 64).buffer, key)).toBe(false);
    expect(sameKey(null, key)).toBe(false);
  });
});
