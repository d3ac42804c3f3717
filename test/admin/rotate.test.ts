// POST /admin/apps/{appId}/rotate: a new app key and client secret; the old pair keeps working
// for the grace period the operator chose, and not after it.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createApp, type TestApp } from "../helpers";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function rotate(app: TestApp, body: unknown = {}) {
  const res = await call(`/admin/apps/${app.appId}/rotate`, { method: "POST", headers: auth, json: body });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { appId: string; appKey: string; clientSecret: string; previousValidUntil: string };
}

/** A Kii call that needs only the app's credentials: the status says whether the key was taken. */
const withKey = (app: TestApp, appKey: string) =>
  call(`/api/apps/${app.appId}/users/LOGIN_NAME:nobody/password/request-reset`, { method: "POST", headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": appKey } });

const adminTokenStatus = async (app: TestApp, clientSecret: string) =>
  (
    await call("/api/oauth2/token", {
      method: "POST",
      headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
      json: { grant_type: "client_credentials", client_id: app.clientId, client_secret: clientSecret },
    })
  ).status;

describe("credential rotation", () => {
  it("issues a new key and secret and keeps the old ones during the grace period", async () => {
    const app = await createApp();
    const rotated = await rotate(app, { graceSeconds: 3600 });
    expect(rotated.appKey).not.toBe(app.appKey);
    expect(rotated.clientSecret).not.toBe(app.clientSecret);
    expect(Date.parse(rotated.previousValidUntil)).toBeGreaterThan(Date.now() + 3_500_000);
    // Unknown user (404) means the app was identified; a refused key is 401.
    expect((await withKey(app, rotated.appKey)).status).toBe(404);
    expect((await withKey(app, app.appKey)).status).toBe(404);
    expect(await adminTokenStatus({ ...app, appKey: rotated.appKey }, rotated.clientSecret)).toBe(200);
    expect(await adminTokenStatus(app, app.clientSecret)).toBe(200);
  });

  it("ends the old key and secret at once with graceSeconds 0", async () => {
    const app = await createApp();
    const rotated = await rotate(app, { graceSeconds: 0 });
    expect((await withKey(app, app.appKey)).status).toBe(401);
    expect((await withKey(app, rotated.appKey)).status).toBe(404);
    expect(await adminTokenStatus({ ...app, appKey: rotated.appKey }, app.clientSecret)).toBe(401);
    expect(await adminTokenStatus({ ...app, appKey: rotated.appKey }, rotated.clientSecret)).toBe(200);
  });

  it("a second rotation ends the first one's grace", async () => {
    const app = await createApp();
    const first = await rotate(app);
    const second = await rotate(app, { graceSeconds: 600 });
    expect((await withKey(app, app.appKey)).status).toBe(401);
    expect((await withKey(app, first.appKey)).status).toBe(404);
    expect((await withKey(app, second.appKey)).status).toBe(404);
  });

  it("refuses a grace period over 30 days, and needs the admin token", async () => {
    const app = await createApp();
    const res = await call(`/admin/apps/${app.appId}/rotate`, { method: "POST", headers: auth, json: { graceSeconds: 31 * 86_400 } });
    expect(res.status).toBe(400);
    expect((await call(`/admin/apps/${app.appId}/rotate`, { method: "POST", json: {} })).status).toBe(401);
  });
});
