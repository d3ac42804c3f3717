// Address verification in the ZITADEL dialect (issue 11): AddHumanUser's email/phone options,
// SetEmail / ResendEmailCode / VerifyEmail, SetPhone / ResendPhoneCode / VerifyPhone /
// RemovePhone, with ZITADEL's error ids. REST here, plus one Connect JSON call; the official
// client drives every transport in test/e2e/verification.e2e.ts.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, userToken, everyShard } from "../helpers";
import { latestMessage, outbox, unique } from "../kii/password-helpers";
import { expectOk, expectZitadelError, PASSWORD, rest, type ZitadelApp, zitadelApp } from "./helpers";

let phoneCounter = 0;
const newPhone = () => `+4179${String(Date.now() % 1_000_000).padStart(6, "0")}${String(phoneCounter++ % 100).padStart(2, "0")}`;

async function add(app: ZitadelApp, email: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const username = unique("zv");
  const address = `${username}@example.com`;
  const body = await expectOk<{ userId: string; emailCode?: string; phoneCode?: string }>(
    await rest("/users/human", {
      token: app.admin,
      json: { username, profile: { givenName: "Grace", familyName: "Hopper" }, email: { email: address, ...email }, password: { password: PASSWORD }, ...extra },
    }),
  );
  return { ...body, username, email: address };
}

const human = async (app: ZitadelApp, userId: string) =>
  (await expectOk<{ user: { human: { email: { email: string; isVerified?: boolean }; phone: { phone: string; isVerified?: boolean } } } }>(
    await rest(`/users/${userId}`, { token: app.admin }),
  )).user.human;

describe("AddHumanUser", () => {
  it("returnCode answers emailCode; the address stays unverified until VerifyEmail", async () => {
    const app = await zitadelApp();
    const u = await add(app, { returnCode: {} });
    expect(u.emailCode).toMatch(/^[A-Z0-9]{6}$/);
    expect((await human(app, u.userId)).email.isVerified ?? false).toBe(false);
    expect(await outbox(u.email)).toHaveLength(0);
    const wrong = u.emailCode === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    await expectZitadelError(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: wrong } }), 400, 3, "COMMAND-eis9R");
    await expectOk(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: u.emailCode } }));
    expect((await human(app, u.userId)).email.isVerified).toBe(true);
    await expectZitadelError(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: u.emailCode } }), 400, 9, "COMMAND-3M9ds");
  });

  it("without an option sends a verification email and leaves the address unverified, even in an app that trusts Kii addresses", async () => {
    const app = await zitadelApp({ verification: { email: "trusted", phone: "trusted" } });
    const u = await add(app, {});
    expect(u.emailCode).toBeUndefined();
    const mail = await latestMessage(u.email, "verify_email_code");
    expect(mail.text).toMatch(/\b[A-Z0-9]{6}\b/);
    const link = new URL(/(https?:\/\/\S+\/verify\/\S+)/.exec(mail.text)![1]!);
    expect(link.pathname).toBe(`/verify/${app.appId}/${u.userId}`);
    expect(link.hash).toMatch(/^#[A-Z0-9]{6}$/);
    expect((await human(app, u.userId)).email.isVerified ?? false).toBe(false);
  });

  it("sendCode with a urlTemplate sends the filled-in link; isVerified true is the admin's word", async () => {
    const app = await zitadelApp();
    const u = await add(app, { sendCode: { urlTemplate: "https://app.example/verify?u={{.UserID}}&c={{.Code}}&o={{.OrgID}}" } });
    const mail = await latestMessage(u.email, "verify_email_code");
    expect(mail.text).toMatch(new RegExp(`https://app\\.example/verify\\?u=${u.userId}&c=[A-Z0-9]{6}&o=${app.orgId}`));
    const v = await add(app, { isVerified: true });
    expect((await human(app, v.userId)).email.isVerified).toBe(true);
  });

  it("phone returnCode answers phoneCode, which VerifyPhone accepts", async () => {
    const app = await zitadelApp();
    const phone = newPhone();
    const u = await add(app, { isVerified: true }, { phone: { phone, returnCode: {} } });
    expect(u.phoneCode).toMatch(/^\d{6}$/);
    await expectOk(await rest(`/users/${u.userId}/phone/verify`, { token: app.admin, json: { verificationCode: u.phoneCode } }));
    expect((await human(app, u.userId)).phone).toMatchObject({ phone, isVerified: true });
  });
});

describe("SetEmail", () => {
  it("keeps the verified address until the new one is verified; resets go to the old one", async () => {
    const app = await zitadelApp();
    const u = await add(app, { isVerified: true });
    const next = `${unique("next")}@example.com`;
    const set = await expectOk<{ verificationCode: string }>(await rest(`/users/${u.userId}/email`, { token: app.admin, json: { email: next, returnCode: {} } }));
    expect((await human(app, u.userId)).email).toMatchObject({ email: u.email, isVerified: true });
    await expectOk(await rest(`/users/${u.userId}/password_reset`, { token: app.admin, json: { sendLink: {} } }));
    await latestMessage(u.email, "reset_link");
    expect(await outbox(next)).toHaveLength(0);
    await expectOk(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: set.verificationCode } }));
    expect((await human(app, u.userId)).email).toMatchObject({ email: next, isVerified: true });
  });

  it("refuses returnCode, a URL template and isVerified from the user's own token", async () => {
    const app = await zitadelApp();
    const u = await add(app, { isVerified: true });
    const token = await userToken(app, u.username, PASSWORD);
    const next = `${unique("self")}@example.com`;
    for (const option of [{ returnCode: {} }, { sendCode: { urlTemplate: "https://evil.example/{{.Code}}" } }, { isVerified: true }]) {
      await expectZitadelError(await rest(`/users/${u.userId}/email`, { token, json: { email: next, ...option } }), 403, 7, "AUTH-5mWD2");
    }
    // Plain sendCode is the user's right: the code goes to the new address.
    await expectOk(await rest(`/users/${u.userId}/email`, { token, json: { email: next, sendCode: {} } }));
    await latestMessage(next, "verify_email_code");
  });

  it("answers the unchanged, verified address with COMMAND-Uch5e; bad input changes nothing", async () => {
    const app = await zitadelApp();
    const u = await add(app, { isVerified: true });
    await expectZitadelError(await rest(`/users/${u.userId}/email`, { token: app.admin, json: { email: u.email } }), 400, 9, "COMMAND-Uch5e");
    await expectZitadelError(await rest(`/users/${u.userId}/email`, { token: app.admin, json: { email: "nope" } }), 400, 3, "LATCHKEY-INPUT");
    await expectZitadelError(await rest(`/users/${u.userId}/email`, { token: app.admin, json: { email: `${"x".repeat(300)}@example.com` } }), 400, 3, "LATCHKEY-INPUT");
    await expectZitadelError(
      await rest(`/users/${u.userId}/email`, { token: app.admin, json: { email: "a@example.com", sendCode: { urlTemplate: "https://x.example/{{.Nope}}" } } }),
      400,
      3,
      "DOMAIN-oGh5e",
    );
    await expectZitadelError(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: "X".repeat(21) } }), 400, 3, "LATCHKEY-INPUT");
    await expectZitadelError(await rest(`/users/nobody/email/verify`, { token: app.admin, json: { verificationCode: "ABCDEF" } }), 404, 5, "COMMAND-SAF4f");
    const rows = await everyShard.prepare("SELECT count(*) AS n FROM address_verifications WHERE app_id = ?").bind(app.appId).first<{ n: number }>();
    expect(rows!.n).toBe(0);
    expect((await human(app, u.userId)).email).toMatchObject({ email: u.email, isVerified: true });
  });

  it("answers an expired code with CODE-QvUQ4P and a resend with nothing pending with COMMAND-3M9ds", async () => {
    const app = await zitadelApp();
    const u = await add(app, { returnCode: {} });
    await everyShard.prepare("UPDATE address_verifications SET expires_at = 1 WHERE app_id = ? AND user_id = ?").bind(app.appId, u.userId).run();
    await expectZitadelError(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: u.emailCode } }), 400, 9, "CODE-QvUQ4P");
    const again = await expectOk<{ verificationCode: string }>(await rest(`/users/${u.userId}/email/resend`, { token: app.admin, json: { returnCode: {} } }));
    await expectOk(await rest(`/users/${u.userId}/email/verify`, { token: app.admin, json: { verificationCode: again.verificationCode } }));
    await expectZitadelError(await rest(`/users/${u.userId}/email/resend`, { token: app.admin, json: {} }), 400, 9, "COMMAND-3M9ds");
  });
});

describe("phone", () => {
  it("SetPhone sends an SMS code; VerifyPhone over Connect verifies; RemovePhone removes it", async () => {
    const app = await zitadelApp();
    const u = await add(app, { isVerified: true });
    const phone = newPhone();
    await expectOk(await rest(`/users/${u.userId}/phone`, { token: app.admin, json: { phone, sendCode: {} } }));
    const code = /\b(\d{6})\b/.exec((await latestMessage(phone, "verify_sms_code")).text)![1]!;
    expect((await human(app, u.userId)).phone.isVerified ?? false).toBe(false);
    const res = await call("/zitadel.user.v2.UserService/VerifyPhone", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${app.admin}` },
      body: JSON.stringify({ userId: u.userId, verificationCode: code }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await human(app, u.userId)).phone).toMatchObject({ phone, isVerified: true });
    await expectZitadelError(await rest(`/users/${u.userId}/phone/resend`, { token: app.admin, json: {} }), 400, 9, "COMMAND-2M9sf");
    const other = newPhone();
    await expectOk(await rest(`/users/${u.userId}/phone`, { token: app.admin, json: { phone: other, returnCode: {} } }));
    const resent = await expectOk<{ verificationCode: string }>(await rest(`/users/${u.userId}/phone/resend`, { token: app.admin, json: { returnCode: {} } }));
    expect(resent.verificationCode).toMatch(/^\d{6}$/);
    expect((await human(app, u.userId)).phone).toMatchObject({ phone, isVerified: true }); // the new number is pending
    await expectOk(await rest(`/users/${u.userId}/phone`, { token: app.admin, method: "DELETE" }));
    expect((await human(app, u.userId)).phone.phone ?? "").toBe("");
    await expectZitadelError(await rest(`/users/${u.userId}/phone`, { token: app.admin, method: "DELETE" }), 404, 5, "COMMAND-2b7Hf");
  });
});
