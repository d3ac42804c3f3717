// An install from before shards, upgraded in place (docs/upgrading.md): USERS_0 is bound to the
// same database as DB, so the control database is also shard 0. Apps and users there keep
// working with nothing copied, tokens from before shards still resolve, an app moves out to
// USERS_1 and back, and deleting or moving never touches the app's real row (only anchors).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app as worker } from "../../src/app";
import { sha256Base64url } from "../../src/lib/digest";
import { randomToken } from "../../src/lib/random";
import { ADMIN_TOKEN, ORIGIN } from "../helpers";

/** The Worker as an upgraded one-database install sees it: USERS_0 is DB. */
const upgraded = () => ({ ...env, USERS_0: env.DB });

async function fetchApp(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(ORIGIN + path, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body }), upgraded(), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const adminHeaders = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "correct horse battery";

async function newApp(shard: number) {
  const res = await fetchApp("/admin/apps", { method: "POST", headers: adminHeaders, json: { shard, settings: { verification: { email: "trusted", phone: "trusted" } } } });
  expect(res.status).toBe(201);
  return (await res.json()) as { appId: string; appKey: string; clientId: string; clientSecret: string };
}

const kii = (app: { appId: string; appKey: string }) => ({ "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey });

async function register(app: { appId: string; appKey: string }, loginName: string) {
  const res = await fetchApp(`/api/apps/${app.appId}/users`, { method: "POST", headers: kii(app), json: { loginName, password: PASSWORD } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { userID: string }).userID;
}

const signIn = (app: { appId: string; appKey: string }, username: string) => fetchApp("/api/oauth2/token", { method: "POST", headers: kii(app), json: { username, password: PASSWORD } });

describe("USERS_0 bound to the control database (an upgraded one-database install)", () => {
  it("keeps users with their app's row, writes no anchor, and resolves tokens from before shards", async () => {
    const app = await newApp(0);
    const userID = await register(app, "upgraded-user");
    // One apps row (the real one: no anchor beside it), and the user in the same database.
    expect(await env.DB.prepare("SELECT client_id FROM apps WHERE id = ?").bind(app.appId).all()).toMatchObject({ results: [{ client_id: app.clientId }] });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(1);
    expect(await env.USERS_0!.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(0);

    // A token issued before shards: the random part alone, its hash in the one database.
    const old = randomToken(32);
    await env.DB.prepare("INSERT INTO access_tokens (token_hash, app_id, user_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(sha256Base64url(old), app.appId, userID, Date.now() + 3_600_000, Date.now())
      .run();
    expect((await fetchApp(`/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${old}` } })).status).toBe(200);
    const adminOld = randomToken(32);
    await env.DB.prepare("INSERT INTO access_tokens (token_hash, app_id, user_id, expires_at, created_at) VALUES (?, ?, NULL, ?, ?)")
      .bind(sha256Base64url(adminOld), app.appId, Date.now() + 3_600_000, Date.now())
      .run();
    expect((await fetchApp(`/v2/users/${userID}`, { headers: { Authorization: `Bearer ${adminOld}` } })).status).toBe(200);
  });

  it("moves an app out to USERS_1 and back without touching its real row, and old tokens follow it", async () => {
    const app = await newApp(0);
    const userID = await register(app, "traveller");
    const old = randomToken(32);
    await env.DB.prepare("INSERT INTO access_tokens (token_hash, app_id, user_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(sha256Base64url(old), app.appId, userID, Date.now() + 3_600_000, Date.now())
      .run();

    const out = await fetchApp(`/admin/apps/${app.appId}/move`, { method: "POST", headers: adminHeaders, json: { shard: 1, settleSeconds: 0 } });
    expect(out.status, await out.clone().text()).toBe(200);
    expect(await env.DB.prepare("SELECT app_key, shard FROM apps WHERE id = ?").bind(app.appId).first()).toEqual({ app_key: app.appKey, shard: 1 });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(0);
    expect(await env.USERS_1!.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(1);
    expect((await signIn(app, "traveller")).status).toBe(200);
    expect((await fetchApp(`/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${old}` } })).status).toBe(200);

    const back = await fetchApp(`/admin/apps/${app.appId}/move`, { method: "POST", headers: adminHeaders, json: { shard: 0, settleSeconds: 0 } });
    expect(back.status, await back.clone().text()).toBe(200);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM apps WHERE id = ?").bind(app.appId).first("n")).toBe(1);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(1);
    expect((await signIn(app, "traveller")).status).toBe(200);
    expect((await fetchApp(`/v2/users/${userID}`, { headers: { Authorization: `Bearer ${await adminToken(app)}` } })).status).toBe(200);
  });

  it("refuses to move an app between two bindings of one database", async () => {
    const app = await newApp(0);
    await register(app, "stay-put");
    // USERS_1 bound to the control database too: the move sees its own fence there.
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${ORIGIN}/admin/apps/${app.appId}/move`, { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/json" }, body: JSON.stringify({ shard: 1, settleSeconds: 0 }) }),
      { ...env, USERS_0: env.DB, USERS_1: env.DB },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/same database/);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM app_fences WHERE app_id = ?").bind(app.appId).first("n")).toBe(0);
    expect((await signIn(app, "stay-put")).status).toBe(200);
  });

  it("deletes an app's users and keeps no row of it, real or anchor", async () => {
    const app = await newApp(0);
    await register(app, "leaving");
    expect((await fetchApp(`/admin/apps/${app.appId}`, { method: "DELETE", headers: adminHeaders })).status).toBe(204);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM apps WHERE id = ?").bind(app.appId).first("n")).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(0);
  });
});

async function adminToken(app: { appId: string; appKey: string; clientId: string; clientSecret: string }) {
  const res = await fetchApp("/api/oauth2/token", { method: "POST", headers: kii(app), json: { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret } });
  return ((await res.json()) as { access_token: string }).access_token;
}
