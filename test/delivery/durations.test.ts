// How long a code lives, as messages say it: exact and grammatical in English and Japanese.
import { describe, expect, it } from "vitest";
import { renderTemplate } from "../../src/delivery/templates";
import { formatDuration } from "../../src/i18n/duration";
import { createApp } from "../helpers";
import { latestMessage, newUser, requestReset } from "../kii/password-helpers";

describe("formatDuration", () => {
  it.each([
    [60, "1 minute", "1 分"],
    [90, "1 minute and 30 seconds", "1 分 30 秒"],
    [120, "2 minutes", "2 分"],
    [600, "10 minutes", "10 分"],
    [3_600, "1 hour", "1 時間"],
    [3_660, "1 hour and 1 minute", "1 時間 1 分"],
    [5_400, "1 hour and 30 minutes", "1 時間 30 分"],
    [86_400, "1 day", "1 日"],
    [90_061, "1 day, 1 hour, 1 minute and 1 second", "1 日 1 時間 1 分 1 秒"],
    [7 * 86_400, "7 days", "7 日"],
  ])("%i s is %s / %s", (seconds, en, ja) => {
    expect(formatDuration(seconds, "en")).toBe(en);
    expect(formatDuration(seconds, "ja")).toBe(ja);
  });
});

describe("built-in templates", () => {
  it("say 1 minute, not 1 minutes", () => {
    const { text, html } = renderTemplate("reset_pin", "en", { appName: "Demo", code: "123456", ttlSeconds: 60 });
    expect(text).toBe("Your Demo password reset code is 123456. It expires in 1 minute.");
    expect(html).toContain("It expires in 1 minute.");
  });

  it("do not round 90 seconds up to 2 minutes", () => {
    const en = renderTemplate("reset_link", "en", { appName: "Demo", link: "https://x.example/r", ttlSeconds: 90 });
    expect(en.text).toContain("within 1 minute and 30 seconds:");
    expect(en.html).toContain("(valid for 1 minute and 30 seconds)");
    const ja = renderTemplate("reset_pin", "ja", { appName: "Demo", code: "123456", ttlSeconds: 90 });
    expect(ja.text).toContain("1 分 30 秒で無効になります");
  });

  it("keep {{minutes}} for app templates, rounded down", () => {
    const overrides = { en: { reset_pin: { text: "{{code}} for {{minutes}} min ({{duration}})" } } };
    expect(renderTemplate("reset_pin", "en", { appName: "Demo", code: "1", ttlSeconds: 90 }, overrides).text).toBe("1 for 1 min (1 minute and 30 seconds)");
  });
});

describe("reset messages", () => {
  it("state a 90-second PIN lifetime exactly", async () => {
    const app = await createApp({ codes: { smsPinTtlSeconds: 90 } });
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } });
    expect(res.status).toBe(204);
    const message = await latestMessage(user.phone, "reset_pin");
    expect(message.text).toMatch(/It expires in 1 minute and 30 seconds\.$/);
  });

  it("state a one-minute link lifetime in the singular, in Japanese too", async () => {
    const app = await createApp({ codes: { emailLinkTtlSeconds: 60 }, defaultLocale: "ja" });
    const user = await newUser(app);
    expect((await requestReset(app, `EMAIL:${user.email}`)).status).toBe(204);
    const message = await latestMessage(user.email, "reset_link");
    expect(message.text).toContain("1 分以内に次のリンク");
  });
});
