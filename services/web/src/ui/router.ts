// A tiny hash router: `#/mural`, `#/sketch`, `#/filters`, `#/panorama`, `#/tasks`,
// `#/tasks/<id>`, `#/account`. Hash URLs need no server rule, so the static server may serve
// index.html at `/` only. A new product area is one more entry in Route, NAV_ROUTES and SIMPLE
// and one more case where the page is chosen (App.tsx).

export type Route =
  | { name: "mural" }
  | { name: "sketch" }
  | { name: "filters" }
  | { name: "panorama" }
  | { name: "tasks" }
  | { name: "task"; id: string }
  | { name: "account" }
  | { name: "notFound"; path: string };

export type RouteName = Route["name"];

/** The pages in the main navigation, in order. */
export const NAV_ROUTES = ["mural", "sketch", "filters", "panorama", "tasks", "account"] as const;

/** The pages that are one word long in the hash. */
const SIMPLE = new Set<string>(["mural", "sketch", "filters", "panorama", "tasks", "account"]);

export const HOME: Route = { name: "mural" };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/^\/+/, "").replace(/\/+$/, "");
  const parts = path.split("/").filter(Boolean);
  const [first, second, ...rest] = parts;
  if (parts.length === 0) return HOME;
  if (first && parts.length === 1 && SIMPLE.has(first)) return { name: first } as Route;
  if (first === "tasks" && second && rest.length === 0) {
    try {
      return { name: "task", id: decodeURIComponent(second) };
    } catch {
      return { name: "notFound", path: `/${path}` };
    }
  }
  return { name: "notFound", path: `/${path}` };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case "mural":
    case "sketch":
    case "filters":
    case "panorama":
    case "tasks":
    case "account":
      return `#/${route.name}`;
    case "task":
      return `#/tasks/${encodeURIComponent(route.id)}`;
    case "notFound":
      return `#${route.path}`;
  }
}

/** Which navigation entry a route belongs to (a task's page is under "My tasks"). */
export function navSection(route: Route): (typeof NAV_ROUTES)[number] | null {
  if (route.name === "task") return "tasks";
  return (NAV_ROUTES as readonly string[]).includes(route.name)
    ? (route.name as (typeof NAV_ROUTES)[number])
    : null;
}
