import { describe, expect, it } from "vitest";
import { fill, formatDuration, pickLanguage, translator } from "./index";
import { en, ko } from "./strings";

describe("language", () => {
  it("is Korean for any ko* tag first among the browser's languages, else English", () => {
    expect(pickLanguage(["ko-KR", "en-US"])).toBe("ko");
    expect(pickLanguage(["ko"])).toBe("ko");
    expect(pickLanguage(["KO_kr"])).toBe("ko");
    expect(pickLanguage(["fr-FR", "ko-KR"])).toBe("ko");
    expect(pickLanguage(["en-GB", "ko-KR"])).toBe("en");
    expect(pickLanguage(["de-DE"])).toBe("en");
    expect(pickLanguage([])).toBe("en");
    expect(pickLanguage(undefined)).toBe("en");
  });
});

describe("strings", () => {
  it("has every key in both languages, none empty, the same placeholders in each", () => {
    expect(Object.keys(ko).sort()).toEqual(Object.keys(en).sort());
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(ko[key].trim(), key).toBeTruthy();
      expect(placeholders(ko[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("fills placeholders and leaves unknown ones", () => {
    expect(fill("number {n} of {total}", { n: 2 })).toBe("number 2 of {total}");
    expect(translator("ko").t("task.queuePosition", { n: 3 })).toBe("대기 순서: 3번째");
  });

  it("falls back for a theme or stage a newer server invents", () => {
    const t = translator("en");
    expect(t.maybe("theme.ocean", "ocean")).toBe("Ocean");
    expect(t.maybe("theme.forest", "forest")).toBe("forest");
  });
});

describe("formats", () => {
  it("says durations in words", () => {
    expect(formatDuration("en", 0.4)).toBe("1 second");
    expect(formatDuration("en", 45)).toBe("45 seconds");
    expect(formatDuration("en", 150)).toBe("3 minutes");
    expect(formatDuration("en", 3600)).toBe("1 hour");
    expect(formatDuration("en", 3900)).toBe("1 hour, 5 minutes");
    expect(formatDuration("ko", 45)).toBe("45초");
    expect(formatDuration("ko", 3900)).toBe("1시간 5분");
  });

  it("says progress as a whole percent, within 0–100", () => {
    const t = translator("en");
    expect(t.percent(0.426)).toBe("43%");
    expect(t.percent(1.2)).toBe("100%");
    expect(t.bytes(3.5 * 1024 * 1024)).toBe("3.5 MB");
  });
});
