// Imported foreign hashes at sign-in (issue 12): a user imported in any format signs in, the hash
// is replaced by native scrypt in the same request, a wrong password changes nothing, the
// current-password checks of both dialects take the same path, and a concurrent change wins.
import { env } from "cloudflare:test";
import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { findApp } from "../../../src/core/apps";
import { createServices } from "../../../src/core/services";
import { authenticate, issueUserToken } from "../../../src/core/users";
import { signIn, everyShard } from "../../helpers";
import { changePassword, signInStatus, userRow } from "../../kii/password-helpers";
import { addHuman, expectOk, expectZitadelError, rest, zitadelApp, type ZitadelApp } from "../../zitadel/helpers";

const NATIVE = /^\$scrypt\$ln=14,r=8,p=5\$/;

/** One hash per format of the password "correct horse" (sources in verifiers.test.ts); argon2 and Firebase below. */
const HASHES: Record<string, string> = {
  bcrypt: "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
  scrypt: "$scrypt$ln=10,r=8,p=2$AAECAwQFBgcICQoLDA0ODw$RBjCXYboo4yjHH0P1K75vrL4xGciLt6io+o2v0yqSlqDMCxDMpbj3ZR4N7/uBmzyReEWZs4jFE4piyz/6L+O4g",
  "pbkdf2 (Django)": "pbkdf2_sha256$1000$seasalt0123$OqbXxe6PGNMkBy92TzNh5t7W/wJBrykUau70A+QmPzA=",
  "pbkdf2 (PHC)": "$pbkdf2-sha256$i=3000,l=32$AAECAwQFBgcICQoLDA0ODw$YB5LwBNmL1ZIlCLtzz4YLFVfjHK0HSBLMeXpMcUrb48",
  "sha256-crypt": "$5$x9SaltSalt$GYtTTbVlD4n96ApUxYEWtAM6wsgiGwroc7YFrRV.ScD",
  "sha512-crypt": "$6$x9SaltSalt$33S4mnO1GbWiJJZpJdqyuy0B0Y5iytkdmGve01WYfjemOaFoQwhkyyf8nDjjbKL/f3uxdsOiych0nRZ1FTSG0.",
  "md5-crypt": "$1$x9Salt12$6mgtcw44PFDDDUoq/kDJ10",
};
const PASSWORD = "correct horse";

async function importUser(app: ZitadelApp, hash: string) {
  return addHuman(app, { hashedPassword: { hash } }, null);
}

describe("sign-in with an imported foreign hash", () => {
  it.each(Object.entries(HASHES))("%s: signs in through Kii, is re-hashed to native scrypt, and signs in again", async (_, hash) => {
    const app = await zitadelApp();
    const user = await importUser(app, hash);
    expect((await userRow(user.userId))!.password_hash).toBe(hash);
    expect(await signInStatus(app, user.username, PASSWORD)).toBe(200);
    const after = (await userRow(user.userId))!.password_hash as string;
    expect(after).toMatch(NATIVE);
    expect(await signInStatus(app, user.username, PASSWORD)).toBe(200);
  });

  it("argon2id and Firebase scrypt (reference vectors): sign in and upgrade", async () => {
    const app = await zitadelApp();
    const argon = await importUser(app, "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4");
    expect(await signInStatus(app, argon.username, "password")).toBe(200);
    expect((await userRow(argon.userId))!.password_hash).toMatch(NATIVE);
    // Firebase's published example, in the stored form the bulk import writes (ZITADEL's
    // hashedPassword has no room for parameters, so it takes the stored form as is).
    const firebase =
      "$firebase-scrypt$ln=14,r=8$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$Bw$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ";
    const fb = await importUser(app, firebase);
    expect(await signInStatus(app, fb.username, "user1password")).toBe(200);
    expect((await userRow(fb.userId))!.password_hash).toMatch(NATIVE);
  });

  it("a SessionService password check upgrades the foreign hash too", async () => {
    const app = await zitadelApp();
    const user = await importUser(app, HASHES.bcrypt!);
    const wrong = await rest("/sessions", { token: app.admin, json: { checks: { user: { loginName: user.username }, password: { password: "not it" } } } });
    expect(wrong.status).toBe(400);
    expect((await userRow(user.userId))!.password_hash).toBe(HASHES.bcrypt);
    const res = await rest("/sessions", { token: app.admin, json: { checks: { user: { loginName: user.username }, password: { password: PASSWORD } } } });
    await expectOk(res);
    expect((await userRow(user.userId))!.password_hash).toMatch(NATIVE);
    expect(await signInStatus(app, user.username, PASSWORD)).toBe(200);
  });

  it("a wrong password leaves the foreign hash in place", async () => {
    const app = await zitadelApp();
    const hash = bcrypt.hashSync(PASSWORD, 4);
    const user = await importUser(app, hash);
    expect(await signInStatus(app, user.username, "wrong horse")).toBe(400);
    expect((await userRow(user.userId))!.password_hash).toBe(hash);
  });

  it("Kii's oldPassword check accepts the foreign hash and the change replaces it", async () => {
    const app = await zitadelApp();
    const user = await importUser(app, HASHES["sha512-crypt"]!);
    const token = ((await (await signIn(app, user.username, PASSWORD)).json()) as { access_token: string }).access_token;
    // Sign-in upgraded it; put a foreign hash back to exercise the change path against one.
    await everyShard.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(HASHES["md5-crypt"], user.userId).run();
    const res = await changePassword(app, "me", token, { oldPassword: PASSWORD, newPassword: "a brand new password" });
    expect(res.status, await res.text()).toBe(204);
    expect((await userRow(user.userId))!.password_hash).toMatch(NATIVE);
    expect(await signInStatus(app, user.username, "a brand new password")).toBe(200);
  });

  it("ZITADEL SetPassword with currentPassword checks a foreign hash", async () => {
    const app = await zitadelApp();
    const user = await importUser(app, HASHES.bcrypt!);
    const wrong = await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Changed-pass-4" }, currentPassword: "nope" } });
    await expectZitadelError(wrong, 400, 3, "COMMAND-3M0fs");
    await expectOk(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Changed-pass-4" }, currentPassword: PASSWORD } }));
    expect((await userRow(user.userId))!.password_hash).toMatch(NATIVE);
    expect(await signInStatus(app, user.username, "Changed-pass-4")).toBe(200);
  });

  it("a password change made while the upgrade is computed wins: the new password stays, no token is issued", async () => {
    const app = await zitadelApp();
    const user = await importUser(app, HASHES.bcrypt!);
    const svc = createServices(env);
    const core = (await findApp(svc, app.appId))!;
    const hash = svc.hasher.hash.bind(svc.hasher);
    const concurrent = "$1$x9Salt12$gMG6COuY8yG6SPYvZ26JN/";
    svc.hasher.hash = async (password: string) => {
      await everyShard.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(concurrent, user.userId).run();
      return hash(password);
    };
    const signedIn = await authenticate(svc, core, { by: "loginName", value: user.username }, PASSWORD);
    await expect(issueUserToken(svc, core, signedIn)).rejects.toMatchObject({ kind: "wrong_password" });
    expect((await userRow(user.userId))!.password_hash).toBe(concurrent);
  });

  it("ZITADEL AddHumanUser refuses a hash beyond its format's bounds with InvalidArgument", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: {
        profile: { givenName: "A", familyName: "B" },
        email: { email: "toocostly@example.com" },
        hashedPassword: { hash: "$2b$15$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2" },
      },
    });
    const body = await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
    expect(body.message).toMatch(/bcrypt cost must be a whole number from 4 to 14/);
  });
});
