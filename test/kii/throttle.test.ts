// Per-IP throttles on anonymous sign-in and registration (issue 10), and form-encoded token
// requests (RFC 6749 §4.3.2). A throttled request is refused before anything is hashed.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createServices, type Services } from "../../src/core/services";
import type { App } from "../../src/storage/apps";
import type { Registration } from "../../src/core/users";
import { signIn as coreSignIn } from "../../src/core/users";
import { registerWithVerification } from "../../src/core/verification";
import { adminToken, call, createApp, expectKiiError, kiiHeaders, type TestApp } from "../helpers";
import { newUser, PASSWORD, unique } from "./password-helpers";

const fromIp = (app: TestApp, ip: string, extra: Record<string, string> = {}) => kiiHeaders(app, { "CF-Connecting-IP": ip, ...extra });

const signInFrom = (app: TestApp, ip: string, username: string, password: string) =>
  call("/api/oauth2/token", { method: "POST", headers: fromIp(app, ip), json: { username, password } });

const registerFrom = (app: TestApp, ip: string, headers: Record<string, string> = {}) =>
  call(`/api/apps/${app.appId}/users`, {
    method: "POST",
    headers: fromIp(app, ip, { "Content-Type": "application/vnd.kii.RegistrationRequest+json", ...headers }),
    json: { loginName: unique("reg"), password: PASSWORD },
  });

/** The core's registration as Kii's route calls it, for an anonymous caller at `ip`. */
const registerAs = (svc: Services, app: App, input: Registration, ip: string) =>
  registerWithVerification(svc, app, input, { principal: null, clientIp: ip, origin: "http://localhost", dialect: "kii", throttle: { principal: null, clientIp: ip } });

async function expectThrottledToken(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(429);
  expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ errorCode: "TOO_MANY_REQUESTS" });
  expect(typeof body.error_description).toBe("string");
  return body;
}

describe("per-IP sign-in throttle", () => {
  it("answers 429 with Retry-After in the token endpoint's OAuth shape once the limit is used, for known and unknown users alike", async () => {
    const app = await createApp({ rateLimits: { signInPerIp: { limit: 3, windowSeconds: 60 } } });
    const user = await newUser(app);
    expect((await signInFrom(app, "203.0.113.7", user.loginName, "wrong one")).status).toBe(400);
    expect((await signInFrom(app, "203.0.113.7", "nobody-here", "wrong one")).status).toBe(400);
    expect((await signInFrom(app, "203.0.113.7", user.loginName, PASSWORD)).status).toBe(200);
    const known = await expectThrottledToken(await signInFrom(app, "203.0.113.7", user.loginName, PASSWORD));
    const unknown = await expectThrottledToken(await signInFrom(app, "203.0.113.7", "nobody-here", "x"));
    expect(unknown).toEqual(known);
    // Another address is not affected.
    expect((await signInFrom(app, "198.51.100.9", user.loginName, PASSWORD)).status).toBe(200);
  });

  it("is refused before any password is hashed", async () => {
    const app = await createApp({ rateLimits: { signInPerIp: { limit: 1, windowSeconds: 60 } } });
    const user = await newUser(app);
    const svc = createServices(env);
    let hashes = 0;
    for (const method of ["verify", "burn", "hash"] as const) {
      const original = svc.hasher[method].bind(svc.hasher) as (...a: unknown[]) => Promise<never>;
      (svc.hasher as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        hashes++;
        return original(...args);
      };
    }
    const stored = (await svc.apps.get(app.appId))!;
    const caller = { principal: null, clientIp: "203.0.113.8" };
    await coreSignIn(svc, stored, { by: "loginName", value: user.loginName }, PASSWORD, caller);
    expect(hashes).toBe(1);
    for (const ref of [{ by: "loginName", value: user.loginName }, { by: "loginName", value: "nobody-here" }] as const) {
      const kind = await coreSignIn(svc, stored, ref, PASSWORD, caller).then(
        () => "ok",
        (e: { kind?: string }) => e.kind,
      );
      expect(kind).toBe("rate_limited");
    }
    console.log(`throttle figure: hashes computed by 2 throttled sign-ins: ${hashes - 1}`);
    expect(hashes).toBe(1);
  });

  it("an unknown user still costs one dummy hash (burn), like a wrong password", async () => {
    const app = await createApp();
    const svc = createServices(env);
    let burned = 0;
    const burn = svc.hasher.burn.bind(svc.hasher);
    svc.hasher.burn = (p) => {
      burned++;
      return burn(p);
    };
    const stored = (await svc.apps.get(app.appId))!;
    const kind = await coreSignIn(svc, stored, { by: "loginName", value: "nobody-here" }, "x", { principal: null, clientIp: null }).catch((e: { kind: string }) => e.kind);
    expect(kind).toBe("wrong_password");
    expect(burned).toBe(1);
  });
});

describe("per-IP registration throttle", () => {
  it("answers 429 TOO_MANY_REQUESTS with Retry-After in Kii's shape, before the body's user is looked at", async () => {
    const app = await createApp({ rateLimits: { registerPerIp: { limit: 2, windowSeconds: 60 } } });
    expect((await registerFrom(app, "203.0.113.20")).status).toBe(201);
    expect((await registerFrom(app, "203.0.113.20")).status).toBe(201);
    const res = await registerFrom(app, "203.0.113.20");
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    await expectKiiError(res, 429, "TOO_MANY_REQUESTS", "TooManyRequestsException");
    expect((await registerFrom(app, "203.0.113.21")).status).toBe(201);
  });

  it("once the limit is used, answers 429 whatever else is wrong with the request, and registers nobody", async () => {
    const app = await createApp({ rateLimits: { registerPerIp: { limit: 1, windowSeconds: 60 } } });
    const ip = "203.0.113.24";
    const taken = unique("taken");
    const send = (json: Record<string, unknown>) =>
      call(`/api/apps/${app.appId}/users`, { method: "POST", headers: fromIp(app, ip, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }), json });
    expect((await send({ loginName: taken, password: PASSWORD })).status).toBe(201);
    const fresh = unique("fresh");
    for (const json of [{ loginName: taken, password: PASSWORD }, { loginName: fresh, password: "short" }, { loginName: fresh, password: PASSWORD }]) {
      await expectKiiError(await send(json), 429, "TOO_MANY_REQUESTS", "TooManyRequestsException");
    }
    const svc = createServices(env);
    const stored = (await svc.apps.get(app.appId))!;
    expect(await svc.shard(stored).users.byLoginName(app.appId, fresh)).toBeNull();
    const core = await registerAs(svc, stored, { userId: "me", loginName: fresh, password: PASSWORD }, ip).catch((e: { kind: string }) => e.kind);
    expect(core).toBe("rate_limited");
  });

  it("counts the per-IP limit and the address's send limit together: a request the address's limit refuses counts under neither", async () => {
    const app = await createApp({
      verification: { email: "required", phone: "required" },
      rateLimits: { registerPerIp: { limit: 3, windowSeconds: 60 }, verifyPerAddress: { limit: 1, windowSeconds: 900 } },
    });
    const ip = "203.0.113.25";
    const email = `${unique("addr")}@example.com`;
    const send = (json: Record<string, unknown>) =>
      call(`/api/apps/${app.appId}/users`, { method: "POST", headers: fromIp(app, ip, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }), json });
    expect((await send({ loginName: unique("first"), emailAddress: email, password: PASSWORD })).status).toBe(201);
    // The address has had its message: more registrations naming it are refused as sends, and created nowhere.
    const names = [unique("second"), unique("third"), unique("fourth")];
    for (const loginName of names) {
      const res = await send({ loginName, emailAddress: email.toUpperCase(), password: PASSWORD });
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
      const body = await expectKiiError(res, 429, "TOO_MANY_REQUESTS", "TooManyRequestsException");
      expect(JSON.stringify(body)).toMatch(/verification messages/);
    }
    const svc = createServices(env);
    const stored = (await svc.apps.get(app.appId))!;
    for (const loginName of names) expect(await svc.shard(stored).users.byLoginName(app.appId, loginName)).toBeNull();
    // None of the three counted against the IP: two of its three registrations are left.
    expect((await send({ loginName: unique("fifth"), password: PASSWORD })).status).toBe(201);
    expect((await send({ loginName: unique("sixth"), password: PASSWORD })).status).toBe(201);
    const res = await send({ loginName: unique("seventh"), password: PASSWORD });
    expect(JSON.stringify(await expectKiiError(res, 429, "TOO_MANY_REQUESTS", "TooManyRequestsException"))).toMatch(/registrations/);
  });

  it("does not throttle the app's admin", async () => {
    const app = await createApp({ rateLimits: { registerPerIp: { limit: 1, windowSeconds: 60 } } });
    const admin = await adminToken(app);
    for (let i = 0; i < 3; i++) expect((await registerFrom(app, "203.0.113.22", { Authorization: `Bearer ${admin}` })).status).toBe(201);
  });

  it("the core counts before it hashes", async () => {
    const app = await createApp({ rateLimits: { registerPerIp: { limit: 1, windowSeconds: 60 } } });
    const svc = createServices(env);
    let hashes = 0;
    const hash = svc.hasher.hash.bind(svc.hasher);
    svc.hasher.hash = (p) => {
      hashes++;
      return hash(p);
    };
    const stored = (await svc.apps.get(app.appId))!;
    await registerAs(svc, stored, { loginName: unique("reg"), password: PASSWORD }, "203.0.113.23");
    const kind = await registerAs(svc, stored, { loginName: unique("reg"), password: PASSWORD }, "203.0.113.23").catch((e: { kind: string }) => e.kind);
    expect(kind).toBe("rate_limited");
    expect(hashes).toBe(1);
  });
});

describe("form-encoded token requests", () => {
  const form = (app: TestApp, body: string, path = "/api/oauth2/token") =>
    call(path, { method: "POST", headers: kiiHeaders(app, { "Content-Type": "application/x-www-form-urlencoded" }), body });

  it("signs in with grant_type=password&username&password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await form(app, new URLSearchParams({ grant_type: "password", username: user.loginName, password: PASSWORD }).toString());
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(user.userID);
  });

  it("keeps '+' in a form-encoded phone number as %2B and a wrong password as invalid_grant", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const ok = await form(app, `username=${encodeURIComponent(user.phone)}&password=${encodeURIComponent(PASSWORD)}`, `/api/apps/${app.appId}/oauth2/token`);
    expect(ok.status, await ok.clone().text()).toBe(200);
    const wrong = await form(app, new URLSearchParams({ username: user.loginName, password: "nope nope" }).toString());
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ errorCode: "invalid_grant" });
  });

  it("issues an admin token for grant_type=client_credentials", async () => {
    const app = await createApp();
    const res = await form(app, new URLSearchParams({ grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret }).toString());
    expect(res.status).toBe(200);
  });

  it("reads expiresAt as a number and refuses repeated fields with invalid_request", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const expiresAt = Date.now() + 3_600_000;
    const res = await form(app, new URLSearchParams({ username: user.loginName, password: PASSWORD, expiresAt: String(expiresAt) }).toString());
    expect(((await res.json()) as { expires_in: number }).expires_in).toBeLessThanOrEqual(3600);
    const twice = await form(app, `username=${user.loginName}&username=other&password=x`);
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({ errorCode: "invalid_request" });
  });
});
