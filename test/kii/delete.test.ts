// DELETE /api/apps/{appID}/users/{id} (kii-cloud-sdk's user.delete()): the user itself or the
// app's admin; rows, reset code, lockout guard and tokens go in one batch; the names are freed.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken, call, createApp, expectKiiError, kiiHeaders, registerKiiUser, signIn, type TestApp, userToken, everyShard } from "../helpers";
import { newUser, PASSWORD, requestReset, tokenStatus, usersPath } from "./password-helpers";

const del = (app: TestApp, id: string, token?: string) =>
  call(usersPath(app, id), { method: "DELETE", headers: kiiHeaders(app, token ? { Authorization: `Bearer ${token}` } : {}) });

const count = async (table: string, userId: string) =>
  (await everyShard.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`).bind(userId).first<{ n: number }>())!.n;

describe("deleting a user", () => {
  it("by the user itself: 204, every row gone, tokens dead, login name, email and phone free again", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    expect((await requestReset(app, `EMAIL:${user.email}`)).status).toBe(204);
    expect((await signIn(app, user.loginName, "wrong password")).status).toBe(400);
    const tables = ["access_tokens", "password_resets", "sign_in_guards"];
    for (const table of tables) expect(await count(table, user.userID), table).toBe(1);
    const res = await del(app, user.userID, token);
    expect(res.status).toBe(204);
    expect(await tokenStatus(app, token)).toBe(401);
    for (const table of tables) expect(await count(table, user.userID), table).toBe(0);
    expect(await everyShard.prepare("SELECT COUNT(*) AS n FROM users WHERE id = ?").bind(user.userID).first("n")).toBe(0);
    await registerKiiUser(app, { loginName: user.loginName, emailAddress: user.email, phoneNumber: user.phone, password: PASSWORD });
  });

  it("through 'me'", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    expect((await del(app, "me", token)).status).toBe(204);
    expect((await signIn(app, user.loginName, PASSWORD)).status).toBe(400);
  });

  it("by the app admin", async () => {
    const app = await createApp();
    const user = await newUser(app);
    expect((await del(app, user.userID, await adminToken(app))).status).toBe(204);
    await expectKiiError(await del(app, user.userID, await adminToken(app)), 404, "USER_NOT_FOUND");
  });

  it("is refused to another user and to anonymous callers, and changes nothing", async () => {
    const app = await createApp();
    const victim = await newUser(app);
    const other = await newUser(app);
    const otherToken = await userToken(app, other.loginName, PASSWORD);
    await expectKiiError(await del(app, victim.userID, otherToken), 401, "UNAUTHORIZED");
    await expectKiiError(await del(app, victim.userID), 401, "UNAUTHORIZED");
    expect((await signIn(app, victim.loginName, PASSWORD)).status).toBe(200);
  });
});
