// The ZITADEL v2 REST paths (grpc-gateway mapping): each RPC's success, its errors in SPEC §4's
// shape, authorization, and the same users as the Kii dialect.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, kiiHeaders, userToken, everyShard } from "../helpers";
import { latestMessage, newUser, outbox, PASSWORD as KII_PASSWORD, resetRow, signInStatus, userRow } from "../kii/password-helpers";
import { addHuman, expectOk, expectZitadelError, PASSWORD, rest, zitadelApp } from "./helpers";

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

interface Details {
  sequence: string;
  changeDate: string;
  resourceOwner: string;
}

async function returnCode(app: { admin: string }, userId: string): Promise<string> {
  const body = await expectOk<{ verificationCode: string }>(await rest(`/users/${userId}/password_reset`, { token: app.admin, json: { returnCode: {} } }));
  return body.verificationCode;
}

describe("AddHumanUser", () => {
  it("creates a user and answers userId with details in protojson", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: {
        username: "grace",
        profile: { givenName: "Grace", familyName: "Hopper", preferredLanguage: "en" },
        email: { email: "grace@example.com", isVerified: true },
        phone: { phone: "+819012345678", isVerified: true },
        password: { password: PASSWORD, changeRequired: true },
      },
    });
    const body = await expectOk<{ userId: string; details: Details }>(res);
    expect(body.userId).toMatch(/^\d+$/);
    expect(body.details.sequence).toBe("1");
    expect(body.details.resourceOwner).toBe(app.orgId);
    expect(body.details.changeDate).toMatch(RFC3339);
  });

  it("accepts snake_case fields and ignores unknown ones", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: {
        user_id: "snake-user-1",
        profile: { given_name: "Snake", family_name: "Case", display_name: "S. Case" },
        email: { email: "snake@example.com", is_verified: true },
        password: { password: PASSWORD, change_required: false },
        not_a_field: { anything: 1 },
      },
    });
    expect((await expectOk<{ userId: string }>(res)).userId).toBe("snake-user-1");
    const row = await userRow("snake-user-1");
    expect(row).toMatchObject({ given_name: "Snake", family_name: "Case", display_name: "S. Case", email_verified: 1 });
  });

  it("imports a scrypt PHC hash so the user signs in with the original password", async () => {
    const app = await zitadelApp();
    const donor = await addHuman(app);
    const hash = (await userRow(donor.userId))!.password_hash as string;
    const imported = await addHuman(app, { hashedPassword: { hash } }, null);
    expect(await signInStatus(app, imported.username, PASSWORD)).toBe(200);
  });

  it("refuses a malformed hash with InvalidArgument", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: { profile: { givenName: "A", familyName: "B" }, email: { email: "bcrypt@example.com" }, hashedPassword: { hash: "$2a$10$abcdefghijklmnopqrstuv" } },
    });
    await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
    expect(await everyShard.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind("bcrypt@example.com").first("n")).toBe(0);
  });

  it("refuses a user token with PermissionDenied", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    const res = await rest("/users/human", { token, json: { profile: { givenName: "A", familyName: "B" }, email: { email: "x1@example.com" } } });
    const body = await expectZitadelError(res, 403, 7, "AUTH-5mWD2");
    expect(body.message).toBe("No matching permissions found (AUTH-5mWD2)");
  });

  it("refuses another organization's orgId with PermissionDenied", async () => {
    const app = await zitadelApp();
    const other = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: { organization: { orgId: other.orgId }, profile: { givenName: "A", familyName: "B" }, email: { email: "x2@example.com" } },
    });
    await expectZitadelError(res, 403, 7, "AUTH-5mWD2");
  });

  it("accepts the app's own orgId", async () => {
    const app = await zitadelApp();
    await addHuman(app, { organization: { orgId: app.orgId } });
  });

  it("answers AlreadyExists for a taken username", async () => {
    const app = await zitadelApp();
    const first = await addHuman(app);
    const res = await rest("/users/human", {
      token: app.admin,
      json: { username: first.username, profile: { givenName: "A", familyName: "B" }, email: { email: "x3@example.com" } },
    });
    await expectZitadelError(res, 409, 6, "COMMA-CxDKf");
  });

  it("creates a user who signs in through Kii's token endpoint", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    expect(await signInStatus(app, user.email, PASSWORD)).toBe(200);
  });
});

describe("GetUserByID", () => {
  it("shows state, username, profile, email, phone and password fields", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app, { phone: { phone: "+819011112222", isVerified: true }, password: { password: PASSWORD, changeRequired: true } });
    const body = await expectOk<{ details: Details; user: Record<string, unknown> & { human: Record<string, unknown> } }>(
      await rest(`/users/${user.userId}`, { token: app.admin }),
    );
    expect(body.details.resourceOwner).toBe(app.orgId);
    expect(body.user).toMatchObject({ userId: user.userId, state: "USER_STATE_ACTIVE", username: user.username });
    expect(body.user.human).toMatchObject({
      profile: { givenName: "Ada", familyName: "Lovelace", displayName: "Ada Lovelace" },
      email: { email: user.email, isVerified: true },
      phone: { phone: "+819011112222", isVerified: true },
      passwordChangeRequired: true,
    });
    expect(body.user.human.passwordChanged).toMatch(RFC3339);
  });

  it("shows a user without a password as USER_STATE_INITIAL", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app, {}, null);
    const body = await expectOk<{ user: { state: string } }>(await rest(`/users/${user.userId}`, { token: app.admin }));
    expect(body.user.state).toBe("USER_STATE_INITIAL");
  });

  it("shows a user disabled through Kii as USER_STATE_INACTIVE (ZITADEL DeactivateUser is the same flag)", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const status = await call(`/api/apps/${app.appId}/users/${user.userId}/status`, {
      method: "PUT",
      headers: kiiHeaders(app, { Authorization: `Bearer ${app.admin}`, "Content-Type": "application/vnd.kii.UserStatusUpdateRequest+json" }),
      json: { disabled: true },
    });
    expect(status.status).toBe(204);
    const body = await expectOk<{ user: { state: string } }>(await rest(`/users/${user.userId}`, { token: app.admin }));
    expect(body.user.state).toBe("USER_STATE_INACTIVE");
  });

  it("shows a user registered through Kii", async () => {
    const app = await zitadelApp();
    const kiiUser = await newUser(app, { displayName: "Kii Person" });
    const body = await expectOk<{ user: { username: string; human: { profile: { displayName: string }; email: { email: string } } } }>(
      await rest(`/users/${kiiUser.userID}`, { token: app.admin }),
    );
    expect(body.user.username).toBe(kiiUser.loginName);
    expect(body.user.human.profile.displayName).toBe("Kii Person");
    expect(body.user.human.email.email).toBe(kiiUser.email);
  });

  it("answers an unknown user with NotFound COMMAND-SAF4f, exactly as SPEC §4 shows", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/12345", { token: app.admin });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      code: 5,
      message: "User could not be found (COMMAND-SAF4f)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-SAF4f", message: "User could not be found" }],
    });
  });

  it("lets a user read itself", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectOk(await rest(`/users/${user.userId}`, { token }));
  });

  it("refuses a user reading another user with PermissionDenied", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const other = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectZitadelError(await rest(`/users/${other.userId}`, { token }), 403, 7, "AUTH-5mWD2");
  });

  it("does not show another app's user", async () => {
    const app = await zitadelApp();
    const other = await zitadelApp();
    const user = await addHuman(other);
    await expectZitadelError(await rest(`/users/${user.userId}`, { token: app.admin }), 404, 5, "COMMAND-SAF4f");
  });
});

describe("authentication", () => {
  it.each([
    ["no Authorization header", null],
    ["an unknown token", "not-a-token"],
  ])("answers %s with Unauthenticated", async (_, token) => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await rest(`/users/${user.userId}`, { token }), 401, 16, "AUTH-7fs1e");
  });

  it("refuses a reset without a token and sends nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await rest(`/users/${user.userId}/password_reset`, { json: {} }), 401, 16, "AUTH-7fs1e");
    expect(await outbox(user.email)).toEqual([]);
  });
});

describe("PasswordReset", () => {
  it("returns a 6-character upper-case code for returnCode and sends nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const res = await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { returnCode: {} } });
    const body = await expectOk<{ verificationCode: string; details: Details }>(res);
    expect(body.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
    expect(body.details).toMatchObject({ sequence: "2", resourceOwner: app.orgId });
    expect(body.details.changeDate).toMatch(RFC3339);
    expect(await outbox(user.email)).toEqual([]);
  });

  it("sends the caller's URL template, filled in, by email for sendLink", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const res = await rest(`/users/${user.userId}/password_reset`, {
      token: app.admin,
      json: { sendLink: { notificationType: "NOTIFICATION_TYPE_Email", urlTemplate: "https://app.example.com/reset?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}" } },
    });
    const body = await expectOk<Record<string, unknown>>(res);
    expect(body.verificationCode).toBeUndefined();
    const message = await latestMessage(user.email, "reset_link");
    const link = new RegExp(`https://app\\.example\\.com/reset\\?user=${user.userId}&code=([A-Z0-9]{6})&org=${app.orgId}`).exec(message.text);
    expect(link, message.text).not.toBeNull();
  });

  it("sends the default hosted link by email when no medium is given", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectOk(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: {} }));
    const message = await latestMessage(user.email, "reset_link");
    // The tag names the code in the path; the code itself rides in the fragment only.
    expect(message.text).toMatch(new RegExp(`http://latchkey\\.test/reset/${app.appId}/${user.userId}/[A-Za-z0-9_-]{16}#[A-Z0-9]{6}\\b`));
  });

  it("sends by SMS for NOTIFICATION_TYPE_SMS", async () => {
    const app = await zitadelApp();
    const phone = "+819033334444";
    const user = await addHuman(app, { phone: { phone, isVerified: true } });
    await expectOk(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { sendLink: { notificationType: "NOTIFICATION_TYPE_SMS" } } }));
    const message = await latestMessage(phone, "reset_link");
    expect(message.channel).toBe("sms");
  });

  it("refuses a template naming an unknown field with DOMAIN-oGh5e and changes nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const res = await rest(`/users/${user.userId}/password_reset`, {
      token: app.admin,
      json: { sendLink: { urlTemplate: "https://app.example.com/reset?u={{.LoginName}}" } },
    });
    await expectZitadelError(res, 400, 3, "DOMAIN-oGh5e");
    expect((await userRow(user.userId))!.sequence).toBe(1);
    expect(await resetRow(user.userId)).toBeNull();
  });

  it("lets a user reset their own password by link", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectOk(await rest(`/users/${user.userId}/password_reset`, { token, json: { sendLink: {} } }));
    await latestMessage(user.email, "reset_link");
  });

  it("refuses returnCode to a user's own token with PermissionDenied", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectZitadelError(await rest(`/users/${user.userId}/password_reset`, { token, json: { returnCode: {} } }), 403, 7, "AUTH-5mWD2");
  });

  it("refuses a user resetting another user with PermissionDenied and sends nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const other = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectZitadelError(await rest(`/users/${other.userId}/password_reset`, { token, json: {} }), 403, 7, "AUTH-5mWD2");
    expect(await outbox(other.email)).toEqual([]);
  });

  it("answers an unknown user with NotFound COMMAND-SAF4f", async () => {
    const app = await zitadelApp();
    await expectZitadelError(await rest("/users/987654321/password_reset", { token: app.admin, json: {} }), 404, 5, "COMMAND-SAF4f");
  });

  it("answers a disabled user with COMMAND-JLK35", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await everyShard.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(user.userId).run();
    await expectZitadelError(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: {} }), 400, 9, "COMMAND-JLK35");
  });

  it("answers the per-address limit with ResourceExhausted, 429 and Retry-After", async () => {
    const app = await zitadelApp({ rateLimits: { resetPerAddress: { limit: 1, windowSeconds: 900 } } });
    const user = await addHuman(app);
    await expectOk(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: {} }));
    const res = await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: {} });
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    await expectZitadelError(res, 429, 8, "LATCHKEY-RATE");
  });

  it("does not count returnCode against the per-address limit", async () => {
    const app = await zitadelApp({ rateLimits: { resetPerAddress: { limit: 1, windowSeconds: 900 } } });
    const user = await addHuman(app);
    await returnCode(app, user.userId);
    await returnCode(app, user.userId);
    await expectOk(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: {} }));
  });

  it("resets a user registered through Kii", async () => {
    const app = await zitadelApp();
    const kiiUser = await newUser(app);
    const code = await returnCode(app, kiiUser.userID);
    await expectOk(await rest(`/users/${kiiUser.userID}/password`, { token: app.admin, json: { newPassword: { password: "Brand-new-pass-1" }, verificationCode: code } }));
    expect(await signInStatus(app, kiiUser.loginName, "Brand-new-pass-1")).toBe(200);
    expect(await signInStatus(app, kiiUser.loginName, KII_PASSWORD)).toBe(400);
  });
});

describe("SetPassword", () => {
  it("sets the password with a returned code, once", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const code = await returnCode(app, user.userId);
    const body = await expectOk<{ details: Details }>(
      await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Another-pass-2" }, verificationCode: code } }),
    );
    expect(body.details).toMatchObject({ sequence: "3", resourceOwner: app.orgId });
    expect(await signInStatus(app, user.username, "Another-pass-2")).toBe(200);
    const again = await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Third-pass-3" }, verificationCode: code } });
    await expectZitadelError(again, 400, 9, "COMMAND-2M9fs");
  });

  it("answers a wrong code with CODE-woT0xc and keeps the password", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const code = await returnCode(app, user.userId);
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    const res = await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Another-pass-2" }, verificationCode: wrong } });
    await expectZitadelError(res, 400, 3, "CODE-woT0xc");
    expect(await signInStatus(app, user.username, PASSWORD)).toBe(200);
  });

  it("answers an expired code with CODE-QvUQ4P", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const code = await returnCode(app, user.userId);
    await everyShard.prepare("UPDATE password_resets SET expires_at = 1 WHERE user_id = ?").bind(user.userId).run();
    const res = await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Another-pass-2" }, verificationCode: code } });
    await expectZitadelError(res, 400, 9, "CODE-QvUQ4P");
  });

  it("answers a code when none was issued with COMMAND-2M9fs", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const res = await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Another-pass-2" }, verificationCode: "ABC123" } });
    await expectZitadelError(res, 400, 9, "COMMAND-2M9fs");
  });

  it("changes the password with the current one, by the user", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectOk(await rest(`/users/${user.userId}/password`, { token, json: { newPassword: { password: "Changed-pass-4" }, currentPassword: PASSWORD } }));
    expect(await signInStatus(app, user.username, "Changed-pass-4")).toBe(200);
  });

  it("answers a wrong current password with COMMAND-3M0fs", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    const res = await rest(`/users/${user.userId}/password`, { token, json: { newPassword: { password: "Changed-pass-4" }, currentPassword: "not-the-password" } });
    await expectZitadelError(res, 400, 3, "COMMAND-3M0fs");
    expect(await signInStatus(app, user.username, PASSWORD)).toBe(200);
  });

  it("lets an admin set a password with changeRequired, shown by GetUserByID", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectOk(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Admin-set-5", changeRequired: true } } }));
    const body = await expectOk<{ user: { human: { passwordChangeRequired?: boolean } } }>(await rest(`/users/${user.userId}`, { token: app.admin }));
    expect(body.user.human.passwordChangeRequired).toBe(true);
    expect(await signInStatus(app, user.username, "Admin-set-5")).toBe(200);
  });

  it("refuses a user setting their own password without verification", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    await expectZitadelError(await rest(`/users/${user.userId}/password`, { token, json: { newPassword: { password: "Self-set-6" } } }), 403, 7, "AUTH-5mWD2");
    expect(await signInStatus(app, user.username, PASSWORD)).toBe(200);
  });

  it("refuses a user changing another user's password", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const other = await addHuman(app);
    const token = await userToken(app, user.username, PASSWORD);
    const res = await rest(`/users/${other.userId}/password`, { token, json: { newPassword: { password: "Hijack-pass-7" }, currentPassword: PASSWORD } });
    await expectZitadelError(res, 403, 7, "AUTH-5mWD2");
  });

  it("answers an unknown user with FailedPrecondition COMMAND-G8dh3", async () => {
    const app = await zitadelApp();
    await expectZitadelError(await rest("/users/55555/password", { token: app.admin, json: { newPassword: { password: "Whatever-8" } } }), 400, 9, "COMMAND-G8dh3");
  });

  it("answers a too-short password with DOMAIN-HuJf6 and keeps the code", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const code = await returnCode(app, user.userId);
    await expectZitadelError(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "short" }, verificationCode: code } }), 400, 3, "DOMAIN-HuJf6");
    await expectOk(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Long-enough-9" }, verificationCode: code } }));
  });

  it.each([
    ["lowercase", { requireLowercase: true }, "NOLOWER-123!", "DOMAIN-co3Xw"],
    ["uppercase", { requireUppercase: true }, "noupper-123!", "DOMAIN-VoaRj"],
    ["number", { requireNumber: true }, "NoNumber-abc!", "DOMAIN-ZBv4H"],
    ["symbol", { requireSymbol: true }, "NoSymbol1234", "DOMAIN-ZDLwA"],
  ])("answers a missing %s class with its complexity id", async (_, policy, password, id) => {
    const app = await zitadelApp({ passwordPolicy: policy });
    const user = await addHuman(app, {}, null);
    await expectZitadelError(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password } } }), 400, 3, id);
  });
});

describe("unimplemented", () => {
  it("answers another UserService REST path with Unimplemented", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await rest(`/users/${user.userId}/totp`, { token: app.admin, json: {} }), 501, 12, "LATCHKEY-UNIMPLEMENTED");
    expect((await userRow(user.userId))!.id).toBe(user.userId);
  });
});
