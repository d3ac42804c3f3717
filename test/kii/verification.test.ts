// Address verification in the Kii dialect (issue 11): codes sent at registration, resend,
// verify, change (pending address), and the rules behind them (supersede, attempts under
// parallel guesses, resets only to verified addresses, bad input changes nothing).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createApp, expectKiiError, kiiHeaders, registerKiiUser, type TestApp, userToken, everyShard } from "../helpers";
import { latestMessage, outbox, PASSWORD, requestReset, unique, usersPath, waitForMessages } from "./password-helpers";

const REQUIRED = { verification: { email: "required", phone: "required" } };

let phoneCounter = 0;
const newPhone = () => `+8170${String(Date.now() % 1_000_000).padStart(6, "0")}${String(phoneCounter++ % 100).padStart(2, "0")}`;

async function register(app: TestApp, extra: Record<string, unknown> = {}) {
  const loginName = unique("vuser");
  const email = `${loginName}@example.com`;
  const phone = newPhone();
  const { userID } = await registerKiiUser(app, { loginName, emailAddress: email, phoneNumber: phone, password: PASSWORD, ...extra });
  const token = await userToken(app, loginName, PASSWORD);
  return { userID, loginName, email, phone, token };
}

const getUser = async (app: TestApp, token: string) =>
  (await (await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) })).json()) as Record<string, unknown>;

const verify = (app: TestApp, token: string | null, kind: "email-address" | "phone-number", code: unknown, id = "me") =>
  call(`${usersPath(app, id)}/${kind}/verify`, {
    method: "POST",
    headers: kiiHeaders(app, {
      "Content-Type": "application/vnd.kii.AddressVerificationRequest+json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    }),
    body: JSON.stringify({ verificationCode: code }),
  });

const resend = (app: TestApp, id: string, kind: "email-address" | "phone-number", token?: string) =>
  call(`${usersPath(app, id)}/${kind}/resend-verification`, {
    method: "POST",
    headers: kiiHeaders(app, { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) }),
  });

const change = (app: TestApp, token: string, id: string, kind: "email-address" | "phone-number", body: unknown) =>
  call(`${usersPath(app, id)}/${kind}`, {
    method: "PUT",
    headers: kiiHeaders(app, {
      Authorization: `Bearer ${token}`,
      "Content-Type": kind === "email-address" ? "application/vnd.kii.EmailAddressModificationRequest+json" : "application/vnd.kii.PhoneNumberModificationRequest+json",
    }),
    body: JSON.stringify(body),
  });

const pinOf = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;
const linkOf = (text: string) => /(https?:\/\/\S+\/verify\/\S+)/.exec(text)![1]!;
/** The confirmation page's POST, as its script sends it: the code from the link's fragment. */
const confirmForm = (link: URL): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ code: decodeURIComponent(link.hash.slice(1)) }).toString(),
});

describe("registration when verification is required", () => {
  it("leaves both addresses unverified and sends an email link and an SMS code", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    const json = await getUser(app, u.token);
    expect(json).toMatchObject({ emailAddress: u.email, emailAddressVerified: false, phoneNumber: u.phone, phoneNumberVerified: false });
    const sms = await latestMessage(u.phone, "verify_sms_code");
    expect(sms.text).toMatch(/\b\d{6}\b/);
    const mail = await latestMessage(u.email, "verify_email_link");
    const link = new URL(linkOf(mail.text));
    expect(link.pathname).toBe(`/verify/${app.appId}/${u.userID}`);
    // The code rides in the fragment, and the message shows it for a page without JavaScript.
    const code = decodeURIComponent(link.hash.slice(1));
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){6}$/);
    expect(mail.text.replace(link.href, "")).toContain(code);
  });

  it("trusted apps count registered addresses as verified and send nothing", async () => {
    const app = await createApp({ verification: { email: "trusted", phone: "trusted" } });
    const u = await register(app);
    expect(await getUser(app, u.token)).toMatchObject({ emailAddressVerified: true, phoneNumberVerified: true });
    expect(await outbox(u.phone)).toHaveLength(0);
  });

  it("reads the legacy trustRegisteredAddresses setting", async () => {
    const app = await createApp({ trustRegisteredAddresses: true });
    expect(app.settings.verification).toEqual({ email: "trusted", phone: "trusted" });
    const strict = await createApp({ trustRegisteredAddresses: false });
    expect(strict.settings.verification).toEqual({ email: "required", phone: "required" });
    expect(strict.settings).not.toHaveProperty("trustRegisteredAddresses");
  });
});

describe("verifying", () => {
  it("verifyPhoneNumber with the SMS code verifies the phone; the code is single use", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    const code = pinOf((await latestMessage(u.phone, "verify_sms_code")).text);
    expect((await verify(app, u.token, "phone-number", code)).status).toBe(204);
    expect(await getUser(app, u.token)).toMatchObject({ phoneNumberVerified: true, emailAddressVerified: false });
    await expectKiiError(await verify(app, u.token, "phone-number", code), 409, "INVALID_STATUS");
  });

  it("the email link opens a confirmation page that verifies only on POST", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    const link = new URL(linkOf((await latestMessage(u.email, "verify_email_link")).text));
    const page = await call(link.pathname, { headers: { "Accept-Language": "ja" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Security-Policy")).toMatch(/default-src 'none'/);
    const html = await page.text();
    expect(html).toContain('lang="ja"');
    // Only the hashed inline script that moves the fragment into the form; nothing loaded.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/src=/);
    expect(html).toContain('<input id="code" name="code" type="text"');
    expect(await getUser(app, u.token)).toMatchObject({ emailAddressVerified: false });
    // Without the code (no script, nothing typed): asked for again, nothing counted or changed.
    const empty = await call(link.pathname, { method: "POST", headers: { "Accept-Language": "en" } });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Error: Enter the code from the message.");
    const done = await call(link.pathname, confirmForm(link));
    expect(done.status, `${link.href} ${await done.clone().text()}`).toBe(200);
    expect(await done.text()).toContain("confirmed");
    expect(await getUser(app, u.token)).toMatchObject({ emailAddressVerified: true });
    expect((await call(link.pathname, confirmForm(link))).status).toBe(200); // "already confirmed"
  });

  it("a newer code supersedes the older one", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    const first = pinOf((await latestMessage(u.phone, "verify_sms_code")).text);
    expect((await resend(app, u.userID, "phone-number", u.token)).status).toBe(204);
    const second = pinOf((await latestMessage(u.phone, "verify_sms_code", 2)).text);
    if (first !== second) await expectKiiError(await verify(app, u.token, "phone-number", first), 403, "INVALID_VERIFICATION_CODE");
    expect((await verify(app, u.token, "phone-number", second)).status).toBe(204);
  });

  it("of 20 parallel guesses at most 5 are evaluated; the right code then finds no live code", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    const right = pinOf((await latestMessage(u.phone, "verify_sms_code")).text);
    const wrong = right === "000000" ? "111111" : "000000";
    const answers = await Promise.all(Array.from({ length: 20 }, () => verify(app, u.token, "phone-number", wrong)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 403).length).toBeLessThanOrEqual(5);
    expect(statuses.every((s) => s === 403 || s === 409)).toBe(true);
    const row = await everyShard.prepare("SELECT failures FROM address_verifications WHERE app_id = ? AND user_id = ? AND channel = 'phone'")
      .bind(app.appId, u.userID)
      .first<{ failures: number }>();
    expect(row!.failures).toBe(5);
    await expectKiiError(await verify(app, u.token, "phone-number", right), 409, "INVALID_STATUS");
    expect(await getUser(app, u.token)).toMatchObject({ phoneNumberVerified: false });
  });

  it("another user's code does not verify, and counts as a wrong guess", async () => {
    const app = await createApp(REQUIRED);
    const a = await register(app);
    const b = await register(app);
    const aCode = pinOf((await latestMessage(a.phone, "verify_sms_code")).text);
    const bCode = pinOf((await latestMessage(b.phone, "verify_sms_code")).text);
    if (aCode !== bCode) await expectKiiError(await verify(app, b.token, "phone-number", aCode), 403, "INVALID_VERIFICATION_CODE");
    expect(await getUser(app, b.token)).toMatchObject({ phoneNumberVerified: false });
    // The code is the proof: it may be presented by userID without a token.
    expect((await verify(app, null, "phone-number", bCode, b.userID)).status).toBe(204);
    expect(await getUser(app, b.token)).toMatchObject({ phoneNumberVerified: true });
  });

  it("the confirmation page looks the same for an unknown user, and its POST confirms nothing", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    const link = new URL(linkOf((await latestMessage(u.email, "verify_email_link")).text));
    const foreign = link.pathname.replace(`/${u.userID}`, "/999999999");
    const known = await call(link.pathname);
    const unknown = await call(foreign);
    expect(unknown.status).toBe(known.status);
    expect((await unknown.text()).replace(foreign, link.pathname)).toBe(await known.text());
    expect((await call(foreign, confirmForm(link))).status).toBe(404);
    expect(await getUser(app, u.token)).toMatchObject({ emailAddressVerified: false });
  });

  it("bad input changes nothing and answers in Kii's shape", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    await expectKiiError(await verify(app, u.token, "phone-number", 123456), 400, "INVALID_INPUT_DATA");
    await expectKiiError(await verify(app, u.token, "phone-number", "x".repeat(500)), 400, "INVALID_INPUT_DATA");
    await expectKiiError(await change(app, u.token, u.userID, "email-address", { emailAddress: "not an address" }), 400, "INVALID_INPUT_DATA");
    await expectKiiError(await change(app, u.token, u.userID, "phone-number", { phoneNumber: "0901234" }), 400, "INVALID_INPUT_DATA");
    await expectKiiError(await change(app, u.token, u.userID, "email-address", { emailAddress: "a@example.com", verified: true }), 401, "UNAUTHORIZED");
    const row = await everyShard.prepare("SELECT failures FROM address_verifications WHERE app_id = ? AND user_id = ? AND channel = 'phone'")
      .bind(app.appId, u.userID)
      .first<{ failures: number }>();
    expect(row!.failures).toBe(0);
    expect(await getUser(app, u.token)).toMatchObject({ emailAddress: u.email, phoneNumber: u.phone });
  });
});

describe("changing an address", () => {
  it("a new email stays pending; resets keep going to the old verified address until it is verified", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    // Verify the first address through its link.
    const first = new URL(linkOf((await latestMessage(u.email, "verify_email_link")).text));
    expect((await call(first.pathname, confirmForm(first))).status).toBe(200);
    const next = `${unique("new")}@example.com`;
    expect((await change(app, u.token, u.userID, "email-address", { emailAddress: next })).status).toBe(204);
    expect(await getUser(app, u.token)).toMatchObject({ emailAddress: u.email, emailAddressVerified: true, _emailAddressPending: next });
    // A reset goes to the old, verified address; the pending one names nobody.
    expect((await requestReset(app, u.userID)).status).toBe(204);
    await latestMessage(u.email, "reset_link");
    await expectKiiError(await requestReset(app, `EMAIL:${next}`), 404, "USER_NOT_FOUND");
    // Verifying the new address makes it the user's address.
    const second = new URL(linkOf((await latestMessage(next, "verify_email_link")).text));
    expect((await call(second.pathname, confirmForm(second))).status).toBe(200);
    const after = await getUser(app, u.token);
    expect(after).toMatchObject({ emailAddress: next, emailAddressVerified: true });
    expect(after._emailAddressPending).toBeUndefined();
    expect((await requestReset(app, `EMAIL:${next}`)).status).toBe(204);
  });

  it("a new phone number stays pending until its SMS code is entered", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    await verify(app, u.token, "phone-number", pinOf((await latestMessage(u.phone, "verify_sms_code")).text));
    const next = newPhone();
    expect((await change(app, u.token, u.userID, "phone-number", { phoneNumber: next })).status).toBe(204);
    expect(await getUser(app, u.token)).toMatchObject({ phoneNumber: u.phone, phoneNumberVerified: true, _phoneNumberPending: next });
    expect((await verify(app, u.token, "phone-number", pinOf((await latestMessage(next, "verify_sms_code")).text))).status).toBe(204);
    const after = await getUser(app, u.token);
    expect(after).toMatchObject({ phoneNumber: next, phoneNumberVerified: true });
    expect(after._phoneNumberPending).toBeUndefined();
  });

  it("a reset never goes to an unverified address", async () => {
    const app = await createApp(REQUIRED);
    const u = await register(app);
    await expectKiiError(await requestReset(app, u.userID), 409, "INVALID_STATUS");
    await expectKiiError(
      await requestReset(app, u.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } }),
      409,
      "INVALID_STATUS",
    );
    expect((await outbox(u.email)).filter((m) => m.template.startsWith("reset"))).toHaveLength(0);
  });

  it("resending for a verified address with nothing pending is refused", async () => {
    const app = await createApp({ verification: { email: "trusted", phone: "trusted" } });
    const u = await register(app);
    await expectKiiError(await resend(app, u.userID, "email-address", u.token), 409, "INVALID_STATUS");
  });

  it("sends are limited per address, and enumeration protection answers unknown users alike", async () => {
    const app = await createApp({ ...REQUIRED, enumerationProtection: true, rateLimits: { verifyPerAddress: { limit: 2, windowSeconds: 900 } } });
    const u = await register(app); // registration sent one message per address
    expect((await resend(app, u.userID, "phone-number")).status).toBe(204);
    await expectKiiError(await resend(app, u.userID, "phone-number"), 429, "TOO_MANY_REQUESTS");
    expect((await resend(app, "no-such-user", "phone-number")).status).toBe(204);
    await waitForMessages(u.phone, 2, "verify_sms_code");
  });
});
