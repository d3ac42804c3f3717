// Security events end to end: an app whose settings.events point at a real HTTP receiver on
// loopback; flows in both dialects against wrangler dev; every event arriving through the real
// local Queue, its signature checked with the standardwebhooks package; a 500 answered once and
// the same webhook-id delivered again; and wrangler dev's whole log holding the event lines and
// none of the passwords, codes or tokens used.
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp, waitForMessage } from "./helpers";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const received: Received[] = [];
/** Answer 500 to the first POST of this event type, once. */
let failOnceFor: string | null = "user.created";
let server: Server;
let hookUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let status = 204;
      if (failOnceFor && body.includes(`"type":"${failOnceFor}"`)) {
        failOnceFor = null;
        status = 500;
      }
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

interface Verified {
  id: string;
  status: number;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** Every POST so far, each verified with the standardwebhooks package (throws on a bad signature). */
const verified = (): Verified[] =>
  received.map((r) => {
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]));
    return { id: headers["webhook-id"]!, status: r.status, payload: new Webhook(secret).verify(r.body, headers) as Verified["payload"] };
  });

async function waitFor(check: (events: Verified[]) => boolean, what: string, timeoutMs = 45_000): Promise<Verified[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = verified();
    if (check(events)) return events;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; have ${events.map((e) => e.payload.type).join(", ")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function json(res: Response, status = 200): Promise<Record<string, any>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return text ? JSON.parse(text) : {};
}

const kiiHeaders = (app: E2eApp, extra: Record<string, string> = {}) => ({ "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey, "Content-Type": "application/json", ...extra });

describe("security events", () => {
  it("reach the app's receiver signed, once per change, from both dialects, retried with the same webhook-id", async () => {
    const logStart = statSync(inject("devServerLog")).size;
    const app = await createE2eApp({ events: { url: hookUrl, secret, types: null } });
    const api = `${baseUrl()}/api/apps/${app.appId}`;
    const stamp = Date.now().toString(36);
    const password = `First-pass-${stamp}`;
    const newPassword = `Second-pass-${stamp}`;
    const resetPassword = `Third-pass-${stamp}`;
    const wrongPassword = `Wrong-pass-${stamp}`;
    const loginName = `events${stamp}`;
    const phone = `+8190${String(Date.now() % 100_000_000).padStart(8, "0")}`;

    // Kii: register, a wrong password, sign in, change the password, reset it by SMS PIN.
    const { userID } = await json(
      await fetch(`${api}/users`, { method: "POST", headers: kiiHeaders(app), body: JSON.stringify({ loginName, phoneNumber: phone, password }) }),
      201,
    );
    const signIn = (p: string) => fetch(`${baseUrl()}/api/oauth2/token`, { method: "POST", headers: kiiHeaders(app), body: JSON.stringify({ username: loginName, password: p }) });
    expect((await signIn(wrongPassword)).status).toBe(400);
    const token = (await json(await signIn(password))).access_token as string;
    await json(
      await fetch(`${api}/users/me/password`, { method: "PUT", headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }), body: JSON.stringify({ oldPassword: password, newPassword }) }),
      204,
    );
    await json(await fetch(`${api}/users/${userID}/password/request-reset`, { method: "POST", headers: kiiHeaders(app), body: JSON.stringify({ notificationMethod: "SMS", smsResetMethod: "PIN" }) }), 204);
    const pin = /\b(\d{6})\b/.exec((await waitForMessage(phone, (m) => m.template === "reset_pin")).text)![1]!;
    await json(await fetch(`${api}/users/${userID}/password/complete-reset`, { method: "POST", headers: kiiHeaders(app), body: JSON.stringify({ pinCode: pin, newPassword: resetPassword }) }), 204);

    // ZITADEL: a user with an email code returned, verified, then deleted.
    const admin = (await json(await fetch(`${baseUrl()}/api/oauth2/token`, { method: "POST", headers: kiiHeaders(app), body: JSON.stringify({ client_id: app.clientId, client_secret: app.clientSecret }) })))
      .access_token as string;
    const z = (path: string, body?: unknown, method = body === undefined ? "DELETE" : "POST") =>
      fetch(`${baseUrl()}/v2${path}`, { method, headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const created = await json(await z("/users/human", { username: `z${loginName}`, profile: { givenName: "Ada", familyName: "Lovelace" }, email: { email: `z${loginName}@example.com`, returnCode: {} }, password: { password } }));
    await json(await z(`/users/${created.userId}/email/verify`, { verificationCode: created.emailCode }));
    await json(await z(`/users/${created.userId}`));

    const expected = [
      ["user.created", userID, "kii"],
      ["signin.failed", userID, "kii"],
      ["password.changed", userID, "kii"],
      ["password.reset_requested", userID, "kii"],
      ["password.reset_completed", userID, "kii"],
      ["user.created", created.userId, "zitadel"],
      ["address.verified", created.userId, "zitadel"],
      ["user.deleted", created.userId, "zitadel"],
    ];
    // Every event delivered (a 2xx), the first user.created after its 500 and one retry.
    const events = await waitFor((all) => all.filter((e) => e.status < 300).length >= expected.length, `${expected.length} events delivered`, 60_000);
    const delivered = events.filter((e) => e.status < 300);
    expect(delivered.map((e) => [e.payload.type, e.payload.data.userId, e.payload.data.via]).sort()).toEqual(expected.sort());
    for (const e of delivered) {
      expect(e.payload.data.appId).toBe(app.appId);
      expect(e.id).toMatch(/^evt_/);
    }
    expect(new Set(delivered.map((e) => e.id)).size).toBe(expected.length);
    const failed = events.filter((e) => e.status === 500);
    expect(failed).toHaveLength(1);
    expect(delivered.find((e) => e.id === failed[0]!.id)?.payload).toEqual(failed[0]!.payload);

    // wrangler dev's log: one line per event, and none of the secrets the flows used.
    await new Promise((r) => setTimeout(r, 500));
    const log = readFileSync(inject("devServerLog")).subarray(logStart).toString("utf8");
    for (const e of delivered) expect(log).toContain(`"event":"${e.payload.type}","id":"${e.id}"`);
    for (const value of [password, newPassword, resetPassword, wrongPassword, pin, token, admin, created.emailCode as string, app.clientSecret, secret.slice(6)]) {
      expect(log.includes(value), `wrangler dev's log holds ${value}`).toBe(false);
    }
  });
});
