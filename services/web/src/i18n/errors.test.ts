// Every error code the Python services can send has a sentence here, in every language.
// The codes are read from the sources themselves, so a new code without words fails this.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ERROR_SENTENCES, errorSentence } from "./errors";
import { LANGS } from "./lang";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
// What reaches a client: the API, the shared web layer and backbone, and the worker's job
// errors (a FAILED task carries them as `error.code`).
const SOURCE_DIRS = [
  "services/api/saekdam_api",
  "packages/web/saekdam_web",
  "packages/backbone/saekdam_backbone",
  "services/model_worker/saekdam_worker",
];
// Classes whose first argument is an error code; their subclasses are found below.
const ROOT_ERROR_CLASSES = ["ApiError", "PolicyError", "JobError", "InvalidToken"];
const CODE = String.raw`"([a-z][a-z0-9_]*)"`;

function pythonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "tests" && name !== "migrations" && name !== "__pycache__") {
        out.push(...pythonFiles(path));
      }
    } else if (name.endsWith(".py")) {
      out.push(path);
    }
  }
  return out;
}

/** code → a file that sends it. */
export function scanErrorCodes(sources: string[]): Map<string, string> {
  const texts = sources.map((file) => [file, readFileSync(file, "utf8")] as const);
  const classes = new Set(ROOT_ERROR_CLASSES);
  const classLine = /^class\s+(\w+)\(([^)]*)\)/gm;
  for (let grew = true; grew; ) {
    grew = false;
    for (const [, text] of texts) {
      for (const [, name, bases] of text.matchAll(classLine)) {
        const isError = bases!.split(",").some((base) => classes.has(base.trim()));
        if (isError && !classes.has(name!)) {
          classes.add(name!);
          grew = true;
        }
      }
    }
  }
  const patterns = [
    // Unauthorized("token_invalid", ...), across lines too
    new RegExp(String.raw`\b(?:${[...classes].join("|")})\(\s*${CODE}`, "g"),
    new RegExp(String.raw`\berror_response\(\s*\d+\s*,\s*${CODE}`, "g"),
    new RegExp(String.raw`\berror_frame\(\s*${CODE}`, "g"),
    new RegExp(String.raw`"code"\s*:\s*${CODE}`, "g"),
    new RegExp(String.raw`\berror_code\s*=\s*${CODE}`, "g"),
    // the worker's job errors reported without a class: _retry_or_fail(job, "internal_error", ...)
    new RegExp(String.raw`_retry_or_fail\(\s*\w+\s*,\s*${CODE}`, "g"),
  ];
  const found = new Map<string, string>();
  for (const [file, text] of texts) {
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) found.set(match[1]!, file);
    }
    // saekdam_web/errors.py: the codes of plain HTTP errors, and their fallback.
    const table = /_HTTP_CODES\s*=\s*\{([^}]*)\}/.exec(text);
    if (table) {
      for (const match of table[1]!.matchAll(new RegExp(String.raw`\d{3}\s*:\s*${CODE}`, "g"))) {
        found.set(match[1]!, file);
      }
    }
    for (const match of text.matchAll(new RegExp(String.raw`_HTTP_CODES\.get\([^,]+,\s*${CODE}`, "g"))) {
      found.set(match[1]!, file);
    }
  }
  // ModelUnavailable passes its code up to JobError's __init__.
  for (const [file, text] of texts) {
    for (const match of text.matchAll(new RegExp(String.raw`super\(\)\.__init__\(\s*${CODE}`, "g"))) {
      found.set(match[1]!, file);
    }
  }
  return found;
}

const inMonorepo = SOURCE_DIRS.every((dir) => existsSync(join(REPO, dir)));

describe("error sentences", () => {
  it.skipIf(!inMonorepo)("cover every error code in the Python sources", () => {
    const files = SOURCE_DIRS.flatMap((dir) => pythonFiles(join(REPO, dir)));
    const codes = scanErrorCodes(files);
    // The scan itself still works: these are known to exist.
    for (const known of ["token_invalid", "task_not_found", "upload_too_large", "rate_limited", "not_found", "no_wall_found"]) {
      expect(codes.has(known), `the scan no longer finds ${known}`).toBe(true);
    }
    const missing = [...codes.keys()]
      .filter((code) => !(code in ERROR_SENTENCES))
      .map((code) => `${code} (${codes.get(code)!.slice(REPO.length)})`);
    expect(missing, "add these codes to src/i18n/errors.ts in every language").toEqual([]);
  });

  it("say every sentence in every language", () => {
    for (const [code, sentences] of Object.entries(ERROR_SENTENCES)) {
      for (const lang of LANGS) {
        expect(sentences[lang]?.trim(), `${code} in ${lang}`).toBeTruthy();
      }
    }
  });

  it("use our sentence for a known code and the server's message for an unknown one", () => {
    expect(errorSentence("ko", { code: "token_expired", message: "the access token has expired" })).toBe(
      ERROR_SENTENCES.token_expired!.ko,
    );
    expect(errorSentence("en", { code: "brand_new_code", message: "A new thing happened." })).toBe(
      "A new thing happened.",
    );
    expect(errorSentence("en", { code: "brand_new_code", message: "" })).toMatch(/went wrong/);
    expect(errorSentence("ko", null)).toMatch(/문제/);
  });
});
