// POST /api/apps/{appID}/users/{id}/password/request-reset (and the legacy .../password/reset).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken, call, createApp, expectKiiError, userToken, everyShard } from "../helpers";
import {
  latestMessage,
  linkIn,
  newUser,
  outbox,
  PASSWORD,
  pinIn,
  requestReset,
  resetRow,
  signInStatus,
  waitForMessages,
} from "./password-helpers";

/** A readable link token (lib/random.ts readableToken): 7 groups of 4 Crockford base32 characters. */
const READABLE_CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$/;

describe("request reset: deliveries", () => {
  it.each([
    ["no content type", undefined],
    ["text/plain", "text/plain"],
    ["application/json", "application/json"],
  ])("sends an email link for an empty body with %s", async (_, contentType) => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, `EMAIL:${user.email}`, { contentType });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await res.text()).toBe("");
    const message = await latestMessage(user.email, "reset_link");
    expect(message.channel).toBe("email");
    const link = linkIn(message);
    expect(link.url.startsWith("http://latchkey.test/reset/")).toBe(true);
    expect(link).toMatchObject({ appId: app.appId, userId: user.userID });
    // ≥ 128 bits: 28 readable characters (140 bits), in the fragment, never in the path.
    expect(link.code).toMatch(READABLE_CODE);
    expect(link.path).not.toContain(link.code);
    // Shown beside the link too, for a page without JavaScript.
    expect(message.text.replace(link.url, "")).toContain(link.code);
    expect(message.html).toContain(`<strong>${link.code}</strong>`);
  });

  it("sends an email link for ResetPasswordRequest EMAIL", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { json: { notificationMethod: "EMAIL" } });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(linkIn(await latestMessage(user.email, "reset_link")).userId).toBe(user.userID);
  });

  it("sends an SMS link for SMS with the default smsResetMethod", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { json: { notificationMethod: "SMS" } });
    expect(res.status, await res.clone().text()).toBe(204);
    const message = await latestMessage(user.phone, "reset_link");
    expect(message.channel).toBe("sms");
    const link = linkIn(message);
    expect(link.code).toMatch(READABLE_CODE);
    expect(message.text.replace(link.url, "")).toContain(link.code);
  });

  it("sends an SMS link for SMS + URL", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { json: { notificationMethod: "SMS", smsResetMethod: "URL" } });
    expect(res.status).toBe(204);
    expect((await latestMessage(user.phone, "reset_link")).channel).toBe("sms");
  });

  it("sends a 6-digit PIN for SMS + PIN", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } });
    expect(res.status, await res.clone().text()).toBe(204);
    const message = await latestMessage(user.phone, "reset_pin");
    expect(message.channel).toBe("sms");
    expect(pinIn(message)).toMatch(/^\d{6}$/);
  });

  it("accepts the legacy .../password/reset alias", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, `EMAIL:${user.email}`, { alias: true });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(linkIn(await latestMessage(user.email, "reset_link")).userId).toBe(user.userID);
  });

  it("uses the app's own reset URL template when it has one", async () => {
    const app = await createApp({ resetUrlTemplate: "https://app.example.com/reset?user={{.UserID}}&code={{.Code}}" });
    const user = await newUser(app);
    expect((await requestReset(app, user.userID)).status).toBe(204);
    const message = await latestMessage(user.email, "reset_link");
    expect(message.text).toMatch(new RegExp(`https://app\\.example\\.com/reset\\?user=${user.userID}&code=[A-Za-z0-9_-]{22,}`));
  });

  it("does not change the current password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    expect((await requestReset(app, user.userID)).status).toBe(204);
    await latestMessage(user.email, "reset_link");
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });
});

describe("request reset: identifiers", () => {
  it("finds the user by EMAIL percent-encoded like the SDK, keeping + as +", async () => {
    const app = await createApp();
    const user = await newUser(app, { emailAddress: `a+b${Date.now()}@x.example` });
    const res = await requestReset(app, encodeURIComponent(`EMAIL:${user.email}`));
    expect(res.status, await res.clone().text()).toBe(204);
    expect(linkIn(await latestMessage(user.email, "reset_link")).userId).toBe(user.userID);
  });

  it("finds the user by PHONE:+number, percent-encoded", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, encodeURIComponent(`PHONE:${user.phone}`), { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } });
    expect(res.status, await res.clone().text()).toBe(204);
    await latestMessage(user.phone, "reset_pin");
  });

  it("finds the user by LOGIN_NAME", async () => {
    const app = await createApp();
    const user = await newUser(app);
    expect((await requestReset(app, `LOGIN_NAME:${user.loginName}`)).status).toBe(204);
    await latestMessage(user.email, "reset_link");
  });

  it("finds the user by me with the user's bearer token", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const res = await requestReset(app, "me", { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status, await res.clone().text()).toBe(204);
    await latestMessage(user.email, "reset_link");
  });

  it("answers 401 UNAUTHORIZED for me without a token", async () => {
    const app = await createApp();
    await expectKiiError(await requestReset(app, "me"), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });
});

describe("request reset: errors change nothing and send nothing", () => {
  it("answers 404 USER_NOT_FOUND with field, value and appID for an unknown address", async () => {
    const app = await createApp();
    const body = await expectKiiError(await requestReset(app, "EMAIL:nobody@example.com"), 404, "USER_NOT_FOUND", "UserNotFoundException");
    expect(body).toMatchObject({ field: "emailAddress", value: "nobody@example.com", appID: app.appId });
    expect(await outbox("nobody@example.com")).toEqual([]);
  });

  it("answers 404 USER_NOT_FOUND for an unknown userID", async () => {
    const app = await createApp();
    const body = await expectKiiError(await requestReset(app, "987654321"), 404, "USER_NOT_FOUND");
    expect(body).toMatchObject({ field: "userID", value: "987654321", appID: app.appId });
  });

  it("answers 409 OPERATION_NOT_ALLOWED for a user without a password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    await everyShard.prepare("UPDATE users SET password_hash = NULL WHERE id = ?").bind(user.userID).run();
    await expectKiiError(await requestReset(app, user.userID), 409, "OPERATION_NOT_ALLOWED", "OperationNotAllowedException");
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("answers 409 INVALID_STATUS with appID for SMS to a user without a phone number", async () => {
    const app = await createApp();
    const user = await newUser(app, { phoneNumber: undefined });
    const body = await expectKiiError(
      await requestReset(app, user.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } }),
      409,
      "INVALID_STATUS",
      "InvalidStatusException",
    );
    expect(body.appID).toBe(app.appId);
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("answers 409 INVALID_STATUS when the app does not trust registered addresses", async () => {
    const app = await createApp({ trustRegisteredAddresses: false });
    const user = await newUser(app);
    await expectKiiError(await requestReset(app, user.userID), 409, "INVALID_STATUS", "InvalidStatusException");
    // Unverified addresses do not identify anyone either.
    await expectKiiError(await requestReset(app, `EMAIL:${user.email}`), 404, "USER_NOT_FOUND");
    expect(await resetRow(user.userID)).toBeNull();
    expect(await outbox(user.email)).toEqual([]);
  });

  it("answers 401 USER_DISABLED with UserID and appID for a disabled user", async () => {
    const app = await createApp();
    const user = await newUser(app);
    await everyShard.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(user.userID).run();
    const body = await expectKiiError(await requestReset(app, user.userID), 401, "USER_DISABLED", "UserDisabledException");
    expect(body).toMatchObject({ UserID: user.userID, appID: app.appId });
    expect(await resetRow(user.userID)).toBeNull();
  });

  it.each([
    ["an unknown notificationMethod", { notificationMethod: "PIGEON" }],
    ["smsResetMethod with EMAIL", { notificationMethod: "EMAIL", smsResetMethod: "PIN" }],
    ["an unknown smsResetMethod", { notificationMethod: "SMS", smsResetMethod: "FAX" }],
    ["a missing notificationMethod", { smsResetMethod: "PIN" }],
    ["a JSON array", []],
    ["JSON null", null],
  ])("answers 400 INVALID_INPUT_DATA for %s", async (_, json) => {
    const app = await createApp();
    const user = await newUser(app);
    await expectKiiError(await requestReset(app, user.userID, { json }), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("answers 400 INVALID_INPUT_DATA for a JSON-typed body that is not JSON", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { body: '{"notificationMethod": "SMS"', contentType: "application/vnd.kii.ResetPasswordRequest+json" });
    await expectKiiError(res, 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("answers 415 for a non-empty body that is not typed as JSON", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await requestReset(app, user.userID, { body: "reset please", contentType: "text/plain" });
    await expectKiiError(res, 415, "UNSUPPORTED_MEDIA_TYPE", "UnsupportedMediaTypeException");
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("answers 400 INVALID_INPUT_DATA for an unknown identifier type", async () => {
    const app = await createApp();
    await expectKiiError(await requestReset(app, "NICKNAME:bob"), 400, "INVALID_INPUT_DATA");
  });

  it("answers a Kii-shaped 404 for an empty identifier", async () => {
    const app = await createApp();
    await expectKiiError(await requestReset(app, ""), 404, "NOT_FOUND", "NotFoundException");
  });

  it("answers 401 UNAUTHORIZED without app credentials", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await call(`/api/apps/${app.appId}/users/${user.userID}/password/request-reset`, { method: "POST" });
    await expectKiiError(res, 401, "UNAUTHORIZED");
    expect(await resetRow(user.userID)).toBeNull();
  });
});

describe("request reset: enumeration protection", () => {
  it("answers an unknown address exactly like a known one", async () => {
    const app = await createApp({ enumerationProtection: true });
    const user = await newUser(app);
    const known = await requestReset(app, encodeURIComponent(`EMAIL:${user.email}`));
    const unknown = await requestReset(app, encodeURIComponent("EMAIL:nobody@example.com"));
    expect(unknown.status).toBe(known.status);
    expect(known.status).toBe(204);
    expect(await unknown.text()).toBe(await known.text());
    expect([...unknown.headers]).toEqual([...known.headers]);
    await latestMessage(user.email, "reset_link");
    expect(await outbox("nobody@example.com")).toEqual([]);
  });

  it.each([
    ["disabled", "UPDATE users SET disabled = 1 WHERE id = ?"],
    ["without a password", "UPDATE users SET password_hash = NULL WHERE id = ?"],
  ])("answers a user who is %s like any other, sending nothing", async (_, update) => {
    const app = await createApp({ enumerationProtection: true });
    const user = await newUser(app);
    await everyShard.prepare(update).bind(user.userID).run();
    const res = await requestReset(app, `LOGIN_NAME:${user.loginName}`);
    expect(res.status).toBe(204);
    expect(await resetRow(user.userID)).toBeNull();
    expect(await outbox(user.email)).toEqual([]);
  });

  it("answers SMS for a user without a phone like any other", async () => {
    const app = await createApp({ enumerationProtection: true });
    const user = await newUser(app, { phoneNumber: undefined });
    const res = await requestReset(app, user.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } });
    expect(res.status).toBe(204);
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("still limits requests for unknown addresses", async () => {
    const app = await createApp({ enumerationProtection: true });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await requestReset(app, "EMAIL:ghost@example.com")).status);
    expect(statuses).toEqual([204, 204, 204, 429]);
  });
});

describe("request reset: app admin", () => {
  it("lets the app's backend request a reset for a user", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const admin = await adminToken(app);
    const res = await requestReset(app, user.userID, { headers: { Authorization: `Bearer ${admin}` } });
    expect(res.status, await res.clone().text()).toBe(204);
    await waitForMessages(user.email, 1, "reset_link");
  });
});
