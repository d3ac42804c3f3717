// The round trips each hot route waits for one after another before it answers (test/io-trace.ts).
// In local workerd they cost little more at once than in a row, so the bench cannot see one
// taken away; in a deployment each is a network hop. These pin the counts docs/benchmarks.md
// gives, so that a change adding a hop to a route has to change this file too.
import { describe, expect, it, vi } from "vitest";
import { traced } from "../io-trace";
import { createApp, kiiHeaders, ORIGIN, type TestApp, userToken } from "../helpers";
import { latestMessage, newUser, PASSWORD, requestPin, requestReset, signInStatus, unique, usersPath } from "../kii/password-helpers";

const IP = { "CF-Connecting-IP": "203.0.113.40" };
const json = (app: TestApp, contentType: string, body: unknown, extra: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: kiiHeaders(app, { ...IP, "Content-Type": contentType, ...extra }),
  body: JSON.stringify(body),
});
const reset = (app: TestApp, id: string, body?: unknown) =>
  new Request(`${ORIGIN}${usersPath(app, id)}/password/request-reset`, body ? json(app, "application/vnd.kii.ResetPasswordRequest+json", body) : { method: "POST", headers: kiiHeaders(app, IP) });

// A reset's two steps after the look-up: both limits at once, then the code and the message.
const LIMITS = "limiter.reserve + limiter.reserve";
const ISSUE = "kv.put + queue.send + shard.batch";

describe("round trips before the answer", () => {
  it("request-reset naming the address (the Kii SDK's resetPassword): the limits beside the look-up, then the writes", async () => {
    const app = await createApp();
    const user = await newUser(app);
    // The app's row is then in this isolate's cache, as it is for every request but an isolate's first.
    expect((await requestReset(app, user.userID)).status).toBe(204);
    const byEmail = await traced(reset(app, `EMAIL:${user.email.toUpperCase()}`));
    expect(byEmail.res.status, byEmail.body).toBe(204);
    expect(byEmail.trace.describe()).toBe(`${LIMITS} + shard.first | ${ISSUE}`);
    const byPhone = await traced(reset(app, encodeURIComponent(`PHONE:${user.phone}`), { notificationMethod: "SMS", smsResetMethod: "PIN" }));
    expect(byPhone.res.status, byPhone.body).toBe(204);
    expect(byPhone.trace.describe()).toBe(`${LIMITS} + shard.first | ${ISSUE}`);
  });

  it("request-reset naming the user otherwise: the look-up first, since the limit's key is the user's address", async () => {
    const app = await createApp();
    const user = await newUser(app);
    for (const id of [user.userID, `LOGIN_NAME:${user.loginName}`, `EMAIL:${user.email}`]) {
      // By email, but for an SMS: the key is the phone, which only the user's row knows.
      const { res, body, trace } = await traced(reset(app, id, id.startsWith("EMAIL:") ? { notificationMethod: "SMS" } : undefined));
      expect(res.status, body).toBe(204);
      expect(trace.describe(), id).toBe(`shard.first | ${LIMITS} | ${ISSUE}`);
    }
  });

  it("request-reset with enumeration protection: the key never takes the user, so any name but me goes beside the look-up", async () => {
    const app = await createApp({ enumerationProtection: true });
    const user = await newUser(app);
    expect((await requestReset(app, user.userID)).status).toBe(204);
    for (const id of [`LOGIN_NAME:${user.loginName}`, "LOGIN_NAME:nobody-at-all"]) {
      const { res, trace } = await traced(reset(app, id));
      expect(res.status).toBe(204);
      // The unknown name's decoy does the same work as a real request, in the same steps.
      expect(trace.describe(), id).toBe(`${LIMITS} + shard.first | ${ISSUE}`);
    }
  });

  it("request-reset refused by a limit: one round trip, and nothing written or sent", async () => {
    const app = await createApp({ rateLimits: { resetPerAddress: { limit: 1, windowSeconds: 900 } } });
    const user = await newUser(app);
    expect((await requestReset(app, `EMAIL:${user.email}`)).status).toBe(204);
    const { res, trace } = await traced(reset(app, `EMAIL:${user.email}`));
    expect(res.status).toBe(429);
    // The per-IP hit the other limit counted is taken back (Limits.hitAll).
    expect(trace.describe()).toBe(`${LIMITS} + shard.first | limiter.release`);
  });

  it("get user (me): one D1 batch, the token with its user", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const { res, trace } = await traced(new Request(`${ORIGIN}${usersPath(app, "me")}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) }));
    expect(res.status).toBe(200);
    expect(trace.describe()).toBe("shard.batch");
  });

  it("sign-in: the per-IP limit beside the look-up, the attempt reserved, then the hash and one batch", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const { res, body, trace } = await traced(new Request(`${ORIGIN}/api/oauth2/token`, json(app, "application/json", { username: user.loginName, password: PASSWORD })));
    expect(res.status, body).toBe(200);
    expect(trace.describe()).toBe("limiter.hit + shard.first | shard.all | shard.batch");
  });

  it("registration with a verification email: the limits beside the look-up, one batch, then the message", async () => {
    const app = await createApp({ verification: { email: "required", phone: "required" } });
    await newUser(app);
    const name = unique("rt");
    const { res, body, trace } = await traced(
      new Request(`${ORIGIN}/api/apps/${app.appId}/users`, json(app, "application/vnd.kii.RegistrationRequest+json", { loginName: name, emailAddress: `${name}@example.com`, password: PASSWORD })),
    );
    expect(res.status, body).toBe(201);
    expect(trace.describe()).toBe(`${LIMITS} + shard.all | shard.batch | queue.send`);
  });

  it("complete-reset: the password-changed notice is queued after the answer, not before it", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    const { res, body, trace } = await traced(
      new Request(`${ORIGIN}${usersPath(app, user.userID)}/password/complete-reset`, json(app, "application/vnd.kii.CompletePasswordResetRequest+json", { pinCode: pin, newPassword: "a new password 1" })),
    );
    expect(res.status, body).toBe(204);
    // The user, the code's row, its hash, the attempt reserved; the hash; one batch.
    expect(trace.describe()).toBe("shard.first | shard.first | kv.get | shard.all | shard.batch");
    expect(trace.calls.filter((c) => c.binding === "DELIVERY")).toHaveLength(1);
    await latestMessage(user.email, "password_changed");
  });

  it("password change: the notice after the answer, which a queue refusing it does not change", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const change = (newPassword: string, vars: Record<string, unknown> = {}) =>
      traced(
        new Request(`${ORIGIN}${usersPath(app, user.userID)}/password`, {
          method: "PUT",
          headers: kiiHeaders(app, { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.kii.ChangePasswordRequest+json" }),
          body: JSON.stringify({ oldPassword: PASSWORD, newPassword }),
        }),
        vars,
      );
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      // A queue that refuses after a round trip of its own, as a real one would.
      const down = { send: () => new Promise((_, reject) => setTimeout(() => reject(new Error("Queue send failed: 503")), 20)) };
      const refused = await change("a changed password 2", { DELIVERY: down });
      // The password did change, so the answer says so; the notice's loss is logged, without the address.
      expect(refused.res.status, refused.body).toBe(204);
      expect(refused.trace.describe()).toBe("shard.all | shard.first | shard.batch");
      const lines = errors.mock.calls.map((args) => String(args[0]));
      const line = lines.find((l) => l.includes("notice_queue_failed"));
      expect(line, lines.join("\n")).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ event: "notice_queue_failed", appId: app.appId, userId: user.userID, template: "password_changed" });
      expect(line).not.toContain(user.email);
    } finally {
      errors.mockRestore();
    }
    expect(await signInStatus(app, user.loginName, "a changed password 2")).toBe(200);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(400);
  });
});
