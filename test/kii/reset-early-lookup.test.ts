// Kii's request-reset starts the user's look-up beside the app's (core/identity.lookUpEarly). The
// early result counts only for the app and reference it was started for, and the route's errors
// keep their order: the app's checks come before a malformed identifier.
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
