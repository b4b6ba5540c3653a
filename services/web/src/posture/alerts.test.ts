import { describe, expect, it } from "vitest";
import { translator } from "../i18n";
import { alertSentence } from "./alerts";
import type { PostureAlert } from "./postureStream";

const alert = (state: PostureAlert["state"], level: number): PostureAlert => ({
  state,
  level,
  message: "server sentence",
  t: 0,
  badForS: 10,
});

describe("alertSentence", () => {
  it("says the page's own sentence in the page's language, firmer once ignored", () => {
    const en = translator("en");
    expect(alertSentence(en, alert("forward_head", 1))).toBe(en.t("posture.alertForward"));
    expect(alertSentence(en, alert("forward_head", 3))).toBe(en.t("posture.alertForwardAgain"));
    expect(alertSentence(en, alert("looking_down", 1))).toBe(en.t("posture.alertDown"));
    const ko = translator("ko");
    expect(alertSentence(ko, alert("looking_down", 2))).toBe(ko.t("posture.alertDownAgain"));
    expect(alertSentence(ko, alert("looking_down", 2))).not.toBe(en.t("posture.alertDownAgain"));
  });

  it("keeps the server's sentence for a state it has none for", () => {
    expect(alertSentence(translator("en"), alert("away", 1))).toBe("server sentence");
  });
});
