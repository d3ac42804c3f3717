// Security events come from the core, so both dialects emit the same ones: one log line per
// change and, for an app with settings.events, one sealed queue message per subscribed type.
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, adminToken, createApp, kiiHeaders, type TestApp } from "../helpers";
import { pinIn, outbox, unique } from "../kii/password-helpers";
import { deliverEvents, eventSettings, harness, type Harness, HOOK_URL } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const CLIENT_IP = "203.0.113.9";
const PASSWORD = "Correct-horse-7";
const NEW_PASSWORD = "Another-horse-8";
const RESET_PASSWORD = "Third-horse-9";

const kii = (h: Harness, app: TestApp, path: string, init: { method?: string; json?: unknown; token?: string; type?: string } = {}) =>
  h.call(`/api/apps/${app.appId}${path}`, {
    method: init.method ?? "POST",
    headers: kiiHeaders(app, {
      "CF-Connecting-IP": CLIENT_IP,
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      ...(init.type ? { "Content-Type": init.type } : {}),
    }),
    ...(init.json !== undefined ? { json: init.json } : {}),
  });

const zitadel = (h: Harness, path: string, token: string, json?: unknown, method = json === undefined ? "GET" : "POST") =>
  h.call(`/v2${path}`, { method, headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": CLIENT_IP }, ...(json !== undefined ? { json } : {}) });

async function ok(res: Response, status = 200): Promise<Record<string, any>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return text ? JSON.parse(text) : {};
}

/** Every flow of the Kii dialect that changes something, in order; returns the user's id. */
async function kiiFlows(h: Harness, app: TestApp): Promise<string> {
  const loginName = unique("ev");
  const phone = `+8190${String(Date.now() % 100_000_000).padStart(8, "0")}`;
  const { userID } = await ok(
    await kii(h, app, "/users", { json: { loginName, emailAddress: `${loginName}@example.com`, phoneNumber: phone, password: PASSWORD }, type: "application/vnd.kii.RegistrationRequest+json" }),
    201,
  );
  const signIn = (password: string) =>
    h.call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app, { "CF-Connecting-IP": CLIENT_IP }), json: { username: loginName, password } });
  expect((await signIn("not-the-password")).status).toBe(400);
  expect((await signIn("another-wrong-password")).status).toBe(400);
  expect((await h.call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app), json: { username: "nobody-here", password: "x" } })).status).toBe(400);
  const token = (await ok(await signIn(PASSWORD))).access_token as string;
  await ok(await kii(h, app, `/users/me/password`, { method: "PUT", token, json: { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, type: "application/vnd.kii.ChangePasswordRequest+json" }), 204);
  await ok(await kii(h, app, `/users/${userID}/password/request-reset`, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" }, type: "application/vnd.kii.ResetPasswordRequest+json" }), 204);
  await h.deliverMessages();
  const pin = pinIn((await outbox(phone)).find((m) => m.template === "reset_pin")!);
  await ok(await kii(h, app, `/users/${userID}/password/complete-reset`, { json: { pinCode: pin, newPassword: RESET_PASSWORD }, type: "application/vnd.kii.CompletePasswordResetRequest+json" }), 204);
  const admin = await adminToken(app);
  const status = (disabled: boolean) => kii(h, app, `/users/${userID}/status`, { method: "PUT", token: admin, json: { disabled }, type: "application/vnd.kii.UserStatusUpdateRequest+json" });
  await ok(await status(true), 204);
  await ok(await status(true), 204); // no change, no event
  await ok(await status(false), 204);
  await ok(await kii(h, app, `/users/${userID}`, { method: "DELETE", token: admin }), 204);
  return userID;
}

/** The same changes through the ZITADEL dialect, plus what only it serves (verification, lock, sessions). */
async function zitadelFlows(h: Harness, app: TestApp): Promise<string> {
  const admin = await adminToken(app);
  const username = unique("zev");
  const created = await ok(
    await zitadel(h, "/users/human", admin, {
      username,
      profile: { givenName: "Ada", familyName: "Lovelace" },
      email: { email: `${username}@example.com`, returnCode: {} },
      password: { password: PASSWORD },
    }),
  );
  const userId = created.userId as string;
  await ok(await zitadel(h, `/users/${userId}/email/verify`, admin, { verificationCode: created.emailCode }));
  expect((await zitadel(h, "/sessions", admin, { checks: { user: { userId }, password: { password: "not-the-password" } } })).status).toBe(400);
  await ok(await zitadel(h, `/users/${userId}/password`, admin, { newPassword: { password: NEW_PASSWORD }, currentPassword: PASSWORD }));
  const { verificationCode } = await ok(await zitadel(h, `/users/${userId}/password_reset`, admin, { returnCode: {} }));
  await ok(await zitadel(h, `/users/${userId}/password`, admin, { newPassword: { password: RESET_PASSWORD }, verificationCode }));
  await ok(await zitadel(h, `/users/${userId}/lock`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}/unlock`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}/deactivate`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}/reactivate`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}`, admin, undefined, "DELETE"));
  return userId;
}

describe("the Kii dialect", () => {
  it("emits one event per change, logged and queued, naming the app, user, dialect and client address", async () => {
    const settings = eventSettings();
    const app = await createApp({ events: settings });
    const h = harness();
    const userId = await kiiFlows(h, app);

    const events = await h.events();
    expect(events.map((e) => e.type)).toEqual([
      "user.created",
      "signin.failed",
      "signin.failed",
      "signin.failed",
      "password.changed",
      "password.reset_requested",
      "password.reset_completed",
      "user.deactivated",
      "user.reactivated",
      "user.deleted",
    ]);
    const [createdEvent, wrong, , unknown, changed, requested, completed, deactivated, , deleted] = events;
    expect(createdEvent!.data).toEqual({ appId: app.appId, userId, actor: "anonymous", source: "registration", emailVerified: true, phoneVerified: true, via: "kii", ip: CLIENT_IP });
    expect(wrong!.data).toEqual({ appId: app.appId, userId, reason: "wrong_password", via: "kii", ip: CLIENT_IP });
    // No client address header on that request: the field is there, and null.
    expect(unknown!.data).toEqual({ appId: app.appId, userId: null, reason: "unknown_user", via: "kii", ip: null });
    expect(changed!.data).toMatchObject({ userId, actor: "user", via: "kii" });
    expect(requested!.data).toMatchObject({ userId, actor: "anonymous", method: "sms_pin", channel: "sms" });
    expect(completed!.data).toMatchObject({ userId, actor: "user", method: "sms_pin" });
    expect(deactivated!.data).toMatchObject({ userId, actor: "admin" });
    expect(deleted!.data).toMatchObject({ userId, actor: "admin" });
    for (const event of events) {
      expect(event.id).toMatch(/^evt_[0-9a-f-]{36}$/);
      expect(event.appId).toBe(app.appId);
      expect(Date.parse(event.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    }

    // The same events as log lines, one each, with the same ids and fields.
    const logged = h.eventLines();
    expect(logged.map((l) => l.id)).toEqual(events.map((e) => e.id));
    for (const [i, line] of logged.entries()) {
      expect(line).toEqual({ level: "info", event: events[i]!.type, id: events[i]!.id, timestamp: events[i]!.timestamp, ...events[i]!.data });
    }

    // Delivered by the consumer: one signed POST each, in Standard Webhooks' {type, timestamp, data}.
    const delivered = await deliverEvents(h, settings.secret);
    expect(delivered.map((d) => d.payload.type)).toEqual(events.map((e) => e.type));
    for (const [i, d] of delivered.entries()) {
      expect(d.request.url).toBe(HOOK_URL);
      expect(d.headers["webhook-id"]).toBe(events[i]!.id);
      expect(d.payload).toEqual({ type: events[i]!.type, timestamp: events[i]!.timestamp, data: events[i]!.data });
    }
  });
});

describe("the ZITADEL dialect", () => {
  it("emits the same events, with the same fields, for the same changes", async () => {
    const app = await createApp({ events: eventSettings(), verification: { email: "required", phone: "required" } });
    const h = harness();
    const userId = await zitadelFlows(h, app);
    const events = await h.events();
    expect(events.map((e) => e.type)).toEqual([
      "user.created",
      "address.verified",
      "signin.failed",
      "password.changed",
      "password.reset_requested",
      "password.reset_completed",
      "user.locked",
      "user.unlocked",
      "user.deactivated",
      "user.reactivated",
      "user.deleted",
    ]);
    const byType = Object.fromEntries(events.map((e) => [e.type, e.data]));
    expect(byType["user.created"]).toEqual({ appId: app.appId, userId, actor: "admin", source: "registration", emailVerified: false, phoneVerified: null, via: "zitadel", ip: CLIENT_IP });
    expect(byType["address.verified"]).toMatchObject({ userId, actor: "user", channel: "email", method: "code" });
    expect(byType["signin.failed"]).toMatchObject({ userId, reason: "wrong_password" });
    expect(byType["password.reset_requested"]).toMatchObject({ userId, actor: "admin", method: "return_code", channel: null });
    expect(byType["password.reset_completed"]).toMatchObject({ userId, actor: "user", method: "code" });
    expect(byType["user.locked"]).toEqual({ appId: app.appId, userId, actor: "admin", reason: "admin", lockedUntil: null, via: "zitadel", ip: CLIENT_IP });

    // Every type both dialects emit carries the same fields from either.
    const k = harness();
    const kiiApp = await createApp({ events: eventSettings() });
    await kiiFlows(k, kiiApp);
    const kiiKeys = Object.fromEntries((await k.events()).map((e) => [e.type, Object.keys(e.data).sort()]));
    for (const event of events) {
      if (kiiKeys[event.type]) expect(Object.keys(event.data).sort(), event.type).toEqual(kiiKeys[event.type]);
    }
    expect(Object.keys(kiiKeys).filter((type) => byType[type])).toHaveLength(8);
  });
});

describe("settings.events.types", () => {
  it("limits what is queued to the listed types; every event is still logged", async () => {
    const app = await createApp({ events: eventSettings(["user.deleted", "password.reset_completed"]) });
    const h = harness();
    await kiiFlows(h, app);
    expect((await h.events()).map((e) => e.type)).toEqual(["password.reset_completed", "user.deleted"]);
    expect(h.eventLines()).toHaveLength(10);
  });

  it("without settings.events nothing is queued, and every event is logged", async () => {
    const app = await createApp();
    const h = harness();
    await kiiFlows(h, app);
    expect(await h.events()).toEqual([]);
    expect(h.eventLines().map((l) => l.event)).toContain("user.deleted");
    expect(h.eventLines()).toHaveLength(10);
  });
});

describe("the lockout", () => {
  it("locking an account emits user.locked by the system, with the lock's end; failures name the lock", async () => {
    const app = await createApp({ events: eventSettings(), lockout: { maxPasswordAttempts: 2 } });
    const h = harness();
    const loginName = unique("lk");
    const { userID } = await ok(await kii(h, app, "/users", { json: { loginName, password: PASSWORD }, type: "application/json" }), 201);
    for (let i = 0; i < 3; i++) {
      const res = await h.call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app), json: { username: loginName, password: `wrong-${i}` } });
      expect(res.status).toBe(400);
    }
    const events = (await h.events()).filter((e) => e.type !== "user.created");
    expect(events.map((e) => [e.type, e.data.reason])).toEqual([
      ["signin.failed", "wrong_password"],
      ["user.locked", "password_attempts"],
      ["signin.failed", "wrong_password"],
      ["signin.failed", "locked"],
    ]);
    const locked = events[1]!;
    expect(locked.data).toMatchObject({ userId: userID, actor: "system" });
    expect(Date.parse(locked.data.lockedUntil as string) - Date.parse(locked.timestamp)).toBeGreaterThan(800_000);
  });
});

describe("the bulk import", () => {
  it("emits user.created for each user it creates, by the operator, in one queue batch", async () => {
    const app = await createApp({ events: eventSettings() });
    const h = harness();
    const names = [unique("imp"), unique("imp")];
    const body = names.map((loginName) => JSON.stringify({ loginName, email: `${loginName}@example.com`, emailVerified: true })).join("\n") + "\n";
    const res = await h.call(`/admin/apps/${app.appId}/users:import`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/x-ndjson", "CF-Connecting-IP": CLIENT_IP },
      body,
    });
    const lines = new TextDecoder().decode(await res.arrayBuffer()).trim().split("\n").map((l) => JSON.parse(l));
    expect(res.status).toBe(200);
    const ids = lines.filter((l) => l.status === "created").map((l) => l.userId);
    expect(ids).toHaveLength(2);
    const events = await h.events();
    expect(h.queueCalls).toEqual([{ method: "sendBatch", count: 2 }]);
    expect(events.map((e) => e.data)).toEqual(
      ids.map((userId) => ({ appId: app.appId, userId, actor: "operator", source: "import", emailVerified: true, phoneVerified: null, via: "admin", ip: CLIENT_IP })),
    );
  });
});
