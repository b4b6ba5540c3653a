import { describe, expect, it } from "vitest";
import { hrefFor, navSection, parseHash, type Route } from "./router";

describe("hash router", () => {
  it("opens the mural page on an empty hash", () => {
    expect(parseHash("")).toEqual({ name: "mural" });
    expect(parseHash("#")).toEqual({ name: "mural" });
    expect(parseHash("#/")).toEqual({ name: "mural" });
  });

  it("reads each page, with or without a trailing slash", () => {
    expect(parseHash("#/tasks")).toEqual({ name: "tasks" });
    expect(parseHash("#/tasks/")).toEqual({ name: "tasks" });
    expect(parseHash("#/account")).toEqual({ name: "account" });
    expect(parseHash("#/tasks/abc123")).toEqual({ name: "task", id: "abc123" });
    expect(parseHash("#/sketch")).toEqual({ name: "sketch" });
    expect(parseHash("#/filters/")).toEqual({ name: "filters" });
    expect(parseHash("#/panorama")).toEqual({ name: "panorama" });
  });

  it("calls anything else not found", () => {
    expect(parseHash("#/nowhere")).toEqual({ name: "notFound", path: "/nowhere" });
    expect(parseHash("#/board/a/b")).toEqual({ name: "notFound", path: "/board/a/b" });
    expect(parseHash("#/users")).toEqual({ name: "notFound", path: "/users" });
    expect(parseHash("#/sketch/x")).toEqual({ name: "notFound", path: "/sketch/x" });
    expect(parseHash("#/task")).toEqual({ name: "notFound", path: "/task" });
    expect(parseHash("#/tasks/a/b")).toEqual({ name: "notFound", path: "/tasks/a/b" });
    expect(parseHash("#/tasks/%E0%A4%A")).toEqual({ name: "notFound", path: "/tasks/%E0%A4%A" });
  });

  it("writes links that read back as the same route", () => {
    const routes: Route[] = [
      { name: "mural" },
      { name: "tasks" },
      { name: "task", id: "a b/c" },
      { name: "account" },
      { name: "sketch" },
      { name: "filters" },
      { name: "panorama" },
      { name: "board" },
      { name: "post", id: "p/1" },
      { name: "user", username: "kim.l" },
    ];
    for (const route of routes) expect(parseHash(hrefFor(route))).toEqual(route);
  });

  it("puts a task's page under My tasks in the navigation", () => {
    expect(navSection({ name: "task", id: "x" })).toBe("tasks");
    expect(navSection({ name: "account" })).toBe("account");
    expect(navSection({ name: "notFound", path: "/x" })).toBeNull();
    expect(navSection({ name: "panorama" })).toBe("panorama");
    expect(navSection({ name: "post", id: "x" })).toBe("board");
    expect(navSection({ name: "user", username: "x" })).toBe("board");
  });
});
