export type Lang = "en" | "ko";
export const LANGS: readonly Lang[] = ["en", "ko"];

/** The first of the browser's languages we speak: any `ko*` is Korean, else English. */
export function pickLanguage(languages: readonly string[] | undefined | null): Lang {
  for (const tag of languages ?? []) {
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    if (primary === "ko") return "ko";
    if (primary === "en") return "en";
  }
  return "en";
}
