// The committed .d.ts files must be what openapi-typescript makes of the committed OpenAPI
// documents: when the Python apps change and the JSON is regenerated, stale types fail here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";

const documents = [
  ["api.openapi.json", "api.d.ts"],
  ["posture.openapi.json", "posture.d.ts"],
] as const;

describe("generated API types", () => {
  it.each(documents)("%s matches the committed %s", async (json, dts) => {
    const source = new URL(`./${json}`, import.meta.url);
    // Same as the CLI: the header comment, then the printed AST, default options.
    const expected = COMMENT_HEADER + astToString(await openapiTS(source, { silent: true }));
    const committed = readFileSync(new URL(`./${dts}`, import.meta.url), "utf8");
    expect(
      committed === expected,
      `src/api/${dts} is stale or hand-edited: run \`npm run gen:api\` in services/web and commit the result`,
    ).toBe(true);
  }, 30_000);
});
