// Delivery settings through the operator API: validation that names the field and changes
// nothing, and secrets that never come back.
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, call, createApp, type TestApp } from "../helpers";
import { webhookSecret } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const getApp = async (app: TestApp) => (await (await call(`/admin/apps/${app.appId}`, { headers: auth })).json()) as { settings: Record<string, any>; changedAt: string };
const patch = (app: TestApp, settings: unknown) => call(`/admin/apps/${app.appId}`, { method: "PATCH", headers: auth, json: { settings } });

const resend = { provider: "resend", apiKey: "re_live_0123456789abcdefWXYZ", from: "no-reply@example.com" };

describe("secrets", () => {
  it("are masked in the PATCH answer and in GET, keeping only the last four characters of long ones", async () => {
    const app = await createApp();
    const secret = webhookSecret();
    const sms = { provider: "twilio", accountSid: `AC${"ab".repeat(16)}`, authToken: "short", from: "+15005550006" };
    const res = await patch(app, { delivery: { email: { provider: "webhook", url: "https://hooks.example.com/x", secret }, sms } });
    expect(res.status).toBe(200);
    const patched = (await res.json()) as { settings: Record<string, any> };
    const fetched = await getApp(app);
    for (const view of [patched, fetched]) {
      expect(view.settings.delivery).toEqual({
        email: { provider: "webhook", url: "https://hooks.example.com/x", secret: `••••${secret.slice(-4)}` },
        sms: { ...sms, authToken: "••••" },
      });
    }
  });

  it("are masked in the creation answer", async () => {
    const res = await call("/admin/apps", { method: "POST", headers: auth, json: { settings: { delivery: { email: resend } } } });
    const body = (await res.json()) as { settings: Record<string, any> };
    expect(body.settings.delivery.email.apiKey).toBe("••••WXYZ");
    expect(JSON.stringify(body)).not.toContain(resend.apiKey);
  });

  it("are kept when a PATCH leaves them out", async () => {
    const app = await createApp({ delivery: { email: resend } });
    const res = await patch(app, { delivery: { email: { from: "support@example.com" } } });
    expect(res.status).toBe(200);
    const { settings } = await getApp(app);
    expect(settings.delivery.email).toEqual({ ...resend, apiKey: "••••WXYZ", from: "support@example.com" });
  });

  it("refuse the masked value sent back, naming the field, and keep the stored one", async () => {
    const app = await createApp({ delivery: { email: resend } });
    const before = await getApp(app);
    const res = await patch(app, { delivery: { email: before.settings.delivery.email } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_settings", field: "settings.delivery.email.apiKey" });
    expect(await getApp(app)).toEqual(before);
  });
});

describe("invalid settings", () => {
  const cases: [string, unknown, string][] = [
    ["a missing API key", { delivery: { email: { provider: "resend", from: "no-reply@example.com" } } }, "settings.delivery.email.apiKey"],
    ["an unknown provider", { delivery: { email: { provider: "carrier-pigeon" } } }, "settings.delivery.email.provider"],
    ["an email provider for SMS", { delivery: { sms: { ...resend } } }, "settings.delivery.sms.provider"],
    ["an unknown field", { delivery: { email: { ...resend, region: "eu" } } }, "settings.delivery.email.region"],
    ["a field of another provider", { delivery: { email: { url: "https://hooks.example.com/y", apiKey: "k" } } }, "settings.delivery.email.apiKey"],
    ["a bad from address", { delivery: { email: { ...resend, from: "not an address" } } }, "settings.delivery.email.from"],
    ["a From name that could rewrite the header", { delivery: { email: { ...resend, fromName: 'x" <evil@example.com>' } } }, "settings.delivery.email.fromName"],
    ["a webhook over plain http off loopback", { delivery: { email: { provider: "webhook", url: "http://hooks.example.com/x", secret: webhookSecret() } } }, "settings.delivery.email.url"],
    ["a webhook secret without whsec_", { delivery: { email: { provider: "webhook", url: "https://hooks.example.com/x", secret: "plain-secret" } } }, "settings.delivery.email.secret"],
    ["a Mailgun region that does not exist", { delivery: { email: { provider: "mailgun", apiKey: "k", domain: "mg.example.com", from: "a@example.com", region: "asia" } } }, "settings.delivery.email.region"],
    ["Twilio with both from and a messaging service", { delivery: { sms: { provider: "twilio", accountSid: `AC${"ab".repeat(16)}`, authToken: "t", from: "+15005550006", messagingServiceSid: `MG${"cd".repeat(16)}` } } }, "settings.delivery.sms.from"],
    ["Twilio with a malformed account SID", { delivery: { sms: { provider: "twilio", accountSid: "AC123", authToken: "t", from: "+15005550006" } } }, "settings.delivery.sms.accountSid"],
    ["a template with an unknown variable", { templates: { ja: { reset_link: { text: "{{link}} {{password}}" } } } }, "settings.templates.ja.reset_link.text"],
    ["a reset link template without the link", { templates: { en: { reset_link: { html: "<p>Hello</p>" } } } }, "settings.templates.en.reset_link.html"],
    ["a subject on two lines", { templates: { en: { password_changed: { subject: "a\nBcc: x@example.com" } } } }, "settings.templates.en.password_changed.subject"],
    ["a template for an unknown locale", { templates: { fr: {} } }, "settings.templates.fr"],
  ];

  it.each(cases)("answer 400 naming the field for %s, and change nothing", async (_, settings, field) => {
    const app = await createApp({ delivery: { email: { provider: "webhook", url: "https://hooks.example.com/keep", secret: webhookSecret() } } });
    const before = await getApp(app);
    const res = await patch(app, settings);
    const body = (await res.json()) as { error: string; field: string; message: string };
    expect(res.status).toBe(400);
    expect(body).toMatchObject({ error: "invalid_settings", field });
    expect(await getApp(app)).toEqual(before);
  });
});

describe("valid settings", () => {
  it("accept every provider with its own fields and fill in the defaults", async () => {
    const app = await createApp();
    const accepted: Record<string, unknown>[] = [
      { provider: "outbox" },
      { provider: "cloudflare", from: "no-reply@example.com" },
      { provider: "postmark", serverToken: "pm-token", from: "no-reply@example.com" },
      { provider: "sendgrid", apiKey: "SG.key", from: "no-reply@example.com", fromName: "Demo" },
      { provider: "mailgun", apiKey: "key", domain: "mg.example.com", from: "no-reply@example.com", region: "eu" },
      { provider: "webhook", url: "http://127.0.0.1:8080/hook", secret: webhookSecret() },
    ];
    const shown: unknown[] = [];
    for (const email of accepted) {
      const res = await patch(app, { delivery: { email } });
      expect(res.status, await res.clone().text()).toBe(200);
      shown.push(((await res.json()) as { settings: Record<string, any> }).settings.delivery.email);
    }
    expect(shown).toMatchObject([
      { provider: "outbox" },
      { provider: "cloudflare", binding: "EMAIL" },
      { provider: "postmark", messageStream: "outbound" },
      { provider: "sendgrid", region: "global" },
      { provider: "mailgun", region: "eu" },
      { provider: "webhook", url: "http://127.0.0.1:8080/hook" },
    ]);
  });

  it("replace, not merge, a channel's settings when the provider changes", async () => {
    const app = await createApp({ delivery: { email: { provider: "webhook", url: "https://hooks.example.com/x", secret: webhookSecret() } } });
    const res = await patch(app, { delivery: { email: resend } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await getApp(app)).settings.delivery.email).toEqual({ ...resend, apiKey: "••••WXYZ" });
  });

  it("clear a channel with null, back to the environment's default", async () => {
    const app = await createApp({ delivery: { email: resend } });
    const res = await patch(app, { delivery: { email: null } });
    expect(res.status).toBe(200);
    expect((await getApp(app)).settings.delivery).toEqual({ email: null, sms: null });
  });
});
