// Issue 9, item 9: a link whose code is not the live one is dead. It shows the dead-link page on
// GET and on POST, and counts against nothing: however often an old email link is submitted, the
// user's current code keeps all its attempts.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createApp, signIn, type TestApp, everyShard } from "../helpers";
import { completeReset, type HostedLink, latestMessage, linkIn, newUser, PASSWORD, requestPin, requestReset, resetForm, resetRow } from "../kii/password-helpers";
import { expectOk, rest } from "../zitadel/helpers";
import { adminToken } from "../helpers";

const h1 = async (res: Response) => /<h1>(.*?)<\/h1>/.exec(await res.text())?.[1];

async function emailLink(app: TestApp, user: { userID: string; email: string }, nth = 1): Promise<HostedLink> {
  expect((await requestReset(app, user.userID)).status).toBe(204);
  return linkIn(await latestMessage(user.email, "reset_link", nth));
}

async function zitadelCode(app: TestApp, admin: string, userId: string): Promise<string> {
  const body = await expectOk<{ verificationCode: string }>(await rest(`/users/${userId}/password_reset`, { token: admin, json: { returnCode: {} } }));
  return body.verificationCode;
}

describe("a stale link", () => {
  it("after a PIN reset and a newer ZITADEL code: dead on GET and POST, the live code keeps every attempt", async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    const oldLink = await emailLink(app, user);
    const pin = await requestPin(app, user);
    expect((await completeReset(app, user.userID, { pinCode: pin, newPassword: "pin chosen password" })).status).toBe(204);
    const code = await zitadelCode(app, admin, user.userID);
    const before = await resetRow(user.userID);

    const get = await call(oldLink.path);
    expect(get.status).toBe(410);
    expect(await h1(get)).toBe("This link has been replaced");
    for (let i = 0; i < 6; i++) {
      const post = await call(oldLink.path, resetForm(oldLink.code, `stale link password ${i}`));
      expect(post.status).toBe(410);
      expect(await h1(post)).toBe("This link has been replaced");
    }
    expect(await resetRow(user.userID)).toEqual(before);
    expect(before!.failures).toBe(0);
    // The live code still works, and nothing the dead link sent was stored.
    await expectOk(await rest(`/users/${user.userID}/password`, { token: admin, json: { newPassword: { password: "zitadel chosen password" }, verificationCode: code } }));
    expect((await signIn(app, user.loginName, "zitadel chosen password")).status).toBe(200);
    expect((await signIn(app, user.loginName, "stale link password 0")).status).toBe(400);
  });

  it("an older ZITADEL sendLink link after a newer one: dead on GET and POST, nothing counted, the newer one works", async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    const send = () => rest(`/users/${user.userID}/password_reset`, { token: admin, json: { sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } } });
    await expectOk(await send());
    const older = linkIn(await latestMessage(user.email, "reset_link", 1));
    await expectOk(await send());
    const newer = linkIn(await latestMessage(user.email, "reset_link", 2));
    expect(newer.path).not.toBe(older.path);
    // Hosted links name the code they were issued as by its tag; the 6-character code is in the fragment only.
    expect(older.path).toMatch(/\/[A-Za-z0-9_-]{16}$/);
    expect(older.code).toMatch(/^[A-Z0-9]{6}$/);

    expect((await call(older.path)).status).toBe(410);
    for (let i = 0; i < 6; i++) expect((await call(older.path, resetForm(older.code, `older link password ${i}`))).status).toBe(410);
    // Even the newer code under the older tag: the tag is what makes the link stale.
    expect((await call(older.path, resetForm(newer.code, "older link password x"))).status).toBe(410);
    expect((await resetRow(user.userID))!.failures).toBe(0);
    expect((await call(newer.path)).status).toBe(200);
    expect((await call(newer.path, resetForm(newer.code, "newer link password"))).status).toBe(200);
    expect((await signIn(app, user.loginName, "newer link password")).status).toBe(200);
  });

  it("a made-up link (a bare 6-character code, a PIN, a wrong tag) is dead and counts nothing", async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    const code = await zitadelCode(app, admin, user.userID);
    const pin = "123456";
    for (const segment of [code, pin, `${code}.AAAAAAAAAAAAAAAA`, "A".repeat(43), "A".repeat(16)]) {
      const path = `/reset/${app.appId}/${user.userID}/${segment}`;
      expect((await call(path)).status, segment).toBeGreaterThanOrEqual(404);
      const post = await call(path, resetForm(code, "made up password"));
      expect(post.status, segment).toBeGreaterThanOrEqual(404);
      expect(post.status, segment).toBeLessThan(500);
    }
    expect((await resetRow(user.userID))!.failures).toBe(0);
    expect((await signIn(app, user.loginName, PASSWORD)).status).toBe(200);
    await expectOk(await rest(`/users/${user.userID}/password`, { token: admin, json: { newPassword: { password: "the real one 1" }, verificationCode: code } }));
  });

  it("does not change the D1 row of the live code on any dead-link request", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const oldLink = await emailLink(app, user, 1);
    await requestPin(app, user);
    const before = await everyShard.prepare("SELECT * FROM password_resets WHERE user_id = ?").bind(user.userID).first();
    for (let i = 0; i < 5; i++) await call(oldLink.path, resetForm(oldLink.code, "whatever password"));
    expect(await everyShard.prepare("SELECT * FROM password_resets WHERE user_id = ?").bind(user.userID).first()).toEqual(before);
  });
});
