// PUT /api/apps/{appID}/users/{id}/status (SPEC §2, §3): an app admin disables and re-enables
// users; disabling kills the user's tokens and blocks sign-in.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken, call, createApp, expectKiiError, kiiHeaders, registerKiiUser, signIn, type TestApp, userToken, everyShard } from "../helpers";

const PASSWORD = "correct horse";
const STATUS = "application/vnd.kii.UserStatusUpdateRequest+json";

function setStatus(app: TestApp, id: string, token: string | null, body: unknown, contentType = STATUS) {
  const headers: Record<string, string> = kiiHeaders(app, { "Content-Type": contentType });
  if (token) headers.Authorization = `Bearer ${token}`;
  return call(`/api/apps/${app.appId}/users/${id}/status`, { method: "PUT", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

const me = (app: TestApp, token: string) => call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });

const userRow = (id: string) => everyShard.prepare("SELECT disabled, sequence, changed_at FROM users WHERE id = ?").bind(id).first<{ disabled: number; sequence: number; changed_at: number }>();

async function setup() {
  const app = await createApp();
  const user = await registerKiiUser(app, { loginName: "alice", emailAddress: "alice@example.com", password: PASSWORD });
  return { app, user, admin: await adminToken(app) };
}

describe("disabling", () => {
  it("answers 204 with an empty body and marks the user disabled", async () => {
    const { app, user, admin } = await setup();
    const before = (await userRow(user.userID))!;
    const res = await setStatus(app, user.userID, admin, { disabled: true });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const after = (await userRow(user.userID))!;
    expect(after.disabled).toBe(1);
    expect(after.sequence).toBe(before.sequence + 1);
    const shown = await call(`/api/apps/${app.appId}/users/${user.userID}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${admin}` }) });
    expect(await shown.json()).toMatchObject({ _disabled: true });
  });

  it("kills every token the user holds", async () => {
    const { app, user, admin } = await setup();
    const first = await userToken(app, "alice", PASSWORD);
    const second = await userToken(app, "alice", PASSWORD);
    expect((await me(app, first)).status).toBe(200);
    expect((await setStatus(app, user.userID, admin, { disabled: true })).status).toBe(204);
    await expectKiiError(await me(app, first), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    await expectKiiError(await me(app, second), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    const left = await everyShard.prepare("SELECT COUNT(*) AS n FROM access_tokens WHERE user_id = ?").bind(user.userID).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });

  it("leaves other users' tokens and the admin token alive", async () => {
    const { app, user, admin } = await setup();
    await registerKiiUser(app, { loginName: "bob", password: PASSWORD });
    const bob = await userToken(app, "bob", PASSWORD);
    expect((await setStatus(app, user.userID, admin, { disabled: true })).status).toBe(204);
    expect((await me(app, bob)).status).toBe(200);
    const res = await call(`/api/apps/${app.appId}/users/${user.userID}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${admin}` }) });
    expect(res.status).toBe(200);
  });

  it("blocks sign-in with USER_DISABLED", async () => {
    const { app, user, admin } = await setup();
    expect((await setStatus(app, user.userID, admin, { disabled: true })).status).toBe(204);
    const body = await expectKiiError(await signIn(app, "alice", PASSWORD), 401, "USER_DISABLED", "UserDisabledException");
    expect(body).toMatchObject({ UserID: user.userID, appID: app.appId });
  });

  it("accepts the user named by EMAIL:address", async () => {
    const { app, user, admin } = await setup();
    expect((await setStatus(app, "EMAIL:alice@example.com", admin, { disabled: true })).status).toBe(204);
    expect((await userRow(user.userID))!.disabled).toBe(1);
  });

  it("is idempotent", async () => {
    const { app, user, admin } = await setup();
    expect((await setStatus(app, user.userID, admin, { disabled: true })).status).toBe(204);
    expect((await setStatus(app, user.userID, admin, { disabled: true })).status).toBe(204);
    expect((await userRow(user.userID))!.disabled).toBe(1);
  });
});

describe("re-enabling", () => {
  it("lets the user sign in again", async () => {
    const { app, user, admin } = await setup();
    expect((await setStatus(app, user.userID, admin, { disabled: true })).status).toBe(204);
    const res = await setStatus(app, user.userID, admin, { disabled: false });
    expect(res.status).toBe(204);
    expect((await userRow(user.userID))!.disabled).toBe(0);
    const token = await userToken(app, "alice", PASSWORD);
    expect((await me(app, token)).status).toBe(200);
  });

  it("does not bring old tokens back", async () => {
    const { app, user, admin } = await setup();
    const old = await userToken(app, "alice", PASSWORD);
    await setStatus(app, user.userID, admin, { disabled: true });
    await setStatus(app, user.userID, admin, { disabled: false });
    expect((await me(app, old)).status).toBe(401);
  });
});

describe("refusals change nothing", () => {
  it("401 UNAUTHORIZED for the user's own token", async () => {
    const { app, user } = await setup();
    const own = await userToken(app, "alice", PASSWORD);
    await expectKiiError(await setStatus(app, user.userID, own, { disabled: true }), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    await expectKiiError(await setStatus(app, "me", own, { disabled: true }), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
    expect((await me(app, own)).status).toBe(200);
  });

  it("401 UNAUTHORIZED for another user's token", async () => {
    const { app, user } = await setup();
    await registerKiiUser(app, { loginName: "mallory", password: PASSWORD });
    const mallory = await userToken(app, "mallory", PASSWORD);
    await expectKiiError(await setStatus(app, user.userID, mallory, { disabled: true }), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
  });

  it("401 UNAUTHORIZED without a token", async () => {
    const { app, user } = await setup();
    await expectKiiError(await setStatus(app, user.userID, null, { disabled: true }), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
  });

  it("401 UNAUTHORIZED for another app's admin token", async () => {
    const { app, user } = await setup();
    const foreign = await adminToken(await createApp());
    await expectKiiError(await setStatus(app, user.userID, foreign, { disabled: true }), 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
  });

  it("404 USER_NOT_FOUND for an unknown user", async () => {
    const { app, admin } = await setup();
    const body = await expectKiiError(await setStatus(app, "987654321", admin, { disabled: true }), 404, "USER_NOT_FOUND", "UserNotFoundException");
    expect(body).toMatchObject({ field: "userID", value: "987654321", appID: app.appId });
  });

  it.each([
    ["disabled as a string", { disabled: "true" }],
    ["disabled missing", {}],
    ["disabled as a number", { disabled: 1 }],
    ["a JSON array", [true]],
  ])("400 INVALID_INPUT_DATA for %s", async (_, body) => {
    const { app, user, admin } = await setup();
    await expectKiiError(await setStatus(app, user.userID, admin, body), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
  });

  it("400 INVALID_INPUT_DATA for malformed JSON", async () => {
    const { app, user, admin } = await setup();
    await expectKiiError(await setStatus(app, user.userID, admin, '{"disabled": tru'), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
  });

  it("415 for a text/plain body", async () => {
    const { app, user, admin } = await setup();
    await expectKiiError(await setStatus(app, user.userID, admin, { disabled: true }, "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE", "UnsupportedMediaTypeException");
    expect((await userRow(user.userID))!.disabled).toBe(0);
  });
});
