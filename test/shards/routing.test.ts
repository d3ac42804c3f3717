// Control database and user-data shards (issue 15): apps live in DB, each app's users and
// everything scoped to them in the shard (USERS_n) the app's row names, and nowhere else. These
// tests look at the rows in each database directly.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Base64url } from "../../src/lib/digest";
import { randomToken } from "../../src/lib/random";
import { userTableNames } from "../../src/storage/shards";
import { ADMIN_TOKEN, adminToken, call, createApp, kiiHeaders, registerKiiUser, shardOf, signIn, type TestApp, userToken } from "../helpers";
import { PASSWORD as KII_PASSWORD, requestReset, unique } from "../kii/password-helpers";
import { expectOk, PASSWORD, rest } from "../zitadel/helpers";

const databases = () => ({ DB: env.DB, USERS_0: env.USERS_0!, USERS_1: env.USERS_1! });
const other = (shard: number) => (shard === 0 ? "USERS_1" : "USERS_0");
const rowsOf = async (db: D1Database, table: string, appId: string) =>
  (await db.prepare(`SELECT count(*) AS n FROM "${table}" WHERE app_id = ?`).bind(appId).first<number>("n"))!;

async function routing(appId: string) {
  const res = await call(`/admin/apps/${appId}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  return ((await res.json()) as { routing: { shard: number; version: number; moving: number | null } }).routing;
}

/** Does something with every user-scoped table of the app: users, tokens, guards, resets, verifications, sessions. */
async function useEverything(app: TestApp): Promise<void> {
  const loginName = unique("routed");
  const { userID } = await registerKiiUser(app, { loginName, emailAddress: `${loginName}@example.com`, phoneNumber: "+819012345678", password: KII_PASSWORD });
  await userToken(app, loginName, KII_PASSWORD); // access_tokens
  expect((await signIn(app, loginName, "wrong password")).status).toBe(400); // sign_in_guards
  expect((await requestReset(app, userID)).status).toBe(204); // password_resets
  const admin = await adminToken(app); // an app admin token: access_tokens, user_id null
  const session = await rest("/sessions", { token: admin, json: { checks: { user: { userId: userID }, password: { password: KII_PASSWORD } } } });
  await expectOk(session); // sessions
  // address_verifications: the phone awaits its code (the app requires phone verification).
}

describe("placement", () => {
  it("puts a new app on the shard holding the fewest apps, and on the one the operator names", async () => {
    const counts = async () => {
      const { results } = await env.DB.prepare("SELECT shard, count(*) AS n FROM apps GROUP BY shard").all<{ shard: number; n: number }>();
      return [0, 1].map((s) => results.find((r) => r.shard === s)?.n ?? 0);
    };
    for (let i = 0; i < 4; i++) {
      const [zero, one] = await counts();
      const app = await createApp();
      expect((await routing(app.appId)).shard).toBe(one! < zero! ? 1 : 0);
    }
    const named = await createApp({}, { shard: 1 });
    expect(await routing(named.appId)).toEqual({ shard: 1, version: 1, moving: null });
  });

  it("refuses a shard this Worker is not bound to, naming the field", async () => {
    const res = await call("/admin/apps", { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { shard: 2 } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request", field: "shard" });
  });

  it("anchors the app in its shard with no credentials; the control database keeps the real row", async () => {
    for (const shard of [0, 1]) {
      const app = await createApp({}, { shard });
      const anchor = await databases()[`USERS_${shard}` as "USERS_0"].prepare("SELECT * FROM apps WHERE id = ?").bind(app.appId).first<Record<string, unknown>>();
      expect(anchor).toMatchObject({ id: app.appId, app_key: "", client_secret_hash: "", client_id: `anchor:${app.appId}`, settings: "{}" });
      expect(await databases()[other(shard)].prepare("SELECT 1 FROM apps WHERE id = ?").bind(app.appId).first()).toBeNull();
      expect(await env.DB.prepare("SELECT app_key, shard FROM apps WHERE id = ?").bind(app.appId).first()).toEqual({ app_key: app.appKey, shard });
    }
  });
});

describe("routing", () => {
  it("every user-scoped row of an app lands in its shard, none in the other shard or the control database", async () => {
    for (const shard of [0, 1]) {
      const app = await createApp({ verification: { email: "trusted", phone: "required" } }, { shard });
      await useEverything(app);
      const home = databases()[`USERS_${shard}` as "USERS_0"];
      for (const table of userTableNames()) {
        expect(await rowsOf(home, table, app.appId), `${table} in USERS_${shard}`).toBeGreaterThan(0);
        expect(await rowsOf(databases()[other(shard)], table, app.appId), `${table} in ${other(shard)}`).toBe(0);
        expect(await rowsOf(env.DB, table, app.appId), `${table} in DB`).toBe(0);
      }
    }
  });

  it("deleting an app deletes its rows in its shard and leaves a fence there", async () => {
    const app = await createApp({ verification: { email: "trusted", phone: "required" } }, { shard: 1 });
    await useEverything(app);
    const res = await call(`/admin/apps/${app.appId}`, { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(204);
    for (const table of userTableNames()) expect(await rowsOf(env.USERS_1!, table, app.appId), table).toBe(0);
    expect(await env.USERS_1!.prepare("SELECT 1 FROM apps WHERE id = ?").bind(app.appId).first()).toBeNull();
    expect(await env.USERS_1!.prepare("SELECT state FROM app_fences WHERE app_id = ?").bind(app.appId).first("state")).toBe("moved");
  });
});

describe("tokens", () => {
  it("name their app ({appId}.{random}); their hash is stored in the app's shard only", async () => {
    for (const shard of [0, 1]) {
      const app = await createApp({}, { shard });
      const loginName = unique("tok");
      await registerKiiUser(app, { loginName, password: KII_PASSWORD });
      const token = await userToken(app, loginName, KII_PASSWORD);
      expect(token.startsWith(`${app.appId}.`)).toBe(true);
      const find = (db: D1Database) => db.prepare("SELECT app_id FROM access_tokens WHERE token_hash = ?").bind(sha256Base64url(token)).first("app_id");
      expect(await find(databases()[`USERS_${shard}` as "USERS_0"])).toBe(app.appId);
      expect(await find(databases()[other(shard)])).toBeNull();
      expect(await find(env.DB)).toBeNull();
      const me = await call(`/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
    }
  });

  it("issued before shards (no app inside) still work: Kii looks in the path's app's shard, ZITADEL in every shard", async () => {
    for (const shard of [0, 1]) {
      const app = await createApp({}, { shard });
      const loginName = unique("legacy");
      const { userID } = await registerKiiUser(app, { loginName, password: KII_PASSWORD });
      const db = await shardOf(app);
      const legacy = async (userId: string | null) => {
        const token = randomToken(32);
        await db.prepare("INSERT INTO access_tokens (token_hash, app_id, user_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
          .bind(sha256Base64url(token), app.appId, userId, Date.now() + 3_600_000, Date.now())
          .run();
        return token;
      };
      const userTokenOld = await legacy(userID);
      const me = await call(`/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${userTokenOld}` } });
      expect(me.status, await me.clone().text()).toBe(200);
      expect(((await me.json()) as { userID: string }).userID).toBe(userID);
      const adminOld = await legacy(null);
      const got = await rest(`/users/${userID}`, { token: adminOld });
      expect(got.status, await got.clone().text()).toBe(200);
    }
  });

  it("naming another app, or no app at all, are refused without looking further", async () => {
    const a = await createApp({}, { shard: 0 });
    const b = await createApp({}, { shard: 1 });
    const loginName = unique("cross");
    await registerKiiUser(a, { loginName, password: KII_PASSWORD });
    const token = await userToken(a, loginName, KII_PASSWORD);
    const elsewhere = await call(`/api/apps/${b.appId}/users/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(elsewhere.status).toBe(401);
    const forged = `${b.appId}.${token.split(".")[1]}`;
    expect((await call(`/api/apps/${b.appId}/users/me`, { headers: { Authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect((await rest("/users/1", { token: `nosuchapp1.${token.split(".")[1]}` })).status).toBe(401);
  });
});

describe("both dialects on two apps on different shards", () => {
  it("a Kii user is read, reset and given a session through ZITADEL, then signs in through Kii, in each app", async () => {
    const apps = [await createApp({}, { shard: 0 }), await createApp({}, { shard: 1 })];
    for (const app of apps) {
      const admin = await adminToken(app);
      const loginName = unique("dialects");
      const { userID } = await registerKiiUser(app, { loginName, emailAddress: `${loginName}@example.com`, password: KII_PASSWORD });
      const got = await expectOk<{ user: { userId: string; state: string } }>(await rest(`/users/${userID}`, { token: admin }));
      expect(got.user).toMatchObject({ userId: userID, state: "USER_STATE_ACTIVE" });
      const reset = await expectOk<{ verificationCode: string }>(await rest(`/users/${userID}/password_reset`, { token: admin, json: { returnCode: {} } }));
      await expectOk(await rest(`/users/${userID}/password`, { token: admin, json: { newPassword: { password: PASSWORD }, verificationCode: reset.verificationCode } }));
      expect((await signIn(app, loginName, KII_PASSWORD)).status).toBe(400);
      const token = await userToken(app, loginName, PASSWORD);
      expect(token.startsWith(`${app.appId}.`)).toBe(true);
      const session = await expectOk<{ sessionId: string; sessionToken: string }>(
        await rest("/sessions", { token: admin, json: { checks: { user: { loginName }, password: { password: PASSWORD } } } }),
      );
      expect(session.sessionToken.startsWith(`${app.appId}.`)).toBe(true);
      await expectOk(await rest(`/sessions/${session.sessionId}?sessionToken=${encodeURIComponent(session.sessionToken)}`, { token: admin }));
    }
  });

  it("one user id in two apps on different shards: both are created, each in its shard", async () => {
    const apps = [await createApp({}, { shard: 0 }), await createApp({}, { shard: 1 })];
    for (const app of apps) {
      const admin = await adminToken(app);
      const res = await rest("/users/human", {
        token: admin,
        json: { userId: "same-id-everywhere", username: unique("same"), profile: { givenName: "A", familyName: "B" }, email: { email: "same@example.com", isVerified: true }, password: { password: PASSWORD } },
      });
      await expectOk(res);
      expect(await (await shardOf(app)).prepare("SELECT count(*) AS n FROM users WHERE app_id = ? AND id = ?").bind(app.appId, "same-id-everywhere").first("n")).toBe(1);
    }
  });

  it("the Kii SDK's anonymous headers reach the app's shard too", async () => {
    const app = await createApp({}, { shard: 1 });
    const res = await call(`/api/apps/${app.appId}/users`, {
      method: "POST",
      headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }),
      json: { loginName: unique("anon"), password: KII_PASSWORD },
    });
    expect(res.status).toBe(201);
    expect(await rowsOf(env.USERS_1!, "users", app.appId)).toBe(1);
  });
});
