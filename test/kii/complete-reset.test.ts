// POST /api/apps/{appID}/users/{id}/password/complete-reset with an SMS PIN.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken, createApp, expectKiiError, userToken, everyShard } from "../helpers";
import {
  changePassword,
  completeReset,
  latestMessage,
  newUser,
  PASSWORD,
  requestPin,
  requestReset,
  resetRow,
  signInStatus,
  tokenStatus,
  waitForMessages,
} from "./password-helpers";

const NEW_PASSWORD = "a brand new secret";
/** A PIN that is not `pin` (and still six digits). */
const wrongPin = (pin: string) => String((Number(pin) + 1) % 1_000_000).padStart(6, "0");

describe("complete reset", () => {
  it("sets the new password with the right PIN: 204, tokens revoked, only the new password signs in", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const pin = await requestPin(app, user);

    const res = await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await res.text()).toBe("");

    expect(await tokenStatus(app, token)).toBe(401);
    expect(await signInStatus(app, user.loginName, NEW_PASSWORD)).toBe(200);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(400);
    expect((await resetRow(user.userID))?.code_id).toBeNull();
  });

  it("sends a password_changed notice after a reset", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    expect((await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD })).status).toBe(204);
    await latestMessage(user.email, "password_changed");
  });

  it("accepts a PIN only once", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    expect((await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD })).status).toBe(204);
    await expectKiiError(
      await completeReset(app, user.userID, { pinCode: pin, newPassword: "yet another secret" }),
      409,
      "INVALID_STATUS",
      "InvalidStatusException",
    );
    expect(await signInStatus(app, user.loginName, NEW_PASSWORD)).toBe(200);
  });

  it("answers 403 INVALID_VERIFICATION_CODE for a wrong PIN, keeping the password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    const body = await expectKiiError(
      await completeReset(app, user.userID, { pinCode: wrongPin(pin), newPassword: NEW_PASSWORD }),
      403,
      "INVALID_VERIFICATION_CODE",
      "InvalidVerificationCodeException",
    );
    expect(body.appID).toBe(app.appId);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
    expect((await resetRow(user.userID))?.failures).toBe(1);
  });

  it("answers 410 PIN_CODE_EXPIRED for an expired PIN without counting a failure", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    await everyShard.prepare("UPDATE password_resets SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1000, user.userID).run();
    await expectKiiError(
      await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD }),
      410,
      "PIN_CODE_EXPIRED",
      "PINCodeExpiredException",
    );
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
    expect((await resetRow(user.userID))?.failures).toBe(0);
  });

  it.each([
    ["five digits", "12345"],
    ["seven digits", "1234567"],
    ["letters", "abcdef"],
    ["an empty PIN", ""],
  ])("answers 400 INVALID_INPUT_DATA for a PIN of %s, counting nothing", async (_, pinCode) => {
    const app = await createApp();
    const user = await newUser(app);
    await requestPin(app, user);
    const before = await resetRow(user.userID);
    await expectKiiError(await completeReset(app, user.userID, { pinCode, newPassword: NEW_PASSWORD }), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(await resetRow(user.userID)).toEqual(before);
  });

  it("answers 400 INVALID_INPUT_DATA for a missing PIN", async () => {
    const app = await createApp();
    const user = await newUser(app);
    await expectKiiError(await completeReset(app, user.userID, { newPassword: NEW_PASSWORD }), 400, "INVALID_INPUT_DATA");
  });

  it("answers 400 INVALID_INPUT_DATA when the new password equals the old, and the PIN still works", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    await expectKiiError(await completeReset(app, user.userID, { pinCode: pin, newPassword: PASSWORD }), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect((await resetRow(user.userID))?.failures).toBe(0);
    expect((await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD })).status).toBe(204);
  });

  it("answers 400 PASSWORD_TOO_SHORT without burning the PIN or counting a failure", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    const body = await expectKiiError(
      await completeReset(app, user.userID, { pinCode: pin, newPassword: "short" }),
      400,
      "PASSWORD_TOO_SHORT",
      "PasswordTooShortException",
    );
    expect(body.minimumLength).toBe(8);
    expect((await resetRow(user.userID))?.failures).toBe(0);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
    expect((await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD })).status).toBe(204);
  });

  it("refuses the right PIN after five wrong ones", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    for (let i = 0; i < 5; i++) {
      // Every wrong guess, the fifth included, is answered as a wrong code.
      await expectKiiError(await completeReset(app, user.userID, { pinCode: wrongPin(pin), newPassword: NEW_PASSWORD }), 403, "INVALID_VERIFICATION_CODE");
    }
    await expectKiiError(await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD }), 409, "INVALID_STATUS");
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });

  it("keeps counting failures across a resend: 3 wrong, resend, 2 wrong, then the new PIN is refused", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const first = await requestPin(app, user, 1);
    for (let i = 0; i < 3; i++) {
      expect((await completeReset(app, user.userID, { pinCode: wrongPin(first), newPassword: NEW_PASSWORD })).status).toBe(403);
    }
    const second = await requestPin(app, user, 2);
    expect((await resetRow(user.userID))?.failures).toBe(3);
    for (let i = 0; i < 2; i++) {
      expect((await completeReset(app, user.userID, { pinCode: wrongPin(second), newPassword: NEW_PASSWORD })).status).toBe(403);
    }
    await expectKiiError(await completeReset(app, user.userID, { pinCode: second, newPassword: NEW_PASSWORD }), 409, "INVALID_STATUS");
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  });

  it("lets a newer PIN supersede the older one", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const first = await requestPin(app, user, 1);
    const second = await requestPin(app, user, 2);
    await expectKiiError(await completeReset(app, user.userID, { pinCode: first, newPassword: NEW_PASSWORD }), 403, "INVALID_VERIFICATION_CODE");
    expect((await completeReset(app, user.userID, { pinCode: second, newPassword: NEW_PASSWORD })).status).toBe(204);
  });

  it("kills a pending PIN when an app admin sets the password", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    const admin = await adminToken(app);
    expect((await changePassword(app, user.userID, admin, { newPassword: "set by the admin" })).status).toBe(204);
    await expectKiiError(await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD }), 409, "INVALID_STATUS");
    expect(await signInStatus(app, user.loginName, "set by the admin")).toBe(200);
  });

  it("does not let PIN guesses touch a pending email link: 409 INVALID_STATUS, nothing counted", async () => {
    const app = await createApp();
    const user = await newUser(app);
    expect((await requestReset(app, user.userID)).status).toBe(204);
    const before = await resetRow(user.userID);
    for (let i = 0; i < 6; i++) {
      await expectKiiError(await completeReset(app, user.userID, { pinCode: "123456", newPassword: NEW_PASSWORD }), 409, "INVALID_STATUS");
    }
    expect(await resetRow(user.userID)).toEqual(before);
  });

  it("answers 409 INVALID_STATUS when no reset is pending", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const body = await expectKiiError(
      await completeReset(app, user.userID, { pinCode: "123456", newPassword: NEW_PASSWORD }),
      409,
      "INVALID_STATUS",
      "InvalidStatusException",
    );
    expect(body.appID).toBe(app.appId);
    expect(await resetRow(user.userID)).toBeNull();
  });

  it("answers 404 USER_NOT_FOUND for an unknown user", async () => {
    const app = await createApp();
    const body = await expectKiiError(
      await completeReset(app, "987654321", { pinCode: "123456", newPassword: NEW_PASSWORD }),
      404,
      "USER_NOT_FOUND",
      "UserNotFoundException",
    );
    expect(body).toMatchObject({ field: "userID", value: "987654321", appID: app.appId });
  });

  it("answers 401 USER_DISABLED for a disabled user, keeping the PIN unused", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    await everyShard.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(user.userID).run();
    await expectKiiError(await completeReset(app, user.userID, { pinCode: pin, newPassword: NEW_PASSWORD }), 401, "USER_DISABLED", "UserDisabledException");
    expect((await resetRow(user.userID))?.failures).toBe(0);
  });

  it("finds the user by a percent-encoded PHONE: identifier", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    const res = await completeReset(app, encodeURIComponent(`PHONE:${user.phone}`), { pinCode: pin, newPassword: NEW_PASSWORD });
    expect(res.status, await res.clone().text()).toBe(204);
    await waitForMessages(user.email, 1, "password_changed");
  });
});
