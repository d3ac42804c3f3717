// Kii's request-reset starts the user's look-up beside the app's (core/identity.lookUpEarly). The
// early result counts only for the app and reference it was started for, and the route's errors
// keep their order: the app's checks come before a malformed identifier. Its two limits are asked
// at once (Limits.hitAll), and a request either refuses counts under neither.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lookUpEarly } from "../../src/core/identity";
import { requestReset } from "../../src/core/reset";
import { createServices } from "../../src/core/services";
import { call, createApp, expectKiiError, kiiHeaders, registerKiiUser } from "../helpers";

const unique = () => `u${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

describe("request-reset's early user look-up", () => {
  it("is not used for another app: a name known only in that app stays unknown here", async () => {
    const [here, there] = await Promise.all([createApp(), createApp()]);
    const loginName = unique();
    await registerKiiUser(there, { loginName, emailAddress: `${loginName}@example.com`, password: "a long password 1" });
    const svc = createServices(env);
    const app = (await svc.apps.get(here.appId))!;
    const ref = { by: "loginName", value: loginName } as const;
    const early = lookUpEarly(svc, there.appId, ref);
    const kind = await requestReset(svc, app, { ref, delivery: { via: "email_link" }, principal: null, clientIp: null, origin: "http://latchkey.test", early }).then(
      () => "sent",
      (e: { kind: string }) => e.kind,
    );
    expect(kind).toBe("user_not_found");
  });

  it("is not used for another reference in the same app", async () => {
    const app = await createApp();
    const [known, other] = [unique(), unique()];
    await registerKiiUser(app, { loginName: known, emailAddress: `${known}@example.com`, password: "a long password 1" });
    const svc = createServices(env);
    const stored = (await svc.apps.get(app.appId))!;
    const early = lookUpEarly(svc, app.appId, { by: "loginName", value: known });
    const kind = await requestReset(svc, stored, {
      ref: { by: "loginName", value: other },
      delivery: { via: "email_link" },
      principal: null,
      clientIp: null,
      origin: "http://latchkey.test",
      early,
    }).then(
      () => "sent",
      (e: { kind: string }) => e.kind,
    );
    expect(kind).toBe("user_not_found");
  });

  it("answers an unknown app before a malformed identifier, as without it", async () => {
    const res = await call(`/api/apps/nosuchapp${Date.now()}/users/BOGUS:x/password/request-reset`, { method: "POST", headers: { "X-Kii-AppID": "nosuchapp1", "X-Kii-AppKey": "k" } });
    await expectKiiError(res, 404, "APP_NOT_FOUND");
  });

  it("answers wrong app credentials before a malformed identifier", async () => {
    const app = await createApp();
    const res = await call(`/api/apps/${app.appId}/users/BOGUS:x/password/request-reset`, { method: "POST", headers: kiiHeaders(app, { "X-Kii-AppKey": "wrong" }) });
    expect(res.status).toBe(401);
  });

  it("still resets the user the request names", async () => {
    const app = await createApp();
    const loginName = unique();
    await registerKiiUser(app, { loginName, emailAddress: `${loginName}@example.com`, password: "a long password 1" });
    const res = await call(`/api/apps/${app.appId}/users/LOGIN_NAME:${loginName}/password/request-reset`, { method: "POST", headers: kiiHeaders(app) });
    expect(res.status).toBe(204);
  });
});

describe("request-reset's two limits, asked at once", () => {
  it("does not count a request the per-address limit refused against the caller's IP", async () => {
    const app = await createApp({ rateLimits: { resetPerAddress: { limit: 1, windowSeconds: 900 }, resetPerIp: { limit: 2, windowSeconds: 3_600 } } });
    const [a, b] = [unique(), unique()];
    for (const name of [a, b]) await registerKiiUser(app, { loginName: name, emailAddress: `${name}@example.com`, password: "a long password 1" });
    const from = { ...kiiHeaders(app), "CF-Connecting-IP": "198.51.100.77" };
    const reset = (name: string) => call(`/api/apps/${app.appId}/users/LOGIN_NAME:${name}/password/request-reset`, { method: "POST", headers: from }).then((r) => r.status);
    // a: sent, then refused per address three times; the IP has used 1 of its 2 all along.
    expect([await reset(a), await reset(a), await reset(a), await reset(a)]).toEqual([204, 429, 429, 429]);
    // So b still fits under the IP's limit, and the next one does not.
    expect(await reset(b)).toBe(204);
    expect(await reset(b)).toBe(429);
  });

  it("does not count a request the per-IP limit refused against the address", async () => {
    const app = await createApp({ rateLimits: { resetPerAddress: { limit: 2, windowSeconds: 900 }, resetPerIp: { limit: 1, windowSeconds: 3_600 } } });
    const name = unique();
    await registerKiiUser(app, { loginName: name, emailAddress: `${name}@example.com`, password: "a long password 1" });
    const reset = (ip: string) =>
      call(`/api/apps/${app.appId}/users/LOGIN_NAME:${name}/password/request-reset`, { method: "POST", headers: { ...kiiHeaders(app), "CF-Connecting-IP": ip } }).then((r) => r.status);
    expect([await reset("198.51.100.1"), await reset("198.51.100.1"), await reset("198.51.100.1")]).toEqual([204, 429, 429]);
    // The address has seen one message: a second fits, from another IP; a third does not.
    expect(await reset("198.51.100.2")).toBe(204);
    expect(await reset("198.51.100.3")).toBe(429);
  });
});
