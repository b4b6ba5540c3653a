// The API over fetch: JSON in and out, the bearer token, errors as ApiError.
// Paths, bodies and answers are typed from the generated OpenAPI types (src/api/api.d.ts):
// a path or method the API does not have, or a wrong body, fails `npm run typecheck`.
import type { components, paths } from "./api";

export type Schemas = components["schemas"];
export type TaskStatus = Schemas["TaskStatus"];
export type TaskOut = Schemas["TaskOut"];
export type TaskPage = Schemas["TaskPage"];
export type TaskCreated = Schemas["TaskCreated"];
export type UploadOut = Schemas["UploadOut"];
export type UploadIn = Schemas["UploadIn"];
export type SubmitIn = Schemas["SubmitIn"];
export type TokenOut = Schemas["TokenOut"];
export type UserOut = Schemas["UserOut"];
export type RegisterIn = Schemas["RegisterIn"];
export type LoginIn = Schemas["LoginIn"];
export type PublicResult = Schemas["PublicResult"];
export type PublicRendition = Schemas["PublicRendition"];
export type ErrorInfo = Schemas["ErrorInfo"];
export type PostOut = Schemas["PostOut"];
export type PostPage = Schemas["PostPage"];
export type PostIn = Schemas["PostIn"];
export type PostPatch = Schemas["PostPatch"];
export type CommentOut = Schemas["CommentOut"];
export type CommentPage = Schemas["CommentPage"];
export type LikeOut = Schemas["LikeOut"];
export type MadeWith = Schemas["MadeWith"];
export type RemixOut = Schemas["RemixOut"];
export type ProfileOut = Schemas["ProfileOut"];
export type PostSort = "recent" | "popular";

export const TERMINAL_STATUSES: readonly TaskStatus[] = ["COMPLETED", "FAILED", "CANCELLED"];
export const isTerminal = (status: TaskStatus | undefined | null): boolean =>
  status != null && TERMINAL_STATUSES.includes(status);

/** `GET /v1/themes` (its schema is a free-form object in the OpenAPI document). */
export interface Theme {
  name: string;
  available: boolean;
  /** Why it cannot be painted now (`no_worker`, `model_unavailable`, `theme_unavailable`),
   * shown as the error sentence for its code. */
  reason?: ErrorInfo;
}
export interface Themes {
  themes: Theme[];
  regions: string[];
}

/** `GET /v1/styles`: the sketch styles, `available` when a painter for them is running. */
export type Style = Theme;

/** `GET /v1/filters`: the photo filters a `filter` job accepts. */
export interface Filter {
  name: string;
}

/** One kind from `GET /v1/kinds`: the uploads it takes and the image side limits. */
export interface KindInfo {
  kind: string;
  min_side: number;
  max_side: number;
  uploads: Record<string, { min: number; max: number }>;
}

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when no answer came (network). */
    readonly status: number,
    /** The API's snake_case code, or one of ours: network_error, http_error. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

// -- types from the generated `paths` ----------------------------------------------------

type Method = "get" | "post" | "put" | "patch" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type SuccessCode = 200 | 201 | 202 | 204;
type JsonBody<R> = R extends { content: { "application/json": infer B } } ? B : undefined;
/** The body of the operation's 2xx answer (undefined for 204). */
export type Answer<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R }
    ? { [K in keyof R]: K extends SuccessCode ? JsonBody<R[K]> : never }[keyof R]
    : never;
type Body<O> = O extends { requestBody?: { content: { "application/json": infer B } } }
  ? B
  : never;
type PathParams<O> = O extends { parameters: { path: infer PP } } ? PP : never;
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? Q : never;

export interface CallOptions<O> {
  path?: PathParams<O>;
  query?: QueryParams<O>;
  body?: Body<O>;
  signal?: AbortSignal;
}

// -- the client ----------------------------------------------------------------------------

export interface ClientOptions {
  /** Where the API is; "" is the page's own origin (the app is served with the API). */
  baseUrl?: string;
  /** The current access token, or null when signed out. */
  getToken?: () => string | null;
  fetch?: typeof fetch;
  /** Rewrites the absolute URLs the API hands out (upload forms), e.g. for the dev proxy. */
  rebaseUrl?: (url: string) => string;
  /** Told of a 401 to a call that carried a token, so the app can sign out. */
  onUnauthorized?: (error: ApiError) => void;
}

/** `{"error": {"code", "message"}}` → ApiError; anything else → http_error. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let text = "";
  try {
    text = await response.text();
  } catch {
    // the body is gone: the status is all there is
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const error = (parsed as { error?: unknown } | null)?.error as
      | { code?: unknown; message?: unknown }
      | undefined;
    if (error && typeof error.code === "string") {
      const message = typeof error.message === "string" ? error.message : error.code;
      return new ApiError(response.status, error.code, message);
    }
  } catch {
    // not JSON (an S3 XML error, a proxy page)
  }
  const message = text.trim().slice(0, 300) || response.statusText || `HTTP ${response.status}`;
  return new ApiError(response.status, "http_error", message);
}

function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export function createClient(options: ClientOptions = {}) {
  const baseUrl = options.baseUrl ?? "";
  const getToken = options.getToken ?? (() => null);
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const rebase = options.rebaseUrl ?? ((url: string) => url);

  async function send(url: string, init: RequestInit, withToken = false): Promise<Response> {
    let response: Response;
    try {
      response = await doFetch(url, init);
    } catch (cause) {
      if ((cause as { name?: string } | null)?.name === "AbortError") throw cause;
      throw new ApiError(0, "network_error", String((cause as Error)?.message ?? cause));
    }
    if (!response.ok) {
      const error = await errorFromResponse(response);
      // A 401 to a signed-in call means the session is over (a failed login is not that).
      if (response.status === 401 && withToken) options.onUnauthorized?.(error);
      throw error;
    }
    return response;
  }

  /** One API call, typed by its path and method in the OpenAPI document. */
  async function call<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    opts: CallOptions<Operation<P, M>> = {},
  ): Promise<Answer<P, M>> {
    const url =
      baseUrl +
      fillPath(path as string, opts.path as Record<string, unknown> | undefined) +
      queryString(opts.query as Record<string, unknown> | undefined);
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method: method.toUpperCase(), headers };
    if (opts.signal) init.signal = opts.signal;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    const response = await send(url, init, Boolean(token));
    if (response.status === 204) return undefined as Answer<P, M>;
    const text = await response.text();
    if (!text) return undefined as Answer<P, M>;
    try {
      return JSON.parse(text) as Answer<P, M>;
    } catch {
      throw new ApiError(response.status, "http_error", "the server's answer is not JSON");
    }
  }

  /** Step 3: the file to the presigned form, every field first, then `file` (no token). */
  async function upload(slot: UploadOut, file: Blob, filename = "photo"): Promise<void> {
    const form = new FormData();
    for (const [name, value] of Object.entries(slot.fields)) form.append(name, value);
    form.append("file", file, filename);
    await send(rebase(slot.url), { method: "POST", body: form });
  }

  return {
    call,
    upload,
    guest: () => call("post", "/v1/auth/guest"),
    register: (body: RegisterIn) => call("post", "/v1/auth/register", { body }),
    login: (body: LoginIn) => call("post", "/v1/auth/login", { body }),
    me: () => call("get", "/v1/users/me"),
    deleteAccount: () => call("delete", "/v1/users/me"),
    createTask: () => call("post", "/v1/tasks"),
    requestUpload: (taskId: string, body: UploadIn) =>
      call("post", "/v1/tasks/{task_id}/uploads", { path: { task_id: taskId }, body }),
    submit: (taskId: string, body: SubmitIn) =>
      call("post", "/v1/tasks/{task_id}/submit", { path: { task_id: taskId }, body }),
    getTask: (taskId: string, signal?: AbortSignal) =>
      call("get", "/v1/tasks/{task_id}", { path: { task_id: taskId }, signal }),
    cancel: (taskId: string) =>
      call("post", "/v1/tasks/{task_id}/cancel", { path: { task_id: taskId } }),
    listTasks: (page: { cursor?: string | null; limit?: number } = {}) =>
      call("get", "/v1/tasks", { query: { cursor: page.cursor ?? null, limit: page.limit ?? 20 } }),
    // -- the board
    listPosts: (page: { sort?: PostSort; q?: string | null; cursor?: string | null; limit?: number } = {}) =>
      call("get", "/v1/posts", {
        query: {
          sort: page.sort ?? "recent",
          q: page.q || null,
          cursor: page.cursor ?? null,
          limit: page.limit ?? 20,
        },
      }),
    createPost: (body: PostIn) => call("post", "/v1/posts", { body }),
    getPost: (postId: string) => call("get", "/v1/posts/{post_id}", { path: { post_id: postId } }),
    editPost: (postId: string, body: PostPatch) =>
      call("patch", "/v1/posts/{post_id}", { path: { post_id: postId }, body }),
    deletePost: (postId: string) => call("delete", "/v1/posts/{post_id}", { path: { post_id: postId } }),
    like: (postId: string) => call("put", "/v1/posts/{post_id}/like", { path: { post_id: postId } }),
    unlike: (postId: string) => call("delete", "/v1/posts/{post_id}/like", { path: { post_id: postId } }),
    comments: (postId: string, page: { cursor?: string | null; limit?: number } = {}) =>
      call("get", "/v1/posts/{post_id}/comments", {
        path: { post_id: postId },
        query: { cursor: page.cursor ?? null, limit: page.limit ?? 50 },
      }),
    addComment: (postId: string, body: string) =>
      call("post", "/v1/posts/{post_id}/comments", { path: { post_id: postId }, body: { body } }),
    deleteComment: (commentId: string) =>
      call("delete", "/v1/comments/{comment_id}", { path: { comment_id: commentId } }),
    report: (postId: string, reason: string) =>
      call("post", "/v1/posts/{post_id}/report", { path: { post_id: postId }, body: { reason } }),
    remix: (postId: string, keepSeed = false) =>
      call("post", "/v1/posts/{post_id}/remix", { path: { post_id: postId }, body: { keep_seed: keepSeed } }),
    profile: (username: string) => call("get", "/v1/users/{username}", { path: { username } }),
    themes: async (): Promise<Themes> => parseThemes(await call("get", "/v1/themes")),
    kinds: async (): Promise<KindInfo[]> => parseKinds(await call("get", "/v1/kinds")),
    styles: async (): Promise<Style[]> => parseStyles(await call("get", "/v1/styles")),
    filters: async (): Promise<Filter[]> => parseFilters(await call("get", "/v1/filters")),
  };
}

export type Client = ReturnType<typeof createClient>;

/** Named choices with availability (themes, styles): nameless ones dropped, flags false unless true. */
function parseChoices(list: unknown): Theme[] {
  return (Array.isArray(list) ? list : [])
    .filter((t): t is Record<string, unknown> => !!t && typeof (t as Theme).name === "string")
    .map((t) => {
      const choice: Theme = { name: t.name as string, available: t.available === true };
      const reason = t.reason as Record<string, unknown> | null | undefined;
      if (reason && typeof reason.code === "string") {
        choice.reason = {
          code: reason.code,
          message: typeof reason.message === "string" ? reason.message : "",
        };
      }
      return choice;
    });
}

/** The themes answer, checked: a theme without a name is dropped, flags default to false. */
export function parseThemes(raw: unknown): Themes {
  const data = (raw ?? {}) as { themes?: unknown; regions?: unknown };
  return {
    themes: parseChoices(data.themes),
    regions: Array.isArray(data.regions)
      ? data.regions.filter((r): r is string => typeof r === "string")
      : [],
  };
}

export function parseKinds(raw: unknown): KindInfo[] {
  const kinds = (raw as { kinds?: unknown } | null)?.kinds;
  if (!Array.isArray(kinds)) return [];
  return kinds.filter(
    (k): k is KindInfo =>
      !!k &&
      typeof k.kind === "string" &&
      typeof k.min_side === "number" &&
      typeof k.max_side === "number",
  );
}

export function parseStyles(raw: unknown): Style[] {
  return parseChoices((raw as { styles?: unknown } | null)?.styles);
}

export function parseFilters(raw: unknown): Filter[] {
  const filters = (raw as { filters?: unknown } | null)?.filters;
  if (!Array.isArray(filters)) return [];
  return filters
    .filter((f): f is Filter => !!f && typeof (f as Filter).name === "string" && (f as Filter).name !== "")
    .map((f) => ({ name: f.name }));
}
