// Moving an app to another shard (issue 15): POST /admin/apps/{appId}/move copies its rows,
// switches the routing with a version bump, and refuses the app's writes meanwhile (503 with
// Retry-After in each dialect's shape). Under concurrent traffic nothing is lost: every token,
// session and reset code given out before or during the move works after it.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { coreErrorOf } from "../../src/core/shards";
import { createServices } from "../../src/core/services";
import { userTableNames } from "../../src/storage/shards";
import { ADMIN_TOKEN, adminToken, call, createApp, kiiHeaders, registerKiiUser, signIn, type TestApp } from "../helpers";
import { PASSWORD as KII_PASSWORD, unique } from "../kii/password-helpers";
import { PASSWORD, rest } from "../zitadel/helpers";

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const move = (appId: string, body: Record<string, unknown>) => call(`/admin/apps/${appId}/move`, { method: "POST", headers: admin, json: body });
const rowsOf = async (db: D1Database, table: string, appId: string) =>
  (await db.prepare(`SELECT count(*) AS n FROM "${table}" WHERE app_id = ?`).bind(appId).first<number>("n"))!;

/** Enough users that the copy takes several pages, so that traffic meets the copy. */
async function importUsers(app: TestApp, n: number) {
  const prefix = unique("bulk");
  const body = Array.from({ length: n }, (_, i) => JSON.stringify({ loginName: `${prefix}-${i}`, email: `${prefix}-${i}@example.com`, passwordUnknown: true })).join("\n") + "\n";
  const res = await call(`/admin/apps/${app.appId}/users:import`, { method: "POST", headers: { ...admin, "Content-Type": "application/x-ndjson" }, body });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

interface Refusal {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** Runs `attempt` until it is not refused by the move (503); every refusal is kept to check its shape. */
async function untilServed(attempt: () => Promise<Response>, refusals: Refusal[]): Promise<Response> {
  for (let i = 0; i < 200; i++) {
    const res = await attempt();
    if (res.status !== 503) return res;
    refusals.push({ status: res.status, retryAfter: res.headers.get("Retry-After"), body: (await res.json()) as Record<string, unknown> });
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("still refused after 200 attempts");
}

describe("POST /admin/apps/{appId}/move", () => {
  it("under concurrent traffic loses no token, session, reset code or user, and refuses writes meanwhile in each dialect's shape", async () => {
    const app = await createApp({}, { shard: 0 });
    const appAdmin = await adminToken(app);
    await importUsers(app, 600);

    // Before the move: users with a token, a session and a pending reset code each.
    const users: { userID: string; loginName: string; token: string; code?: string; session?: { id: string; token: string } }[] = [];
    for (let i = 0; i < 4; i++) {
      const loginName = unique("mover");
      const { userID } = await registerKiiUser(app, { loginName, emailAddress: `${loginName}@example.com`, password: KII_PASSWORD });
      const signedIn = await signIn(app, loginName, KII_PASSWORD);
      users.push({ userID, loginName, token: ((await signedIn.json()) as { access_token: string }).access_token });
    }
    for (const user of users.slice(0, 2)) {
      const reset = await rest(`/users/${user.userID}/password_reset`, { token: appAdmin, json: { returnCode: {} } });
      user.code = ((await reset.json()) as { verificationCode: string }).verificationCode;
    }
    for (const user of users.slice(2)) {
      const created = await rest("/sessions", { token: appAdmin, json: { checks: { user: { userId: user.userID } } } });
      const body = (await created.json()) as { sessionId: string; sessionToken: string };
      user.session = { id: body.sessionId, token: body.sessionToken };
    }
    const internalIds = (await env.USERS_0!.prepare("SELECT id, internal_id FROM users WHERE app_id = ? ORDER BY id").bind(app.appId).all<{ id: string; internal_id: number }>()).results;

    // During the move: Kii registrations and sign-ins, ZITADEL reset codes and sessions, until it ends.
    const kiiRefusals: Refusal[] = [];
    const zitadelRefusals: Refusal[] = [];
    const registered: string[] = [];
    const tokens: string[] = [];
    const codes = new Map<string, string>();
    const sessions: { id: string; token: string }[] = [];
    let moving = true;
    const traffic = async (lane: number) => {
      for (let i = 0; moving || i < 2; i++) {
        const user = users[(lane + i) % users.length]!;
        const loginName = unique(`during${lane}x`);
        const reg = await untilServed(
          () =>
            call(`/api/apps/${app.appId}/users`, {
              method: "POST",
              headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }),
              json: { loginName, password: KII_PASSWORD },
            }),
          kiiRefusals,
        );
        expect(reg.status, await reg.clone().text()).toBe(201);
        registered.push(((await reg.json()) as { userID: string }).userID);
        if (lane === 0) {
          const signed = await untilServed(() => signIn(app, loginName, KII_PASSWORD), kiiRefusals);
          expect(signed.status).toBe(200);
          tokens.push(((await signed.json()) as { access_token: string }).access_token);
        }
        if (lane === 1 && user.code === undefined && !user.session) {
          const reset = await untilServed(() => rest(`/users/${user.userID}/password_reset`, { token: appAdmin, json: { returnCode: {} } }), zitadelRefusals);
          expect(reset.status).toBe(200);
          codes.set(user.userID, ((await reset.json()) as { verificationCode: string }).verificationCode);
        }
        if (lane === 2) {
          const created = await untilServed(() => rest("/sessions", { token: appAdmin, json: { checks: { user: { userId: user.userID } } } }), zitadelRefusals);
          expect(created.status).toBe(200);
          const body = (await created.json()) as { sessionId: string; sessionToken: string };
          sessions.push({ id: body.sessionId, token: body.sessionToken });
        }
      }
    };
    const lanes = [0, 1, 2].map(traffic);
    const moved = await move(app.appId, { shard: 1, settleSeconds: 0 });
    moving = false;
    await Promise.all(lanes);
    const result = (await moved.json()) as { from: number; to: number; routingVersion: number; copied: Record<string, number>; renumbered: number; purged: number };
    expect(moved.status, JSON.stringify(result)).toBe(200);
    expect(result).toMatchObject({ from: 0, to: 1, routingVersion: 2, renumbered: 0 });
    expect(result.copied.users).toBeGreaterThanOrEqual(604);

    // The refusals: 503, Retry-After, each dialect's error shape.
    expect(kiiRefusals.length + zitadelRefusals.length).toBeGreaterThan(0);
    for (const r of kiiRefusals) expect(r).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), body: { errorCode: "SERVICE_UNAVAILABLE" } });
    for (const r of zitadelRefusals) expect(r).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), body: { code: 14 } });

    // Routing switched; the source holds nothing of the app but its fence; the target holds it all.
    const routing = await call(`/admin/apps/${app.appId}`, { headers: admin });
    expect(((await routing.json()) as { routing: unknown }).routing).toEqual({ shard: 1, version: 2, moving: null });
    for (const table of userTableNames()) expect(await rowsOf(env.USERS_0!, table, app.appId), `USERS_0 ${table}`).toBe(0);
    expect(await env.USERS_0!.prepare("SELECT state FROM app_fences WHERE app_id = ?").bind(app.appId).first("state")).toBe("moved");
    expect(await rowsOf(env.USERS_1!, "users", app.appId)).toBe(604 + registered.length);
    // Kii's internalUserID survives the move.
    const after = (await env.USERS_1!.prepare("SELECT id, internal_id FROM users WHERE app_id = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id").bind(app.appId, JSON.stringify(internalIds.map((r) => r.id))).all<{ id: string; internal_id: number }>()).results;
    expect(after).toEqual(internalIds);

    // Nothing was lost: tokens, sessions, users and reset codes from before and during the move work.
    for (const token of [...users.map((u) => u.token), ...tokens]) {
      expect((await call(`/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    }
    for (const s of [...users.flatMap((u) => (u.session ? [u.session] : [])), ...sessions]) {
      expect((await rest(`/sessions/${s.id}?sessionToken=${encodeURIComponent(s.token)}`, { token: appAdmin })).status).toBe(200);
    }
    for (const id of registered) expect((await rest(`/users/${id}`, { token: appAdmin })).status).toBe(200);
    const pending = new Map([...users.flatMap((u) => (u.code ? [[u.userID, u.code] as const] : [])), ...codes]);
    expect(pending.size).toBeGreaterThanOrEqual(2);
    for (const [userId, code] of pending) {
      const set = await rest(`/users/${userId}/password`, { token: appAdmin, json: { newPassword: { password: PASSWORD }, verificationCode: code } });
      expect(set.status, await set.clone().text()).toBe(200);
    }
  });

  it("a write by a request that read the routing before the move is refused, not lost", async () => {
    const app = await createApp({}, { shard: 1 });
    const loginName = unique("stale");
    const { userID } = await registerKiiUser(app, { loginName, password: KII_PASSWORD });
    const svc = createServices(env);
    const before = (await svc.apps.get(app.appId))!;
    expect((await move(app.appId, { shard: 0, settleSeconds: 0 })).status).toBe(200);
    const write = svc.shard(before).guards.reserve(app.appId, userID, { maxAttempts: 5, decayMs: 60_000 }, Date.now());
    const error = await write.then(() => null, (e: unknown) => e);
    expect(coreErrorOf(error)).toMatchObject({ kind: "unavailable", details: { retryAfterSeconds: expect.any(Number) } });
    expect(await env.USERS_1!.prepare("SELECT count(*) AS n FROM sign_in_guards WHERE app_id = ?").bind(app.appId).first("n")).toBe(0);
    // A token resolved through the old routing finds the fence and asks the primary: it still works.
    const token = (await (await signIn(app, loginName, KII_PASSWORD)).json()) as { access_token: string };
    expect((await call(`/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${token.access_token}` } })).status).toBe(200);
  });

  it("moves back and forth, keeping users; refuses an unknown shard and the shard the app is on", async () => {
    const app = await createApp({}, { shard: 0 });
    const loginName = unique("roundtrip");
    await registerKiiUser(app, { loginName, password: KII_PASSWORD });
    expect((await move(app.appId, { shard: 1, settleSeconds: 0 })).status).toBe(200);
    const back = await move(app.appId, { shard: 0, settleSeconds: 0 });
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ from: 1, to: 0, routingVersion: 3 });
    expect((await signIn(app, loginName, KII_PASSWORD)).status).toBe(200);
    expect(await rowsOf(env.USERS_1!, "users", app.appId)).toBe(0);
    expect(await rowsOf(env.USERS_0!, "users", app.appId)).toBe(1);

    const same = await move(app.appId, { shard: 0 });
    expect(same.status).toBe(409);
    expect(await same.json()).toMatchObject({ error: "conflict", field: "shard" });
    const unknown = await move(app.appId, { shard: 9 });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: "invalid_request", field: "shard" });
    expect((await move("nosuchapp1", { shard: 1 })).status).toBe(404);
  });
});
