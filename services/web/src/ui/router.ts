// A tiny hash router: `#/mural`, `#/sketch`, `#/filters`, `#/panorama`, `#/tasks`,
// `#/posture`, `#/tasks/<id>`, `#/account`, `#/board`, `#/board/<post id>`, `#/users/<username>`. Hash URLs need no server rule, so the static server may serve
// index.html at `/` only. A new product area is one more entry in Route, NAV_ROUTES and SIMPLE
// and one more case where the page is chosen (App.tsx).

export type Route =
  | { name: "mural" }
  | { name: "sketch" }
  | { name: "filters" }
  | { name: "panorama" }
  | { name: "posture" }
  | { name: "tasks" }
  | { name: "task"; id: string }
  | { name: "account" }
  | { name: "board" }
  | { name: "post"; id: string }
  | { name: "user"; username: string }
  | { name: "notFound"; path: string };

export type RouteName = Route["name"];

/** The pages in the main navigation, in order. */
export const NAV_ROUTES = ["mural", "sketch", "filters", "panorama", "board", "posture", "tasks", "account"] as const;

/** The pages that are one word long in the hash. */
const SIMPLE = new Set<string>(["mural", "sketch", "filters", "panorama", "board", "posture", "tasks", "account"]);

export const HOME: Route = { name: "mural" };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/^\/+/, "").replace(/\/+$/, "");
  const parts = path.split("/").filter(Boolean);
  const [first, second, ...rest] = parts;
  if (parts.length === 0) return HOME;
  if (first && parts.length === 1 && SIMPLE.has(first)) return { name: first } as Route;
  if ((first === "tasks" || first === "board" || first === "users") && second && rest.length === 0) {
    let value: string;
    try {
      value = decodeURIComponent(second);
    } catch {
      return { name: "notFound", path: `/${path}` };
    }
    if (first === "tasks") return { name: "task", id: value };
    if (first === "board") return { name: "post", id: value };
    return { name: "user", username: value };
  }
  return { name: "notFound", path: `/${path}` };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case "mural":
    case "sketch":
    case "filters":
    case "panorama":
    case "posture":
    case "tasks":
    case "account":
    case "board":
      return `#/${route.name}`;
    case "post":
      return `#/board/${encodeURIComponent(route.id)}`;
    case "user":
      return `#/users/${encodeURIComponent(route.username)}`;
    case "task":
      return `#/tasks/${encodeURIComponent(route.id)}`;
    case "notFound":
      return `#${route.path}`;
  }
}

/** Which navigation entry a route belongs to (a task's page is under "My tasks"). */
export function navSection(route: Route): (typeof NAV_ROUTES)[number] | null {
  if (route.name === "task") return "tasks";
  if (route.name === "post" || route.name === "user") return "board";
  return (NAV_ROUTES as readonly string[]).includes(route.name)
    ? (route.name as (typeof NAV_ROUTES)[number])
    : null;
}
