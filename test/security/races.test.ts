// Concurrency (SPEC §8): single use under racing completions, and limits that hold when many
// requests arrive at once.
import { describe, expect, it } from "vitest";
import { adminToken, createApp, userToken } from "../helpers";
import { completeReset, newUser, PASSWORD, requestPin, requestReset, signInStatus } from "../kii/password-helpers";

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort((a, b) => a - b);

describe("races", () => {
  it("accepts a PIN exactly once when 20 completions race", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    const passwords = Array.from({ length: 20 }, (_, i) => `racing password ${i}`);
    const responses = await Promise.all(passwords.map((newPassword) => completeReset(app, user.userID, { pinCode: pin, newPassword })));
    const codes = statuses(responses);
    expect(codes.filter((s) => s === 204)).toHaveLength(1);
    for (const s of codes.filter((s) => s !== 204)) {
      expect(s).toBeGreaterThanOrEqual(400);
      expect(s).toBeLessThan(500);
    }
    // Exactly the winner's password works.
    const winner = passwords[responses.findIndex((r) => r.status === 204)]!;
    expect(await signInStatus(app, user.loginName, winner)).toBe(200);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(400);
  });

  it("accepts exactly the per-address limit when 10 reset requests race", async () => {
    const app = await createApp({ rateLimits: { resetPerAddress: { limit: 3, windowSeconds: 900 } } });
    const user = await newUser(app);
    const responses = await Promise.all(Array.from({ length: 10 }, () => requestReset(app, `EMAIL:${user.email}`)));
    const codes = statuses(responses);
    expect(codes).toEqual([204, 204, 204, ...Array(7).fill(429)]);
    for (const res of responses.filter((r) => r.status === 429)) {
      expect(res.headers.get("Content-Type")).toBe("application/vnd.kii.TooManyRequestsException+json");
      expect(((await res.json()) as { errorCode: string }).errorCode).toBe("TOO_MANY_REQUESTS");
      const retryAfter = Number(res.headers.get("Retry-After"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
  });

  it("counts an address's requests together however they name the user, and a phone apart from the email", async () => {
    const app = await createApp({ rateLimits: { resetPerAddress: { limit: 3, windowSeconds: 900 } } });
    const user = await newUser(app);
    // The address in another case, the id and the login name all reach one inbox.
    const named = [`EMAIL:${user.email.toUpperCase()}`, user.userID, `LOGIN_NAME:${user.loginName}`];
    expect(statuses(await Promise.all(named.map((id) => requestReset(app, id))))).toEqual([204, 204, 204]);
    expect((await requestReset(app, `EMAIL:${user.email}`)).status).toBe(429);
    expect((await requestReset(app, user.userID)).status).toBe(429);
    // The phone is another recipient: named by its number or by the id, it has its own three.
    const sms = { json: { notificationMethod: "SMS" } };
    const phone = encodeURIComponent(`PHONE:${user.phone}`);
    expect(statuses(await Promise.all([phone, user.userID, phone].map((id) => requestReset(app, id, sms))))).toEqual([204, 204, 204]);
    expect((await requestReset(app, user.userID, sms)).status).toBe(429);
    expect((await requestReset(app, phone, sms)).status).toBe(429);
    // Asking for an SMS by the email address counts against the phone, where it would go.
    expect((await requestReset(app, `EMAIL:${user.email}`, sms)).status).toBe(429);
  });

  it("limits an unknown address like a known one", async () => {
    const app = await createApp({ enumerationProtection: true, rateLimits: { resetPerAddress: { limit: 3, windowSeconds: 900 } } });
    const user = await newUser(app);
    const known = await Promise.all(Array.from({ length: 6 }, () => requestReset(app, `EMAIL:${user.email}`)));
    const unknown = await Promise.all(Array.from({ length: 6 }, () => requestReset(app, "EMAIL:nobody@example.com")));
    expect(statuses(unknown)).toEqual(statuses(known));
    expect(statuses(known)).toEqual([204, 204, 204, 429, 429, 429]);
  });

  it("limits unknown addresses without enumeration protection too, after the same count", async () => {
    const app = await createApp({ rateLimits: { resetPerAddress: { limit: 3, windowSeconds: 900 } } });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await requestReset(app, "EMAIL:nobody@example.com")).status);
    expect(codes).toEqual([404, 404, 404, 429]);
  });

  it("limits anonymous callers per client IP across addresses", async () => {
    const app = await createApp({ rateLimits: { resetPerIp: { limit: 3, windowSeconds: 3600 } } });
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser(app)));
    const responses = await Promise.all(users.map((u) => requestReset(app, u.userID, { headers: { "CF-Connecting-IP": "203.0.113.7" } })));
    expect(statuses(responses)).toEqual([204, 204, 204, 429, 429]);
    for (const res of responses.filter((r) => r.status === 429)) expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await requestReset(app, users[0]!.userID, { headers: { "CF-Connecting-IP": "203.0.113.8" } })).status).toBe(204);
  });

  it("limits a caller with a user's token per IP: anyone can register and get one", async () => {
    const app = await createApp({ rateLimits: { resetPerIp: { limit: 2, windowSeconds: 3600 } } });
    const caller = await newUser(app);
    const token = await userToken(app, caller.loginName, PASSWORD);
    const victims = await Promise.all(Array.from({ length: 3 }, () => newUser(app)));
    const headers = { "CF-Connecting-IP": "203.0.113.10", Authorization: `Bearer ${token}` };
    const codes: number[] = [];
    for (const v of victims) codes.push((await requestReset(app, `EMAIL:${v.email}`, { headers })).status);
    expect(codes).toEqual([204, 204, 429]);
  });

  it("does not limit the app's backend (admin token) per IP", async () => {
    const app = await createApp({ rateLimits: { resetPerIp: { limit: 2, windowSeconds: 3600 } } });
    const admin = await adminToken(app);
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser(app)));
    const headers = { "CF-Connecting-IP": "203.0.113.9", Authorization: `Bearer ${admin}` };
    const responses = await Promise.all(users.map((u) => requestReset(app, u.userID, { headers })));
    expect(statuses(responses)).toEqual([204, 204, 204, 204, 204]);
  });
});
