// Links in messages point at PUBLIC_URL, never at the Host a request names: otherwise anyone
// could ask for a reset with `Host: attacker.example` and have the victim mailed a live code
// inside a link to the attacker's server. PUBLIC_URL is required; production takes https only.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app as worker } from "../../src/app";
import { ConfigError, readRuntimeConfig } from "../../src/config/runtime";
import { adminToken, createApp, kiiHeaders, type TestApp } from "../helpers";
import { latestMessage, linkIn, newUser } from "../kii/password-helpers";

const ATTACKER = "http://attacker.example";
const PUBLIC_URL = "http://latchkey.test";
const PRODUCTION_TOKEN = "p".repeat(40);

/** A request whose URL, and so whose Host header, names the attacker's server. */
function fetchVia(origin: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Host", new URL(origin).host);
  return (exports as unknown as { default: Fetcher }).default.fetch(new Request(origin + path, { ...init, headers }));
}

const resetVia = (origin: string, app: TestApp, id: string) =>
  fetchVia(origin, `/api/apps/${app.appId}/users/${id}/password/request-reset`, { method: "POST", headers: kiiHeaders(app) });

describe("links ignore the Host header", () => {
  it("a Kii email reset sent to another Host links to PUBLIC_URL", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await resetVia(ATTACKER, app, `EMAIL:${user.email}`);
    expect(res.status, await res.clone().text()).toBe(204);
    const message = await latestMessage(user.email, "reset_link");
    expect(message.text).toContain(`${PUBLIC_URL}/reset/${app.appId}/${user.userID}/`);
    expect(message.text).not.toContain("attacker.example");
    expect(message.html).not.toContain("attacker.example");
  });

  it("a Kii SMS link sent to another Host links to PUBLIC_URL", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await fetchVia(ATTACKER, `/api/apps/${app.appId}/users/${user.userID}/password/request-reset`, {
      method: "POST",
      headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.ResetPasswordRequest+json" }),
      body: JSON.stringify({ notificationMethod: "SMS", smsResetMethod: "URL" }),
    });
    expect(res.status).toBe(204);
    const message = await latestMessage(user.phone, "reset_link");
    expect(message.text).toContain(`${PUBLIC_URL}/reset/`);
    expect(message.text).not.toContain("attacker.example");
  });

  it("a ZITADEL sendLink sent to another Host links to PUBLIC_URL", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await adminToken(app);
    const res = await fetchVia(ATTACKER, `/v2/users/${user.userID}/password_reset`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const message = await latestMessage(user.email, "reset_link");
    expect(message.text).toContain(`${PUBLIC_URL}/reset/`);
    expect(message.text).not.toContain("attacker.example");
  });

  it("Kii registration's Location names PUBLIC_URL, not the Host", async () => {
    const app = await createApp();
    const res = await fetchVia(ATTACKER, `/api/apps/${app.appId}/users`, {
      method: "POST",
      headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }),
      body: JSON.stringify({ loginName: "hostheader", password: "a long password" }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toMatch(new RegExp(`^${PUBLIC_URL}/api/apps/${app.appId}/users/`));
  });
});

describe("an app's own origin (settings.publicUrl)", () => {
  const OWN = "https://login.app.example";

  it("Kii email and SMS links, and verification links, use the app's origin; another app keeps PUBLIC_URL", async () => {
    const own = await createApp({ publicUrl: OWN });
    const plain = await createApp();
    const ownUser = await newUser(own);
    const plainUser = await newUser(plain);
    expect((await resetVia(ATTACKER, own, `EMAIL:${ownUser.email}`)).status).toBe(204);
    expect((await resetVia(ATTACKER, plain, `EMAIL:${plainUser.email}`)).status).toBe(204);
    const ownMail = await latestMessage(ownUser.email, "reset_link");
    expect(linkIn(ownMail).url.startsWith(`${OWN}/reset/${own.appId}/${ownUser.userID}/`)).toBe(true);
    expect(ownMail.html).toContain(`href="${OWN}/reset/`);
    expect(ownMail.text).not.toContain(PUBLIC_URL);
    expect(ownMail.text).not.toContain("attacker.example");
    expect(linkIn(await latestMessage(plainUser.email, "reset_link")).url.startsWith(`${PUBLIC_URL}/reset/${plain.appId}/`)).toBe(true);

    const sms = await fetchVia(ATTACKER, `/api/apps/${own.appId}/users/${ownUser.userID}/password/request-reset`, {
      method: "POST",
      headers: kiiHeaders(own, { "Content-Type": "application/vnd.kii.ResetPasswordRequest+json" }),
      body: JSON.stringify({ notificationMethod: "SMS", smsResetMethod: "URL" }),
    });
    expect(sms.status).toBe(204);
    expect(linkIn(await latestMessage(ownUser.phone, "reset_link")).url.startsWith(`${OWN}/reset/`)).toBe(true);

    // Verification links too: a Kii app that requires verified addresses mails one at registration.
    const verifying = await createApp({ publicUrl: OWN, verification: { email: "required", phone: "trusted" } });
    const registered = await newUser(verifying);
    expect((await latestMessage(registered.email, "verify_email_link")).text).toContain(`${OWN}/verify/${verifying.appId}/${registered.userID}#`);
  });

  it("a ZITADEL sendLink uses the app's origin", async () => {
    const app = await createApp({ publicUrl: OWN });
    const user = await newUser(app);
    const token = await adminToken(app);
    const res = await fetchVia(ATTACKER, `/v2/users/${user.userID}/password_reset`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(linkIn(await latestMessage(user.email, "reset_link")).url.startsWith(`${OWN}/reset/${app.appId}/`)).toBe(true);
  });

  it("is stored as a bare origin, and null (PUBLIC_URL) by default", async () => {
    expect((await createApp({ publicUrl: "https://Login.App.Example:443/" })).settings.publicUrl).toBe(OWN);
    expect((await createApp({ publicUrl: "http://127.0.0.1:8788" })).settings.publicUrl).toBe("http://127.0.0.1:8788");
    expect((await createApp()).settings.publicUrl).toBeNull();
  });
});

describe("PUBLIC_URL is required", () => {
  const production = { ENVIRONMENT: "production", ADMIN_TOKEN: PRODUCTION_TOKEN };

  it("refuses production without PUBLIC_URL", () => {
    expect(() => readRuntimeConfig({ ...env, ...production, PUBLIC_URL: undefined })).toThrow(ConfigError);
    expect(() => readRuntimeConfig({ ...env, ...production, PUBLIC_URL: "" })).toThrow(ConfigError);
  });

  it("refuses development without PUBLIC_URL too (npm start and the tests set it)", () => {
    expect(() => readRuntimeConfig({ ...env, ENVIRONMENT: "development", PUBLIC_URL: undefined })).toThrow(ConfigError);
  });

  it.each([
    ["plain http", "http://auth.example.com"],
    ["a path", "https://auth.example.com/latchkey"],
    ["a query", "https://auth.example.com/?x=1"],
    ["credentials", "https://user:pass@auth.example.com"],
    ["no scheme", "auth.example.com"],
    ["another scheme", "ftp://auth.example.com"],
  ])("refuses %s in production", (_, value) => {
    expect(() => readRuntimeConfig({ ...env, ...production, PUBLIC_URL: value })).toThrow(ConfigError);
  });

  it("keeps only the origin of an accepted PUBLIC_URL", () => {
    expect(readRuntimeConfig({ ...env, ...production, PUBLIC_URL: "https://Auth.Example.com/" }).publicUrl).toBe("https://auth.example.com");
    expect(readRuntimeConfig({ ...env, ENVIRONMENT: "development", PUBLIC_URL: "http://192.168.1.20:8787" }).publicUrl).toBe("http://192.168.1.20:8787");
  });

  it("answers 503 in production without PUBLIC_URL, naming no value", async () => {
    const ctx = createExecutionContext();
    const refused = await worker.fetch(new Request(`${ATTACKER}/`), { ...env, ...production, PUBLIC_URL: undefined }, ctx);
    await waitOnExecutionContext(ctx);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: "misconfigured" });
  });
});
