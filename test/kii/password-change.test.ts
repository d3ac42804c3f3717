// PUT /api/apps/{appID}/users/{userID or me}/password: by the user and by an app admin.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken, call, createApp, expectKiiError, kiiHeaders, userToken, everyShard } from "../helpers";
import { changePassword, latestMessage, newUser, PASSWORD, signInStatus, tokenStatus, userRow } from "./password-helpers";

const NEW_PASSWORD = "a brand new secret";

describe("change password", () => {
  it("lets the user change it with the old one: 204, tokens die, only the new password signs in", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const other = await userToken(app, user.loginName, PASSWORD);

    const res = await changePassword(app, "me", token, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await res.text()).toBe("");

    expect(await tokenStatus(app, token)).toBe(401);
    expect(await tokenStatus(app, other)).toBe(401);
    expect(await signInStatus(app, user.loginName, NEW_PASSWORD)).toBe(200);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(400);
  });

  it("accepts the userID in the path as well as me", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const res = await changePassword(app, user.userID, token, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(204);
    expect(await signInStatus(app, user.loginName, NEW_PASSWORD)).toBe(200);
  });

  it.each([
    ["absent", {}],
    ["null", { oldPassword: null }],
  ])("lets an app admin set it with oldPassword %s, revoking the user's tokens", async (_, extra) => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const admin = await adminToken(app);

    const res = await changePassword(app, user.userID, admin, { ...extra, newPassword: NEW_PASSWORD });
    expect(res.status, await res.clone().text()).toBe(204);

    expect(await tokenStatus(app, token)).toBe(401);
    expect(await signInStatus(app, user.loginName, NEW_PASSWORD)).toBe(200);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(400);
  });

  it("sends a password_changed notice to the user's verified address", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    expect((await changePassword(app, "me", token, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(204);
    const notice = await latestMessage(user.email, "password_changed");
    expect(notice.channel).toBe("email");
    expect(notice.text).not.toContain(NEW_PASSWORD);
  });

  it("answers 404 USER_NOT_FOUND for an unknown user", async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const body = await expectKiiError(
      await changePassword(app, "123456789", admin, { newPassword: NEW_PASSWORD }),
      404,
      "USER_NOT_FOUND",
      "UserNotFoundException",
    );
    expect(body).toMatchObject({ field: "userID", value: "123456789", appID: app.appId });
  });

  it("answers 401 UNAUTHORIZED when a user changes another user's password, which keeps working", async () => {
    const app = await createApp();
    const alice = await newUser(app);
    const bob = await newUser(app);
    const aliceToken = await userToken(app, alice.loginName, PASSWORD);
    const body = await expectKiiError(
      await changePassword(app, bob.userID, aliceToken, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }),
      401,
      "UNAUTHORIZED",
      "UnauthorizedAccessException",
    );
    expect(body).toMatchObject({ authenticatedAppID: app.appId, authenticatedPrincipalID: alice.userID });
    expect(await signInStatus(app, bob.loginName, PASSWORD)).toBe(200);
  });

  it("answers 401 UNAUTHORIZED without a token", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const res = await changePassword(app, user.userID, "not-a-token", { oldPassword: PASSWORD, newPassword: NEW_PASSWORD });
    await expectKiiError(res, 401, "UNAUTHORIZED", "UnauthorizedAccessException");
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });

  it("answers 400 PASSWORD_TOO_SHORT with minimumLength and keeps the old password and token", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const body = await expectKiiError(
      await changePassword(app, "me", token, { oldPassword: PASSWORD, newPassword: "short" }),
      400,
      "PASSWORD_TOO_SHORT",
      "PasswordTooShortException",
    );
    expect(body.minimumLength).toBe(8);
    expect(await tokenStatus(app, token)).toBe(200);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });

  it("honours the app's own minimum length", async () => {
    const app = await createApp({ passwordPolicy: { minLength: 12 } });
    const user = await newUser(app, { password: "twelve chars long" });
    const token = await userToken(app, user.loginName, "twelve chars long");
    const body = await expectKiiError(
      await changePassword(app, "me", token, { oldPassword: "twelve chars long", newPassword: "elevenchars" }),
      400,
      "PASSWORD_TOO_SHORT",
    );
    expect(body.minimumLength).toBe(12);
  });

  it("answers 401 WRONG_PASSWORD with appID, principalID and address, changing nothing", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const before = await userRow(user.userID);
    const body = await expectKiiError(
      await changePassword(app, "me", token, { oldPassword: "not the password", newPassword: NEW_PASSWORD }),
      401,
      "WRONG_PASSWORD",
      "WrongPasswordException",
    );
    expect(body).toMatchObject({ appID: app.appId, principalID: user.userID });
    expect(body).toHaveProperty("address");
    expect(await userRow(user.userID)).toEqual(before);
    expect(await tokenStatus(app, token)).toBe(200);
  });

  it("answers 400 INVALID_INPUT_DATA when a user leaves out the old password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    await expectKiiError(await changePassword(app, "me", token, { newPassword: NEW_PASSWORD }), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });

  it("answers 409 OPERATION_NOT_ALLOWED when the user has no password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    await everyShard.prepare("UPDATE users SET password_hash = NULL WHERE id = ?").bind(user.userID).run();
    await expectKiiError(
      await changePassword(app, "me", token, { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }),
      409,
      "OPERATION_NOT_ALLOWED",
      "OperationNotAllowedException",
    );
    expect((await userRow(user.userID))?.password_hash).toBeNull();
    expect(await tokenStatus(app, token)).toBe(200);
  });

  it("answers 400 INVALID_INPUT_DATA for a body that is not JSON", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const res = await call(`/api/apps/${app.appId}/users/me/password`, {
      method: "PUT",
      headers: kiiHeaders(app, { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.kii.ChangePasswordRequest+json" }),
      body: "{oldPassword:",
    });
    await expectKiiError(res, 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });
});
