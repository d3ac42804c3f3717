// POST /api/oauth2/token and /api/apps/{appID}/oauth2/token (SPEC §3, §9): sign-in, app admin
// tokens, token expiry and the rehash of old password hashes.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Base64url } from "../../src/lib/digest";
import { PasswordHasher } from "../../src/core/passwords";
import { createServices } from "../../src/core/services";
import { authenticate, issueUserToken, signIn as coreSignIn } from "../../src/core/users";
import { adminToken, call, createApp, expectKiiError, kiiHeaders, registerKiiUser, signIn, type TestApp, userToken, everyShard } from "../helpers";

const PASSWORD = "correct horse";

interface TokenBody {
  id: string;
  access_token: string;
  expires_in: number;
  token_type: string;
}

const tokenRequest = (app: TestApp, json: unknown, path = "/api/oauth2/token", headers: Record<string, string> = kiiHeaders(app)) =>
  call(path, { method: "POST", headers, json });

const me = (app: TestApp, token: string) => call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });

const userRow = (id: string) => everyShard.prepare("SELECT * FROM users WHERE id = ?").bind(id).first<Record<string, unknown>>();
const tokenCount = async () => (await everyShard.prepare("SELECT COUNT(*) AS n FROM access_tokens").first<{ n: number }>())!.n;

async function expectToken(res: Response, id: string): Promise<TokenBody> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as TokenBody;
  expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "id", "token_type"]);
  expect(body.id).toBe(id);
  expect(body.token_type).toBe("bearer");
  // {appId}.{256 random bits as base64url}: the app names the shard that holds the token.
  expect(body.access_token).toMatch(/^[a-z0-9]{8,64}\.[A-Za-z0-9_-]{43}$/);
  return body;
}

/** A wrong sign-in: 400 invalid_grant in OAuth's shape, and no token issued. */
async function expectInvalidGrant(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ errorCode: "invalid_grant", error: "invalid_grant" });
  expect(typeof body.error_description).toBe("string");
  return body;
}

async function newUser(app: TestApp, fields: Record<string, unknown> = {}) {
  return registerKiiUser(app, { loginName: "alice", emailAddress: "Alice.Smith@example.com", phoneNumber: "+819012345678", password: PASSWORD, ...fields });
}

let sharedUser: Promise<{ app: TestApp; userID: string }> | undefined;
/** One app with alice, for tests that do not change her. */
const shared = () =>
  (sharedUser ??= (async () => {
    const app = await createApp();
    return { app, userID: (await newUser(app)).userID };
  })());

describe("password sign-in", () => {
  it("answers 200 {id, access_token, expires_in, token_type: bearer} and the token works", async () => {
    const { app, userID } = await shared();
    const body = await expectToken(await signIn(app, "alice", PASSWORD), userID);
    expect(body.expires_in).toBeGreaterThan(30 * 86_400 - 60);
    expect(body.expires_in).toBeLessThanOrEqual(30 * 86_400);
    expect((await me(app, body.access_token)).status).toBe(200);
  });

  it("is served under /api/apps/{appID}/oauth2/token too", async () => {
    const { app, userID } = await shared();
    const body = await expectToken(await tokenRequest(app, { username: "alice", password: PASSWORD }, `/api/apps/${app.appId}/oauth2/token`), userID);
    expect((await me(app, body.access_token)).status).toBe(200);
  });

  it.each([
    ["the login name", "alice"],
    ["the login name in another case", "ALICE"],
    ["the email address", "Alice.Smith@example.com"],
    ["the email address in another case", "alice.smith@EXAMPLE.com"],
    ["the phone number", "+819012345678"],
    ["EMAIL:address", "EMAIL:Alice.Smith@example.com"],
    ["PHONE:+number", "PHONE:+819012345678"],
    ["LOGIN_NAME:name", "LOGIN_NAME:alice"],
  ])("accepts %s as username", async (_, username) => {
    const { app, userID } = await shared();
    await expectToken(await signIn(app, username, PASSWORD), userID);
  });

  it("accepts an explicit grant_type password", async () => {
    const { app, userID } = await shared();
    await expectToken(await tokenRequest(app, { grant_type: "password", username: "alice", password: PASSWORD }), userID);
  });

  it("identifies the app by Basic appID:appKey", async () => {
    const { app, userID } = await shared();
    const headers = { Authorization: `Basic ${btoa(`${app.appId}:${app.appKey}`)}` };
    await expectToken(await tokenRequest(app, { username: "alice", password: PASSWORD }, "/api/oauth2/token", headers), userID);
  });

  it("ignores a disable_cache query parameter", async () => {
    const { app, userID } = await shared();
    await expectToken(await tokenRequest(app, { username: "alice", password: PASSWORD }, "/api/oauth2/token?disable_cache=12345"), userID);
  });

  it("compares passwords after NFKC", async () => {
    const app = await createApp();
    const { userID } = await newUser(app, { password: "ｐａｓｓｗｏｒｄ１２" });
    await expectToken(await signIn(app, "alice", "password12"), userID);
  });

  it("issues a new token on every sign-in", async () => {
    const { app } = await shared();
    const a = await userToken(app, "alice", PASSWORD);
    const b = await userToken(app, "alice", PASSWORD);
    expect(a).not.toBe(b);
    expect((await me(app, a)).status).toBe(200);
    expect((await me(app, b)).status).toBe(200);
  });

  it("stores only the token's hash", async () => {
    const app = await createApp();
    const { userID } = await newUser(app);
    const token = await userToken(app, "alice", PASSWORD);
    const rows = await everyShard.prepare("SELECT * FROM access_tokens WHERE user_id = ?").bind(userID).all<Record<string, unknown>>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.token_hash).toBe(sha256Base64url(token));
    expect(JSON.stringify(rows.results)).not.toContain(token);
  });
});

describe("expiresAt", () => {
  it("is honoured: expires_in reflects it", async () => {
    const { app, userID } = await shared();
    const body = await expectToken(await tokenRequest(app, { username: "alice", password: PASSWORD, expiresAt: Date.now() + 3_600_000 }), userID);
    expect(body.expires_in).toBeGreaterThan(3_500);
    expect(body.expires_in).toBeLessThanOrEqual(3_600);
  });

  it("is capped at the app's access token lifetime", async () => {
    const app = await createApp({ accessTokenLifetimeSeconds: 600 });
    const { userID } = await newUser(app);
    const body = await expectToken(await tokenRequest(app, { username: "alice", password: PASSWORD, expiresAt: Date.now() + 86_400_000 }), userID);
    expect(body.expires_in).toBeGreaterThan(500);
    expect(body.expires_in).toBeLessThanOrEqual(600);
  });

  it("in the past is refused with INVALID_INPUT_DATA and issues no token", async () => {
    const { app } = await shared();
    const before = await tokenCount();
    const body = await expectKiiError(
      await tokenRequest(app, { username: "alice", password: PASSWORD, expiresAt: Date.now() - 1000 }),
      400,
      "INVALID_INPUT_DATA",
      "ValidationException",
    );
    expect(body.field).toBe("expiresAt");
    expect(await tokenCount()).toBe(before);
  });

  it("is stored with the token, and a token past it is refused", async () => {
    const { app, userID } = await shared();
    const expiresAt = Date.now() + 3_600_000;
    const { access_token } = await expectToken(await tokenRequest(app, { username: "alice", password: PASSWORD, expiresAt }), userID);
    const row = await everyShard.prepare("SELECT expires_at FROM access_tokens WHERE token_hash = ?").bind(sha256Base64url(access_token)).first<{ expires_at: number }>();
    expect(row!.expires_at).toBe(expiresAt);
    expect((await me(app, access_token)).status).toBe(200);

    await everyShard.prepare("UPDATE access_tokens SET expires_at = ? WHERE token_hash = ?").bind(Date.now() - 1, sha256Base64url(access_token)).run();
    await expectKiiError(await me(app, access_token), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });
});

describe("wrong credentials", () => {
  it("400 invalid_grant for a wrong password and for an unknown user, with the same body", async () => {
    const { app } = await shared();
    const before = await tokenCount();
    const wrongPassword = await expectInvalidGrant(await signIn(app, "alice", "wrong horse"));
    const unknownUser = await expectInvalidGrant(await signIn(app, "nobody", PASSWORD));
    const unknownEmail = await expectInvalidGrant(await signIn(app, "nobody@example.com", PASSWORD));
    expect(unknownUser).toEqual(wrongPassword);
    expect(unknownEmail).toEqual(wrongPassword);
    expect(await tokenCount()).toBe(before);
  });

  it("400 invalid_grant for a long password that differs only in its last character", async () => {
    const app = await createApp();
    const long = "p".repeat(100);
    await newUser(app, { password: long + "1" });
    await expectInvalidGrant(await signIn(app, "alice", long + "2"));
  });

  it("400 invalid_grant for a user of another app", async () => {
    const app = await createApp();
    const other = await createApp();
    await newUser(other);
    await expectInvalidGrant(await signIn(app, "alice", PASSWORD));
  });

  it("400 invalid_grant for sign-in by an email address that is not verified", async () => {
    const app = await createApp({ trustRegisteredAddresses: false });
    await newUser(app);
    await expectInvalidGrant(await signIn(app, "Alice.Smith@example.com", PASSWORD));
    await expectInvalidGrant(await signIn(app, "+819012345678", PASSWORD));
    expect((await signIn(app, "alice", PASSWORD)).status).toBe(200);
  });

  it("400 invalid_request when username or password is missing", async () => {
    const { app } = await shared();
    for (const json of [{ username: "alice" }, { password: PASSWORD }, {}]) {
      const res = await tokenRequest(app, json);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ errorCode: "invalid_request", error: "invalid_request", error_description: expect.any(String) });
    }
  });

  it("400 unsupported_grant_type for a grant type other than password and client_credentials", async () => {
    const { app } = await shared();
    const res = await tokenRequest(app, { grant_type: "refresh_token", refresh_token: "x", username: "alice", password: PASSWORD });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errorCode: "unsupported_grant_type", error: "unsupported_grant_type", error_description: expect.any(String) });
  });
});

describe("disabled users", () => {
  it("401 USER_DISABLED on sign-in with the right password", async () => {
    const app = await createApp();
    const { userID } = await newUser(app);
    await everyShard.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(userID).run();
    const before = await tokenCount();
    for (const path of ["/api/oauth2/token", `/api/apps/${app.appId}/oauth2/token`]) {
      const body = await expectKiiError(await tokenRequest(app, { username: "alice", password: PASSWORD }, path), 401, "USER_DISABLED", "UserDisabledException");
      expect(body).toMatchObject({ UserID: userID, appID: app.appId });
    }
    expect(await tokenCount()).toBe(before);
  });

  it("400 invalid_grant with a wrong password (disabled is not revealed without the password)", async () => {
    const app = await createApp();
    const { userID } = await newUser(app);
    await everyShard.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(userID).run();
    await expectInvalidGrant(await signIn(app, "alice", "wrong horse"));
  });
});

describe("app identification", () => {
  it("404 APP_NOT_FOUND for an unknown app", async () => {
    const app = await createApp();
    const headers = { "X-Kii-AppID": "nosuchapp1", "X-Kii-AppKey": app.appKey };
    await expectKiiError(await tokenRequest(app, { username: "alice", password: PASSWORD }, "/api/oauth2/token", headers), 404, "APP_NOT_FOUND", "AppNotFoundException");
    await expectKiiError(await tokenRequest(app, { username: "alice", password: PASSWORD }, "/api/apps/nosuchapp1/oauth2/token", headers), 404, "APP_NOT_FOUND", "AppNotFoundException");
  });

  it("401 UNAUTHORIZED for a wrong app key", async () => {
    const { app } = await shared();
    const headers = { "X-Kii-AppID": app.appId, "X-Kii-AppKey": "f".repeat(32) };
    await expectKiiError(await tokenRequest(app, { username: "alice", password: PASSWORD }, "/api/oauth2/token", headers), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });

  it("401 UNAUTHORIZED when no app is named", async () => {
    const app = await createApp();
    await expectKiiError(await tokenRequest(app, { username: "alice", password: PASSWORD }, "/api/oauth2/token", {}), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });
});

describe("client_credentials (app admin token)", () => {
  it("issues an admin token: 200 {id: clientId, access_token, expires_in, token_type}", async () => {
    const app = await createApp();
    const body = await expectToken(
      await tokenRequest(app, { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret }),
      app.clientId,
    );
    expect(body.expires_in).toBeGreaterThan(86_400 - 60);
    expect(body.expires_in).toBeLessThanOrEqual(86_400);
    const row = await everyShard.prepare("SELECT user_id FROM access_tokens WHERE token_hash = ?").bind(sha256Base64url(body.access_token)).first<{ user_id: string | null }>();
    expect(row).toEqual({ user_id: null });
  });

  it("takes client_id/client_secret without grant_type, on the app's path too", async () => {
    const app = await createApp();
    await expectToken(
      await tokenRequest(app, { client_id: app.clientId, client_secret: app.clientSecret }, `/api/apps/${app.appId}/oauth2/token`),
      app.clientId,
    );
  });

  it("gives a token that reads any user of the app in full", async () => {
    const { app, userID } = await shared();
    const token = await adminToken(app);
    const res = await call(`/api/apps/${app.appId}/users/${userID}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userID, emailAddress: "Alice.Smith@example.com" });
  });

  it.each([
    ["a wrong secret", (app: TestApp) => ({ client_id: app.clientId, client_secret: "wrong-secret" })],
    ["a wrong client id", (app: TestApp) => ({ client_id: "0".repeat(32), client_secret: app.clientSecret })],
    ["another app's credentials", (_: TestApp, other: TestApp) => ({ client_id: other.clientId, client_secret: other.clientSecret })],
  ])("401 invalid_client for %s, issuing nothing", async (_, credentials) => {
    const app = await createApp();
    const other = await createApp();
    const before = await tokenCount();
    const res = await tokenRequest(app, { grant_type: "client_credentials", ...credentials(app, other) });
    expect(res.status).toBe(401);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ errorCode: "invalid_client", error: "invalid_client", error_description: expect.any(String) });
    expect(await tokenCount()).toBe(before);
  });

  it("400 invalid_request when the secret is missing", async () => {
    const app = await createApp();
    const res = await tokenRequest(app, { grant_type: "client_credentials", client_id: app.clientId });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errorCode: "invalid_request", error_description: expect.any(String) });
  });

  it("does not work for another app", async () => {
    const app = await createApp();
    const other = await createApp();
    const { userID } = await newUser(other);
    const token = await adminToken(app);
    const res = await call(`/api/apps/${other.appId}/users/${userID}`, { headers: { Authorization: `Bearer ${token}` } });
    await expectKiiError(res, 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });
});

describe("rehash on sign-in", () => {
  it("upgrades a hash made with old parameters to the current ones, and the new hash verifies", async () => {
    const app = await createApp();
    const { userID } = await newUser(app);
    const old = await new PasswordHasher({ params: { logN: 10, r: 8, p: 1 } }).hash(PASSWORD);
    await everyShard.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(old, userID).run();
    const before = (await userRow(userID))!;

    await expectToken(await signIn(app, "alice", PASSWORD), userID);

    const after = (await userRow(userID))!;
    const upgraded = after.password_hash as string;
    expect(upgraded).not.toBe(old);
    expect(upgraded).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(await new PasswordHasher().verify(PASSWORD, upgraded)).toBe(true);
    // Not a change the user made: no new event, no new change time, tokens live on.
    expect(after.sequence).toBe(before.sequence);
    expect(after.password_changed_at).toBe(before.password_changed_at);
    expect((await signIn(app, "alice", PASSWORD)).status).toBe(200);
  });

  it("does not touch the hash on a failed sign-in", async () => {
    const app = await createApp();
    const { userID } = await newUser(app);
    const old = await new PasswordHasher({ params: { logN: 10, r: 8, p: 1 } }).hash(PASSWORD);
    await everyShard.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(old, userID).run();
    await expectInvalidGrant(await signIn(app, "alice", "wrong horse"));
    expect((await userRow(userID))!.password_hash).toBe(old);
  });

  it("leaves a current hash alone", async () => {
    const { app, userID } = await shared();
    const hash = (await userRow(userID))!.password_hash;
    await userToken(app, "alice", PASSWORD);
    expect((await userRow(userID))!.password_hash).toBe(hash);
  });
});

describe("a password change or disable racing a sign-in", () => {
  // The interleaving is played step by step through the core: the password is checked, then the
  // change lands (revoking tokens), then the token would be issued.
  /** A new app with alice in it, and the core's services to play a race against. */
  async function raceSetUp() {
    const app = await createApp();
    const { userID } = await newUser(app);
    const svc = createServices(env);
    return { userID, svc, stored: (await svc.apps.get(app.appId))! };
  }

  const tokensOf = async (userID: string) =>
    (await everyShard.prepare("SELECT COUNT(*) AS n FROM access_tokens WHERE user_id = ?").bind(userID).first<{ n: number }>())!.n;

  // The changes a race is played with: each must leave the user no token.
  const changePassword = async (id: string) => {
    const other = await new PasswordHasher({ params: { logN: 10, r: 8, p: 1 } }).hash("another password");
    await everyShard.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(other, id).run();
  };
  const disable = (id: string) => everyShard.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(id).run();

  async function checkedThen(change: (userId: string) => Promise<unknown>) {
    const { userID, svc, stored } = await raceSetUp();
    const user = await authenticate(svc, stored, { by: "loginName", value: "alice" }, PASSWORD);
    await change(userID);
    const outcome = await issueUserToken(svc, stored, user).then(
      () => "issued",
      (e: { kind?: string }) => e.kind,
    );
    return { outcome, tokens: await tokensOf(userID) };
  }

  it("issues no token when the password changed after it was checked", async () => {
    expect(await checkedThen(changePassword)).toEqual({ outcome: "wrong_password", tokens: 0 });
  });

  it("issues no token when the user was disabled after the password was checked", async () => {
    expect(await checkedThen(disable)).toEqual({ outcome: "user_disabled", tokens: 0 });
  });

  it("issues the token when nothing changed in between", async () => {
    const result = await checkedThen(async () => {});
    expect(result).toEqual({ outcome: "issued", tokens: 1 });
  });

  // The same races through signIn itself, which inserts the token in the D1 batch that ends the
  // failure run: here the change lands while the password is being compared.
  async function changedWhileCompared(change: (userId: string) => Promise<unknown>) {
    const { userID, svc, stored } = await raceSetUp();
    const verify = svc.hasher.verify.bind(svc.hasher);
    svc.hasher.verify = async (password, phc) => {
      const ok = await verify(password, phc);
      await change(userID);
      return ok;
    };
    const outcome = await coreSignIn(svc, stored, { by: "loginName", value: "alice" }, PASSWORD, { principal: null, clientIp: null }).then(
      ({ user, issued }) => (user.id === userID && issued.token ? "issued" : "wrong answer"),
      (e: { kind?: string }) => e.kind,
    );
    return { outcome, tokens: await tokensOf(userID) };
  }

  it("signIn issues no token when the password changes while it is compared", async () => {
    expect(await changedWhileCompared(changePassword)).toEqual({ outcome: "wrong_password", tokens: 0 });
  });

  it("signIn issues no token when the user is disabled while the password is compared", async () => {
    expect(await changedWhileCompared(disable)).toEqual({ outcome: "user_disabled", tokens: 0 });
  });

  it("signIn issues no token when an admin locks the user while the password is compared", async () => {
    const result = await changedWhileCompared(async (id) => {
      const row = await everyShard.prepare("SELECT app_id FROM users WHERE id = ?").bind(id).first<{ app_id: string }>();
      await everyShard
        .prepare("INSERT INTO sign_in_guards (app_id, user_id, admin_locked) VALUES (?, ?, 1) ON CONFLICT (app_id, user_id) DO UPDATE SET admin_locked = 1")
        .bind(row!.app_id, id)
        .run();
    });
    // Kii answers a locked account as a wrong password.
    expect(result).toEqual({ outcome: "wrong_password", tokens: 0 });
  });

  it("signIn issues the token when nothing changes while the password is compared", async () => {
    const result = await changedWhileCompared(async () => {});
    expect(result).toEqual({ outcome: "issued", tokens: 1 });
  });
});
