// Issue 9, items 4 and 8: only the app's admin chooses where a reset link points, and a user id
// says nothing about other apps: ids are unique per app.
import { describe, expect, it } from "vitest";
import { call, userToken } from "../helpers";
import { latestMessage, newUser, PASSWORD, unique } from "../kii/password-helpers";
import { addHuman, expectOk, expectZitadelError, rest, zitadelApp } from "./helpers";

describe("PasswordReset urlTemplate", () => {
  it("is refused (PermissionDenied) from a user's token, even on the user itself, and nothing is sent", async () => {
    const app = await zitadelApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const res = await rest(`/users/${user.userID}/password_reset`, { token, json: { sendLink: { urlTemplate: "https://attacker.example/steal?c={{.Code}}" } } });
    await expectZitadelError(res, 403, 7, "AUTH-5mWD2");
    // The user may still ask for the app's own link.
    await expectOk(await rest(`/users/${user.userID}/password_reset`, { token, json: { sendLink: {} } }));
    const message = await latestMessage(user.email, "reset_link");
    expect(message.text).not.toContain("attacker.example");
  });

  it("is refused over Connect too", async () => {
    const app = await zitadelApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const res = await call("/zitadel.user.v2.UserService/PasswordReset", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      json: { userId: user.userID, sendLink: { urlTemplate: "https://attacker.example/{{.Code}}" } },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("permission_denied");
  });

  it("is accepted from the app's admin", async () => {
    const app = await zitadelApp();
    const user = await newUser(app);
    await expectOk(await rest(`/users/${user.userID}/password_reset`, { token: app.admin, json: { sendLink: { urlTemplate: "https://app.example/r?c={{.Code}}" } } }));
    expect((await latestMessage(user.email, "reset_link")).text).toContain("https://app.example/r?c=");
  });
});

describe("user ids are unique per app", () => {
  it("lets two apps each have a user with the same chosen id, and keeps them apart", async () => {
    const one = await zitadelApp();
    const two = await zitadelApp();
    const userId = unique("same-id-");
    const a = await addHuman(one, { userId });
    const b = await addHuman(two, { userId });
    expect(a.userId).toBe(userId);
    expect(b.userId).toBe(userId);
    // A change in one app touches only that app's user.
    await expectOk(await rest(`/users/${userId}/password`, { token: one.admin, json: { newPassword: { password: "Other-app-pass-1" } } }));
    const inTwo = await expectOk<{ user: { details: { sequence: string } } }>(await rest(`/users/${userId}`, { token: two.admin }));
    expect(inTwo.user.details.sequence).toBe("1");
    const code = await expectOk<{ verificationCode: string }>(await rest(`/users/${userId}/password_reset`, { token: two.admin, json: { returnCode: {} } }));
    // App one's user has no code: app two's code does not reach it.
    await expectZitadelError(
      await rest(`/users/${userId}/password`, { token: one.admin, json: { newPassword: { password: "Cross-app-pass-1" }, verificationCode: code.verificationCode } }),
      400,
      9,
      "COMMAND-2M9fs",
    );
    await expectOk(await rest(`/users/${userId}/password`, { token: two.admin, json: { newPassword: { password: "Cross-app-pass-1" }, verificationCode: code.verificationCode } }));
  });

  it("refuses a userId taken in the same app with FailedPrecondition COMMAND-7yiox1isql, and a taken username with AlreadyExists", async () => {
    const app = await zitadelApp();
    const first = await addHuman(app, { userId: unique("dup-id-") });
    const sameId = await rest("/users/human", {
      token: app.admin,
      json: { userId: first.userId, username: unique("zuser"), profile: { givenName: "A", familyName: "B" }, email: { email: `${unique("e")}@example.com` } },
    });
    await expectZitadelError(sameId, 400, 9, "COMMAND-7yiox1isql");
    const sameName = await rest("/users/human", {
      token: app.admin,
      json: { userId: unique("other-id-"), username: first.username, profile: { givenName: "A", familyName: "B" }, email: { email: `${unique("e")}@example.com` } },
    });
    await expectZitadelError(sameName, 409, 6, "COMMA-CxDKf");
  });

  it("answers a fresh id and an id taken in another app alike", async () => {
    const one = await zitadelApp();
    const two = await zitadelApp();
    const taken = await addHuman(one, { userId: unique("taken-") });
    const fresh = unique("fresh-");
    await expectOk(
      await rest("/users/human", { token: two.admin, json: { userId: taken.userId, username: unique("zuser"), profile: { givenName: "A", familyName: "B" }, email: { email: `${unique("e")}@example.com` } } }),
    );
    await expectOk(
      await rest("/users/human", { token: two.admin, json: { userId: fresh, username: unique("zuser"), profile: { givenName: "A", familyName: "B" }, email: { email: `${unique("e")}@example.com` } } }),
    );
  });
});
