// GET /api/apps/{appID}/users/{id} (SPEC §3): user identifiers, who sees what, and errors.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Base64url } from "../../src/lib/digest";
import { adminToken, call, createApp, expectKiiError, kiiHeaders, registerKiiUser, type TestApp, userToken, everyShard } from "../helpers";

const PASSWORD = "correct horse";
const EMAIL = "a+b@x.com";
const PHONE = "+819012345678";

let app: TestApp;
let alice: { userID: string; internalUserID: number };
let bob: { userID: string };
let aliceToken: string;
let bobToken: string;
let admin: string;

beforeAll(async () => {
  app = await createApp();
  alice = (await registerKiiUser(app, {
    loginName: "alice",
    emailAddress: EMAIL,
    phoneNumber: PHONE,
    password: PASSWORD,
    displayName: "Alice",
    country: "JP",
    locale: "ja",
  })) as typeof alice;
  bob = await registerKiiUser(app, { loginName: "bob", emailAddress: "bob@example.com", password: PASSWORD });
  aliceToken = await userToken(app, "alice", PASSWORD);
  bobToken = await userToken(app, "bob", PASSWORD);
  admin = await adminToken(app);
});

const get = (id: string, token: string | null = aliceToken, headers: Record<string, string> = kiiHeaders(app)) =>
  call(`/api/apps/${app.appId}/users/${id}`, { headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers });

async function expectUser(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("application/vnd.kii.UserDataRetrievalResponse+json");
  return JSON.parse(text) as Record<string, unknown>;
}

describe("identifiers", () => {
  it.each([
    ["the userID", () => alice.userID],
    ["me", () => "me"],
    ["EMAIL:address", () => `EMAIL:${EMAIL}`],
    ["EMAIL:address percent-encoded, with a literal + in the address", () => "EMAIL%3Aa%2Bb%40x.com"],
    ["EMAIL:address with the + percent-encoded only", () => "EMAIL:a%2Bb@x.com"],
    ["EMAIL:address in another case", () => "EMAIL:A+B@X.COM"],
    ["PHONE:+number", () => `PHONE:${PHONE}`],
    ["PHONE:+number percent-encoded", () => "PHONE%3A%2B819012345678"],
    ["LOGIN_NAME:name", () => "LOGIN_NAME:alice"],
    ["LOGIN_NAME:name in another case", () => "LOGIN_NAME:ALICE"],
  ])("finds the user by %s", async (_, id) => {
    const body = await expectUser(await get(id()));
    expect(body.userID).toBe(alice.userID);
  });

  it("never turns + into a space: EMAIL:a b@x.com is another address", async () => {
    const body = await expectKiiError(await get("EMAIL:a%20b@x.com"), 404, "USER_NOT_FOUND", "UserNotFoundException");
    expect(body).toMatchObject({ field: "emailAddress", value: "a b@x.com" });
  });

  it("ignores a disable_cache query parameter", async () => {
    const res = await call(`/api/apps/${app.appId}/users/me?disable_cache=1700000000000`, { headers: kiiHeaders(app, { Authorization: `Bearer ${aliceToken}` }) });
    expect((await expectUser(res)).userID).toBe(alice.userID);
  });

  it("accepts a bearer token without the X-Kii headers (the token names the app)", async () => {
    const body = await expectUser(await get("me", aliceToken, {}));
    expect(body.userID).toBe(alice.userID);
  });
});

describe("what the caller sees", () => {
  it("the user sees all of its own data", async () => {
    const body = await expectUser(await get("me"));
    expect(body).toMatchObject({
      userID: alice.userID,
      internalUserID: alice.internalUserID,
      loginName: "alice",
      displayName: "Alice",
      emailAddress: EMAIL,
      emailAddressVerified: true,
      phoneNumber: PHONE,
      phoneNumberVerified: true,
      country: "JP",
      locale: "ja",
      _hasPassword: true,
      _disabled: false,
    });
    expect(typeof body._created).toBe("number");
    expect(typeof body._modified).toBe("number");
    expect(JSON.stringify(body)).not.toMatch(/scrypt|password_hash|passwordHash/);
  });

  it("another user sees only userID, loginName and displayName", async () => {
    const body = await expectUser(await get(alice.userID, bobToken));
    expect(body).toEqual({ userID: alice.userID, loginName: "alice", displayName: "Alice" });
  });

  it("another user looking up by address sees no more than that", async () => {
    const body = await expectUser(await get(`EMAIL:${EMAIL}`, bobToken));
    expect(Object.keys(body).sort()).toEqual(["displayName", "loginName", "userID"]);
  });

  it("an app admin sees everything", async () => {
    const body = await expectUser(await get(alice.userID, admin));
    expect(body).toMatchObject({ userID: alice.userID, emailAddress: EMAIL, phoneNumber: PHONE, _hasPassword: true, _disabled: false });
    const own = await expectUser(await get("me"));
    expect(body).toEqual(own);
  });
});

describe("USER_NOT_FOUND", () => {
  it.each([
    ["an unknown userID", "123456789", "userID", "123456789"],
    ["an unknown email address", "EMAIL:nobody@example.com", "emailAddress", "nobody@example.com"],
    ["an unknown phone number", "PHONE:+819099999999", "phoneNumber", "+819099999999"],
    ["an unknown login name", "LOGIN_NAME:nobody", "loginName", "nobody"],
  ])("404 {field, value, appID} for %s", async (_, id, field, value) => {
    const body = await expectKiiError(await get(id), 404, "USER_NOT_FOUND", "UserNotFoundException");
    expect(body).toMatchObject({ field, value, appID: app.appId });
  });

  it("404 for a user of another app, even with that app's admin token over there", async () => {
    const other = await createApp();
    const stranger = await registerKiiUser(other, { loginName: "stranger", password: PASSWORD });
    await expectKiiError(await get(stranger.userID, admin), 404, "USER_NOT_FOUND", "UserNotFoundException");
  });

  it("404 for an address that is not verified (EMAIL and PHONE match verified addresses only)", async () => {
    const strict = await createApp({ trustRegisteredAddresses: false });
    const carol = await registerKiiUser(strict, { loginName: "carol", emailAddress: "carol@example.com", phoneNumber: "+819011112222", password: PASSWORD });
    const token = await adminToken(strict);
    const lookup = (id: string) => call(`/api/apps/${strict.appId}/users/${id}`, { headers: kiiHeaders(strict, { Authorization: `Bearer ${token}` }) });
    await expectKiiError(await lookup("EMAIL:carol@example.com"), 404, "USER_NOT_FOUND", "UserNotFoundException");
    await expectKiiError(await lookup("PHONE:+819011112222"), 404, "USER_NOT_FOUND", "UserNotFoundException");
    const found = await expectUser(await lookup(carol.userID));
    expect(found).toMatchObject({ emailAddressVerified: false, phoneNumberVerified: false });
  });
});

describe("bad identifiers", () => {
  it.each([
    ["an unknown prefix", "NAME:alice"],
    ["an empty EMAIL:", "EMAIL:"],
    ["a userID with odd characters", "al%20ice"],
  ])("400 INVALID_INPUT_DATA for %s", async (_, id) => {
    await expectKiiError(await get(id), 400, "INVALID_INPUT_DATA", "ValidationException");
  });
});

describe("UNAUTHORIZED", () => {
  it("401 without a token", async () => {
    const body = await expectKiiError(await get(alice.userID, null), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    expect(body).toMatchObject({ authenticatedAppID: app.appId, authenticatedPrincipalID: null });
  });

  it.each([
    ["an unknown token", "not-a-real-token"],
    ["a token with the wrong case", () => aliceToken.toUpperCase()],
  ])("401 for %s", async (_, token) => {
    const t = typeof token === "function" ? token() : token;
    await expectKiiError(await get(alice.userID, t), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });

  it("401 for another app's token", async () => {
    const other = await createApp();
    await registerKiiUser(other, { loginName: "alice", password: PASSWORD });
    const foreign = await userToken(other, "alice", PASSWORD);
    await expectKiiError(await get("me", foreign), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });

  it("401 for an expired token", async () => {
    const token = await userToken(app, "bob", PASSWORD);
    await everyShard.prepare("UPDATE access_tokens SET expires_at = ? WHERE token_hash = ?").bind(Date.now() - 1000, sha256Base64url(token)).run();
    await expectKiiError(await get("me", token), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });

  it("401 for me with an admin token (an admin is not a user)", async () => {
    await expectKiiError(await get("me", admin), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });

  it("401 for a wrong app key beside a valid token", async () => {
    const res = await get("me", aliceToken, { "X-Kii-AppID": app.appId, "X-Kii-AppKey": "0".repeat(32) });
    await expectKiiError(res, 401, "UNAUTHORIZED", "UnauthorizedAccessException");
  });

  it("404 APP_NOT_FOUND for an unknown app", async () => {
    const res = await call(`/api/apps/nosuchapp1/users/me`, { headers: { Authorization: `Bearer ${aliceToken}` } });
    const body = await expectKiiError(res, 404, "APP_NOT_FOUND", "AppNotFoundException");
    expect(body.appID).toBe("nosuchapp1");
  });
});
