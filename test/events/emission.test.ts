// Security events come from the core, so both dialects emit the same ones: one log line per
// change and, for an app with settings.events, one sealed queue message per subscribed type.
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, createApp, kiiHeaders } from "../helpers";
import { outbox, unique } from "../kii/password-helpers";
import { CLIENT_IP, kiiFlows, ok, PASSWORD, zitadelFlows } from "./flows";
import { deliverEvents, eventSettings, harness, HOOK_URL } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("the Kii dialect", () => {
  it("emits one event per change, logged and queued, naming the app, user, dialect and client address", async () => {
    const settings = eventSettings();
    const app = await createApp({ events: settings });
    const h = harness();
    const { userId } = await kiiFlows(h, app);

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
    const { userId } = await zitadelFlows(h, app);
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
    const { userID } = await ok(await h.call(`/api/apps/${app.appId}/users`, { method: "POST", headers: kiiHeaders(app), json: { loginName, password: PASSWORD } }), 201);
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
    // Logged once for the whole import, not once per user.
    expect(h.eventLines()).toEqual([
      { level: "info", event: "events.summary", timestamp: expect.any(String), appId: app.appId, operation: "import", counts: { "user.created": 2 }, via: "admin", ip: CLIENT_IP },
    ]);
  });

  it("logs a bounded amount however many users it imports: one summary line, every event still queued", async () => {
    // A log line per user made a 100,000-user import write ~28 MB through wrangler dev's pipes
    // (and past the 256 KB Workers Logs keeps of one invocation). 330 users = 11 batches.
    const app = await createApp({ events: eventSettings() });
    const h = harness();
    const prefix = unique("many");
    const count = 330;
    const body = Array.from({ length: count }, (_, i) => JSON.stringify({ loginName: `${prefix}-${i}`, passwordUnknown: true })).join("\n") + "\n";
    const rerun = Array.from({ length: 40 }, (_, i) => JSON.stringify({ loginName: `${prefix}-${i}`, passwordHash: BCRYPT })).join("\n") + "\n";
    const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/x-ndjson" };
    const res = await h.call(`/admin/apps/${app.appId}/users:import`, { method: "POST", headers, body });
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode(await res.arrayBuffer()).trim().split("\n").at(-1)).toBe(JSON.stringify({ summary: { created: count, updated: 0, refused: 0 } }));
    const again = await h.call(`/admin/apps/${app.appId}/users:import`, { method: "POST", headers, body: rerun });
    expect(again.status).toBe(200);

    expect((await h.events()).map((e) => e.type)).toEqual([...Array(count).fill("user.created"), ...Array(40).fill("password.changed")]);
    expect(h.eventLines().map((l) => [l.event, l.counts])).toEqual([
      ["events.summary", { "user.created": count }],
      ["events.summary", { "password.changed": 40 }],
    ]);
    expect(h.lines.join("\n").length).toBeLessThan(2_000);
  });
});

/** A bcrypt hash (cost 4) of no password in particular: replacing an unknown password is a change. */
const BCRYPT = "$2b$04$abcdefghijklmnopqrstuu5Xq0r0pIh3y0TgXQhD2M7V1qj4p9ZyG";

describe("the hosted reset page", () => {
  it("completing a reset there emits password.reset_completed via web", async () => {
    const app = await createApp({ events: eventSettings() });
    const h = harness();
    const loginName = unique("web");
    const email = `${loginName}@example.com`;
    const { userID } = await ok(await h.call(`/api/apps/${app.appId}/users`, { method: "POST", headers: kiiHeaders(app), json: { loginName, emailAddress: email, password: PASSWORD } }), 201);
    await ok(await h.call(`/api/apps/${app.appId}/users/EMAIL:${email}/password/request-reset`, { method: "POST", headers: kiiHeaders(app) }), 204);
    await h.deliverMessages();
    const link = /https?:\/\/\S+\/reset\/\S+/.exec((await outbox(email))[0]!.text)![0];
    // The hosted form POSTs the code the link carries in its fragment.
    const { pathname, hash } = new URL(link);
    const done = await h.call(pathname, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": "2001:db8::7" },
      body: new URLSearchParams({ code: decodeURIComponent(hash.slice(1)), password: "brand new secret", confirm: "brand new secret" }).toString(),
    });
    expect(done.status).toBe(200);
    const events = await h.events();
    expect(events.map((e) => e.type)).toEqual(["user.created", "password.reset_requested", "password.reset_completed"]);
    expect(events[2]!.data).toEqual({ appId: app.appId, userId: userID, actor: "user", method: "email_link", via: "web", ip: "2001:db8::7" });
  });
});
