// A database whose schema is behind the code is refused (issue 15): /healthz names it with what to
// run, and every request for an app on it answers 503 with Retry-After in its dialect's shape,
// while apps on other shards go on. Requests go through the app module itself, so that the schema
// checks it caches are the ones this file forgets.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { app as worker } from "../../src/app";
import { forgetSchemaChecks } from "../../src/core/shards";
import { ADMIN_TOKEN, ORIGIN } from "../helpers";

async function fetchApp(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(ORIGIN + path, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function newApp(shard: number) {
  const res = await fetchApp("/admin/apps", { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { shard, settings: { verification: { email: "trusted", phone: "trusted" } } } });
  expect(res.status).toBe(201);
  const app = (await res.json()) as { appId: string; appKey: string; clientId: string; clientSecret: string };
  const token = await fetchApp("/api/oauth2/token", {
    method: "POST",
    headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
    json: { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret },
  });
  return { ...app, admin: ((await token.json()) as { access_token: string }).access_token };
}

const register = (app: { appId: string; appKey: string }, loginName: string) =>
  fetchApp(`/api/apps/${app.appId}/users`, { method: "POST", headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey }, json: { loginName, password: "correct horse battery" } });

const SHARDS_MIGRATION = "0008_shards.sql";
const setBehind = (db: D1Database) => db.prepare("DELETE FROM d1_migrations WHERE name = ?").bind(SHARDS_MIGRATION).run();
const setCurrent = (db: D1Database) =>
  db.prepare("INSERT INTO d1_migrations (name, applied_at) SELECT ?, CURRENT_TIMESTAMP WHERE NOT EXISTS (SELECT 1 FROM d1_migrations WHERE name = ?)").bind(SHARDS_MIGRATION, SHARDS_MIGRATION).run();

afterEach(async () => {
  await Promise.all([env.DB, env.USERS_0!, env.USERS_1!].map(setCurrent));
  forgetSchemaChecks();
});

describe("a shard whose schema is behind", () => {
  it("is named by /healthz with the missing migration and the command to run", async () => {
    const healthy = await fetchApp("/healthz");
    expect(healthy.status).toBe(200);
    expect(((await healthy.json()) as { shards: Record<string, { result: string }> }).shards).toEqual({
      USERS_0: { result: "ok", ms: expect.any(Number) },
      USERS_1: { result: "ok", ms: expect.any(Number) },
    });
    await setBehind(env.USERS_1!);
    const res = await fetchApp("/healthz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: Record<string, { result: string }>; shards: Record<string, { result: string; message?: string }> };
    expect(body.status).toBe("fail");
    expect(body.checks.d1!.result).toBe("ok");
    expect(body.shards.USERS_0!.result).toBe("ok");
    expect(body.shards.USERS_1).toEqual({ result: "behind", ms: expect.any(Number), message: `USERS_1's schema is behind this Worker (missing ${SHARDS_MIGRATION}): run npm run migrate -- --remote` });
  });

  it("answers 503 with Retry-After for its apps, in each dialect's shape, while other shards' apps go on", async () => {
    const [onZero, onOne] = [await newApp(0), await newApp(1)];
    await setBehind(env.USERS_1!);
    forgetSchemaChecks();

    const kii = await register(onOne, "behind-user");
    expect(kii.status).toBe(503);
    expect(kii.headers.get("Content-Type")).toBe("application/vnd.kii.ServiceUnavailableException+json");
    expect(kii.headers.get("Retry-After")).toMatch(/^\d+$/);
    const kiiBody = (await kii.json()) as { errorCode: string; message: string };
    expect(kiiBody.errorCode).toBe("SERVICE_UNAVAILABLE");
    expect(kiiBody.message).toContain("USERS_1");

    const zitadel = await fetchApp("/v2/users/123", { headers: { Authorization: `Bearer ${onOne.admin}` } });
    expect(zitadel.status).toBe(503);
    expect(zitadel.headers.get("Retry-After")).toMatch(/^\d+$/);
    const zBody = (await zitadel.json()) as { code: number; details: { id: string }[] };
    expect(zBody.code).toBe(14);
    expect(zBody.details[0]!.id).toBe("LATCHKEY-UNAVAILABLE");

    const connect = await fetchApp("/zitadel.user.v2.UserService/GetUserByID", { method: "POST", headers: { Authorization: `Bearer ${onOne.admin}` }, json: { userId: "123" } });
    expect(connect.status).toBe(503);
    expect(((await connect.json()) as { code: string }).code).toBe("unavailable");

    const page = await fetchApp(`/reset/${onOne.appId}/123/abcdefghijklmnopqrstuv`);
    expect(page.status).toBe(503);

    expect((await register(onZero, "still-fine")).status).toBe(201);

    await setCurrent(env.USERS_1!);
    forgetSchemaChecks();
    expect((await register(onOne, "after-migrate")).status).toBe(201);
  });

  it("is the control database: /healthz says so, and every app answers 503", async () => {
    const app = await newApp(0);
    await setBehind(env.DB);
    forgetSchemaChecks();
    const health = await fetchApp("/healthz");
    expect(health.status).toBe(503);
    expect(((await health.json()) as { checks: Record<string, { result: string; message?: string }> }).checks.d1).toMatchObject({ result: "behind", message: expect.stringContaining("DB's schema is behind") });
    expect((await register(app, "control-behind")).status).toBe(503);
  });
});
