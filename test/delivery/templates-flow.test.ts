// Templates per app and locale, and the whole path from a Kii reset request through the Queue to
// a provider: the API's answer does not depend on what the provider does.
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderTemplate } from "../../src/delivery/templates";
import { ADMIN_TOKEN, call, type TestApp } from "../helpers";
import { latestMessage, newUser, requestReset } from "../kii/password-helpers";
import { interceptFetch, webhookSecret } from "./helpers";

afterEach(() => vi.restoreAllMocks());

async function appNamed(name: string, settings: Record<string, unknown>): Promise<TestApp> {
  // Registered addresses are trusted here so that a reset can go out at once (new apps require verification).
  settings = { verification: { email: "trusted", phone: "trusted" }, ...settings };
  const res = await call("/admin/apps", { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { name, settings } });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

describe("templates", () => {
  it("escape every variable in an override's HTML and none in its text", () => {
    const overrides = { en: { reset_pin: { subject: "{{appName}} code", text: "{{appName}}: {{code}}", html: "<h1>{{appName}}</h1><p>{{ code }}</p>" } } };
    const rendered = renderTemplate("reset_pin", "en", { appName: `<b>Tom & "Jerry's"</b>`, code: "<123>", ttlSeconds: 600 }, overrides);
    expect(rendered).toEqual({
      subject: `<b>Tom & "Jerry's"</b> code`,
      text: `<b>Tom & "Jerry's"</b>: <123>`,
      html: "<h1>&lt;b&gt;Tom &amp; &quot;Jerry&#39;s&quot;&lt;/b&gt;</h1><p>&lt;123&gt;</p>",
    });
  });

  it("fall back to the built-in part an override leaves out", () => {
    const rendered = renderTemplate("password_changed", "ja", { appName: "Demo" }, { ja: { password_changed: { subject: "【Demo】変更のお知らせ" } } });
    expect(rendered.subject).toBe("【Demo】変更のお知らせ");
    expect(rendered.text).toBe(renderTemplate("password_changed", "ja", { appName: "Demo" }).text);
  });

  it("apply an app's override for the user's locale only, on a real reset request", async () => {
    const app = await appNamed(`<i>Cats & Dogs</i>`, {
      templates: { ja: { reset_link: { subject: "{{appName}}: パスワード再設定", text: "リンク: {{link}}", html: '<p>{{appName}}</p><a href="{{link}}">再設定</a>' } } },
    });
    const ja = await newUser(app, { locale: "ja" });
    const en = await newUser(app, { locale: "en" });
    for (const user of [ja, en]) expect((await requestReset(app, user.userID)).status).toBe(204);
    const jaMessage = await latestMessage(ja.email, "reset_link");
    const enMessage = await latestMessage(en.email, "reset_link");
    expect(jaMessage.subject).toBe("<i>Cats & Dogs</i>: パスワード再設定");
    expect(jaMessage.text).toMatch(/^リンク: http:\/\/latchkey\.test\/reset\//);
    expect(jaMessage.html).toMatch(/^<p>&lt;i&gt;Cats &amp; Dogs&lt;\/i&gt;<\/p><a href="http:\/\/latchkey\.test\/reset\/[^"<>]+">再設定<\/a>$/);
    expect(enMessage.subject).toBe("Reset your <i>Cats & Dogs</i> password");
  });
});

describe("a provider that rejects the message", () => {
  it("leaves the Kii reset answer at 204 and the message in the dead-letter queue", async () => {
    const app = await appNamed("Rejecting", { delivery: { email: { provider: "webhook", url: "https://hooks.example.com/rejects", secret: webhookSecret() } } });
    const user = await newUser(app);
    const { calls } = interceptFetch(() => new Response("bad request", { status: 400 }));
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});

    const res = await requestReset(app, user.userID);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    // The real Queue delivers to the consumer, which dead-letters; the dead-letter consumer logs.
    const deadLine = await vi.waitUntil(
      () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "dead_letter" && l.appId === app.appId),
      { timeout: 10_000, interval: 50 },
    );
    expect(deadLine).toMatchObject({ reason: "http_400", provider: "webhook", status: 400, template: "reset_link" });
    expect(calls).toHaveLength(1);
    expect(lines.join("\n")).not.toContain(user.email);
  });
});
