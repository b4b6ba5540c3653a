import { describe, expect, it, vi } from "vitest";
import { ApiError, createClient, parseFilters, parseKinds, parseStyles, parseThemes, type UploadOut } from "./client";

interface Seen {
  url: string;
  init: RequestInit;
}

function fakeFetch(answer: (seen: Seen) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = { url: String(input), init: init ?? {} };
    seen.push(call);
    return answer(call);
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, seen };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const headersOf = (seen: Seen) => seen.init.headers as Record<string, string>;

describe("api client", () => {
  it("sends JSON with the bearer token and returns the parsed answer", async () => {
    const { fetch, seen } = fakeFetch(() => json({ task_id: "t1", status: "QUEUED" }, 202));
    const api = createClient({ fetch, getToken: () => "tok" });
    const answer = await api.submit("t1", { kind: "mural", params: { theme: "ocean" } });
    expect(answer).toEqual({ task_id: "t1", status: "QUEUED" });
    expect(seen[0]!.url).toBe("/v1/tasks/t1/submit");
    expect(seen[0]!.init.method).toBe("POST");
    expect(headersOf(seen[0]!).Authorization).toBe("Bearer tok");
    expect(headersOf(seen[0]!)["Content-Type"]).toBe("application/json");
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({
      kind: "mural",
      params: { theme: "ocean" },
    });
  });

  it("sends no Authorization header when signed out", async () => {
    const { fetch, seen } = fakeFetch(() =>
      json({ access_token: "a", token_type: "bearer", expires_in: 3600 }),
    );
    await createClient({ fetch }).guest();
    expect(headersOf(seen[0]!).Authorization).toBeUndefined();
    expect(seen[0]!.url).toBe("/v1/auth/guest");
  });

  it("prefixes the base URL and encodes path parameters", async () => {
    const { fetch, seen } = fakeFetch(() => json({}));
    await createClient({ fetch, baseUrl: "https://example.test" }).getTask("a/b c");
    expect(seen[0]!.url).toBe("https://example.test/v1/tasks/a%2Fb%20c");
  });

  it("pages the task list with cursor and limit, leaving out an absent cursor", async () => {
    const { fetch, seen } = fakeFetch(() => json({ items: [], next_cursor: null }));
    const api = createClient({ fetch });
    await api.listTasks();
    await api.listTasks({ cursor: "abc=", limit: 5 });
    expect(seen[0]!.url).toBe("/v1/tasks?limit=20");
    expect(seen[1]!.url).toBe("/v1/tasks?cursor=abc%3D&limit=5");
  });

  it("turns the error envelope into an ApiError with status, code and message", async () => {
    const { fetch } = fakeFetch(() =>
      json({ error: { code: "task_not_found", message: "no such task" } }, 404),
    );
    const error = await createClient({ fetch })
      .getTask("x")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, code: "task_not_found", message: "no such task" });
  });

  it("names a body that is not the envelope http_error, keeping its text", async () => {
    const { fetch } = fakeFetch(() => new Response("<html>Bad Gateway</html>", { status: 502 }));
    await expect(createClient({ fetch }).me()).rejects.toMatchObject({
      status: 502,
      code: "http_error",
      message: "<html>Bad Gateway</html>",
    });
  });

  it("names a failed connection network_error with status 0", async () => {
    const fetch = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof globalThis.fetch;
    await expect(createClient({ fetch }).themes()).rejects.toMatchObject({
      status: 0,
      code: "network_error",
    });
  });

  it("lets an abort through as an abort, not a network error", async () => {
    const fetch = (async () => {
      throw new DOMException("aborted", "AbortError");
    }) as unknown as typeof globalThis.fetch;
    await expect(createClient({ fetch }).getTask("t")).rejects.toMatchObject({
      name: "AbortError",
    });
  });

  it("tells onUnauthorized of a 401 to a signed-in call, not of a failed login", async () => {
    const { fetch } = fakeFetch(() =>
      json({ error: { code: "token_expired", message: "log in again" } }, 401),
    );
    const onUnauthorized = vi.fn();
    await createClient({ fetch, onUnauthorized, getToken: () => "old" })
      .me()
      .catch(() => {});
    expect(onUnauthorized).toHaveBeenCalledWith(
      expect.objectContaining({ code: "token_expired", status: 401 }),
    );
    onUnauthorized.mockClear();
    await createClient({ fetch, onUnauthorized })
      .login({ email: "a@b.c", password: "wrong" })
      .catch(() => {});
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("answers a 204 with undefined", async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    await expect(createClient({ fetch, getToken: () => "t" }).deleteAccount()).resolves.toBe(
      undefined,
    );
    expect(seen[0]!.init.method).toBe("DELETE");
    expect(seen[0]!.url).toBe("/v1/users/me");
  });

  it("asks for an upload slot with role, type and size", async () => {
    const { fetch, seen } = fakeFetch(() => json({}, 201));
    await createClient({ fetch }).requestUpload("t1", {
      role: "image",
      content_type: "image/jpeg",
      size: 1234,
    });
    expect(seen[0]!.url).toBe("/v1/tasks/t1/uploads");
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({
      role: "image",
      content_type: "image/jpeg",
      size: 1234,
    });
  });

  const slot: UploadOut = {
    upload_id: "u1",
    key: "uploads/u1",
    url: "http://127.0.0.1:8000/v1/storage/upload",
    fields: { key: "uploads/u1", "Content-Type": "image/jpeg", policy: "p", signature: "s" },
    expires_at: "2030-01-01T00:00:00Z",
    max_bytes: 10,
  };

  it("uploads every form field first and the file last, to the slot's URL, without the token", async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    const api = createClient({ fetch, getToken: () => "secret" });
    await api.upload(slot, new Blob(["abc"], { type: "image/jpeg" }), "wall.jpg");
    expect(seen[0]!.url).toBe(slot.url);
    expect(seen[0]!.init.method).toBe("POST");
    expect(seen[0]!.init.headers).toBeUndefined();
    const form = seen[0]!.init.body as FormData;
    expect([...form.keys()]).toEqual(["key", "Content-Type", "policy", "signature", "file"]);
    expect(form.get("policy")).toBe("p");
    const file = form.get("file") as File;
    expect(file.name).toBe("wall.jpg");
    expect(await file.text()).toBe("abc");
  });

  it("rebases the upload URL when asked (the dev proxy)", async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    const api = createClient({
      fetch,
      rebaseUrl: (url) => url.replace("http://127.0.0.1:8000", ""),
    });
    await api.upload(slot, new Blob(["abc"]));
    expect(seen[0]!.url).toBe("/v1/storage/upload");
  });

  it("reports a refused upload with the storage's code", async () => {
    const { fetch } = fakeFetch(() =>
      json({ error: { code: "upload_too_large", message: "too big" } }, 413),
    );
    await expect(createClient({ fetch }).upload(slot, new Blob(["abc"]))).rejects.toMatchObject({
      status: 413,
      code: "upload_too_large",
    });
  });

  it("reads themes defensively: nameless entries dropped, availability false unless true", () => {
    expect(
      parseThemes({
        themes: [
          { name: "ocean", available: true, reason: null },
          { name: "space", available: "yes", reason: { code: "no_worker", message: "none" } },
          { name: "city", available: false, reason: "not an object" },
          { available: true },
        ],
        regions: ["auto", 3],
      }),
    ).toEqual({
      themes: [
        { name: "ocean", available: true },
        { name: "space", available: false, reason: { code: "no_worker", message: "none" } },
        { name: "city", available: false },
      ],
      regions: ["auto"],
    });
    expect(parseThemes(null)).toEqual({ themes: [], regions: [] });
  });

  it("reads styles like themes, and filters by name", () => {
    expect(
      parseStyles({ styles: [{ name: "anime", available: true }, { name: "manga" }, { available: true }] }),
    ).toEqual([
      { name: "anime", available: true },
      { name: "manga", available: false },
    ]);
    expect(parseStyles({})).toEqual([]);
    expect(parseFilters({ filters: [{ name: "cartoon" }, { name: "" }, "emboss", null] })).toEqual([
      { name: "cartoon" },
    ]);
    expect(parseFilters(null)).toEqual([]);
  });

  it("reads kinds, keeping those with side limits", () => {
    expect(
      parseKinds({
        kinds: [
          { kind: "mural", min_side: 64, max_side: 8192, uploads: { image: { min: 1, max: 1 } } },
          { kind: "broken" },
        ],
      }).map((k) => k.kind),
    ).toEqual(["mural"]);
  });
});
