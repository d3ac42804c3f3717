// Issue 9, items 1 and 2: guesses cannot outrun the limit, and a password change cannot
// overwrite a reset that landed after the old password was checked. Every race here sends its
// requests at once, and is repeated.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken, call, createApp, type TestApp, everyShard } from "../helpers";
import { completeReset, linkIn, latestMessage, newUser, PASSWORD, requestPin, resetForm, resetRow, signInStatus, type TestUser } from "../kii/password-helpers";
import { expectOk, rest } from "../zitadel/helpers";
import { findApp } from "../../src/core/apps";
import { changePassword } from "../../src/core/reset";
import { createServices } from "../../src/core/services";
import { findUserById } from "../../src/core/users";

const MAX = 5;
const ROUNDS = 3;
const WRONG = 20;

/** A wrong 6-digit PIN, never equal to `pin`. */
const wrongPin = (pin: string, i: number) => {
  const n = (Number(pin) + 1 + i) % 1_000_000;
  return String(n).padStart(6, "0");
};

async function bodyOf(res: Response): Promise<string> {
  return `${res.status} ${await res.text()}`;
}

/** Forgets the user's failures, so each round starts with five attempts. */
const clearFailures = (appId: string, userId: string) =>
  everyShard.prepare("UPDATE password_resets SET failures = 0, failed_at = 0 WHERE app_id = ? AND user_id = ?").bind(appId, userId).run();

describe("at most five guesses are evaluated, whatever the concurrency", () => {
  it("Kii PIN completion: 20 wrong PINs and the right one at once, three rounds", async () => {
    const app = await createApp();
    const user = await newUser(app);
    for (let round = 1; round <= ROUNDS; round++) {
      await clearFailures(app.appId, user.userID);
      const pin = await requestPin(app, user, round);
      const guesses = [...Array.from({ length: WRONG }, (_, i) => wrongPin(pin, i)), pin];
      const responses = await Promise.all(guesses.map((pinCode, i) => completeReset(app, user.userID, { pinCode, newPassword: `round ${round} password ${i}` })));
      const answers = await Promise.all(responses.map(bodyOf));
      const evaluated = responses.filter((r) => r.status === 403 || r.status === 204);
      expect(evaluated.length, answers.join("\n")).toBeLessThanOrEqual(MAX);
      // Every guess that found no attempt left got one and the same answer, the right PIN included.
      const pastLimit = answers.filter((_, i) => responses[i]!.status !== 403 && responses[i]!.status !== 204);
      expect(new Set(pastLimit).size, pastLimit.join("\n")).toBeLessThanOrEqual(1);
      for (const a of pastLimit) expect(a).toMatch(/^409 .*"errorCode":"INVALID_STATUS"/);
      const right = responses[WRONG]!;
      if (right.status !== 204) {
        expect(answers[WRONG]).toBe(pastLimit[0]);
        expect(await signInStatus(app, user.loginName, `round ${round} password ${WRONG}`)).toBe(400);
      }
      expect((await resetRow(user.userID))!.failures).toBeLessThanOrEqual(MAX);
    }
  });

  it("ZITADEL SetPassword with a verificationCode: 20 wrong codes and the right one at once, three rounds", async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    for (let round = 1; round <= ROUNDS; round++) {
      await clearFailures(app.appId, user.userID);
      const { verificationCode } = await expectOk<{ verificationCode: string }>(
        await rest(`/users/${user.userID}/password_reset`, { token: admin, json: { returnCode: {} } }),
      );
      const wrong = Array.from({ length: WRONG }, (_, i) => `ZZ${String(i).padStart(4, "0")}`).filter((c) => c !== verificationCode);
      const guesses = [...wrong, verificationCode];
      const responses = await Promise.all(
        guesses.map((code, i) => rest(`/users/${user.userID}/password`, { token: admin, json: { newPassword: { password: `Round-${round}-password-${i}` }, verificationCode: code } })),
      );
      const answers = await Promise.all(responses.map(bodyOf));
      const evaluated = answers.filter((a) => a.includes("CODE-woT0xc") || a.startsWith("200 "));
      expect(evaluated.length, answers.join("\n")).toBeLessThanOrEqual(MAX);
      const pastLimit = answers.filter((a) => !a.includes("CODE-woT0xc") && !a.startsWith("200 "));
      expect(new Set(pastLimit).size, pastLimit.join("\n")).toBeLessThanOrEqual(1);
      for (const a of pastLimit) expect(a).toMatch(/^400 .*COMMAND-2M9fs/);
      if (!answers.at(-1)!.startsWith("200 ")) expect(answers.at(-1)).toBe(pastLimit[0]);
    }
  });

  it("the hosted page POST: 20 altered codes under a live link's tag and the link itself at once", async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    for (let round = 1; round <= ROUNDS; round++) {
      await clearFailures(app.appId, user.userID);
      await expectOk(await rest(`/users/${user.userID}/password_reset`, { token: admin, json: { sendLink: {} } }));
      const link = linkIn(await latestMessage(user.email, "reset_link", round));
      const wrong = Array.from({ length: WRONG }, (_, i) => `Z${String(i).padStart(5, "0")}`).filter((c) => c !== link.code);
      const codes = [...wrong, link.code];
      const responses = await Promise.all(codes.map((code, i) => call(link.path, resetForm(code, `page password ${round}-${i}`))));
      const pages = await Promise.all(responses.map(async (r) => `${r.status} ${/<h1>(.*?)<\/h1>/.exec(await r.text())?.[1]}`));
      const wasEvaluated = (p: string) => p === "400 Choose a new password" || p === "200 Password changed";
      expect(pages.filter(wasEvaluated).length, pages.join("\n")).toBeLessThanOrEqual(MAX);
      const pastLimit = pages.filter((p) => !wasEvaluated(p));
      expect(new Set(pastLimit).size, pastLimit.join("\n")).toBeLessThanOrEqual(1);
      expect((await resetRow(user.userID))!.failures).toBeLessThanOrEqual(MAX);
    }
  });
});

async function resetCode(app: TestApp, admin: string, user: TestUser): Promise<string> {
  const body = await expectOk<{ verificationCode: string }>(await rest(`/users/${user.userID}/password_reset`, { token: admin, json: { returnCode: {} } }));
  return body.verificationCode;
}

describe("a password change cannot overwrite a reset that completed after the old password was checked", () => {
  it("change (old password) and reset (code) racing, the change sent 0 to 20 ms later: exactly one wins and its password works", { timeout: 120_000 }, async () => {
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    let current = PASSWORD;
    const outcomes: string[] = [];
    // Scrypt blocks its isolate, so who reads and who writes first depends on timing: the sweep
    // puts the reset's write between the change's read of the old hash and its own write.
    for (const [round, delay] of [0, 10, 20].entries()) {
      const code = await resetCode(app, admin, user);
      const byChange = `Changed-password-${round}`;
      const byReset = `Reset-password-${round}`;
      const reset = rest(`/users/${user.userID}/password`, { token: admin, json: { newPassword: { password: byReset }, verificationCode: code } });
      await new Promise((r) => setTimeout(r, delay));
      const change = await rest(`/users/${user.userID}/password`, { token: admin, json: { newPassword: { password: byChange }, currentPassword: current } });
      const resetRes = await reset;
      const changeText = await change.text();
      const resetText = await resetRes.text();
      outcomes.push(`${delay} ms: change ${change.status}, reset ${resetRes.status}`);
      const wins = [change.status, resetRes.status].filter((s) => s === 200).length;
      expect(wins, `${outcomes.join("; ")}\nchange ${changeText}\nreset ${resetText}`).toBe(1);
      // A lost change is answered like a wrong old password; a lost reset like a used code.
      if (change.status !== 200) expect(changeText).toContain("COMMAND-3M0fs");
      if (resetRes.status !== 200) expect(resetText).toContain("COMMAND-2M9fs");
      current = change.status === 200 ? byChange : byReset;
      expect(await signInStatus(app, user.loginName, current)).toBe(200);
      expect(await signInStatus(app, user.loginName, current === byChange ? byReset : byChange)).toBe(400);
    }
  });

  it("a change that read the user before a reset landed is refused like a wrong old password, and changes nothing", async () => {
    // The interleaving, made exact: the change's read of the user (and its check of the old
    // password against it), then a reset by code, then the change's write.
    const app = await createApp();
    const admin = await adminToken(app);
    const user = await newUser(app);
    const svc = createServices(env);
    const appRow = (await findApp(svc, app.appId))!;
    const stale = (await findUserById(svc, appRow, user.userID))!;
    const code = await resetCode(app, admin, user);
    await expectOk(await rest(`/users/${user.userID}/password`, { token: admin, json: { newPassword: { password: "Reset-in-between-1" }, verificationCode: code } }));
    const before = await everyShard.prepare("SELECT password_hash, sequence FROM users WHERE id = ?").bind(user.userID).first();
    await expect(
      changePassword(svc, appRow, { user: stale, principal: { kind: "user", appId: app.appId, userId: user.userID }, oldPassword: PASSWORD, newPassword: "changed over the reset" }),
    ).rejects.toMatchObject({ kind: "wrong_password" });
    expect(await everyShard.prepare("SELECT password_hash, sequence FROM users WHERE id = ?").bind(user.userID).first()).toEqual(before);
    expect(await signInStatus(app, user.loginName, "Reset-in-between-1")).toBe(200);
    expect(await signInStatus(app, user.loginName, "changed over the reset")).toBe(400);
  });

  it("Kii: a change racing a PIN reset: exactly one succeeds, a lost change answers 401", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const token = (await (await call("/api/oauth2/token", { method: "POST", headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey }, json: { username: user.loginName, password: PASSWORD } })).json()) as {
      access_token: string;
    };
    const pin = await requestPin(app, user);
    const [change, reset] = await Promise.all([
      call(`/api/apps/${app.appId}/users/me/password`, {
        method: "PUT",
        headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey, Authorization: `Bearer ${token.access_token}`, "Content-Type": "application/vnd.kii.ChangePasswordRequest+json" },
        body: JSON.stringify({ oldPassword: PASSWORD, newPassword: "changed by the user" }),
      }),
      completeReset(app, user.userID, { pinCode: pin, newPassword: "reset by the pin" }),
    ]);
    const statuses = [change.status, reset.status];
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    if (change.status !== 204) {
      expect(change.status).toBe(401);
      // WRONG_PASSWORD when the change checked the old password first; UNAUTHORIZED if the reset
      // had already revoked the token before the change was even read.
      expect(["WRONG_PASSWORD", "UNAUTHORIZED"]).toContain(((await change.json()) as { errorCode: string }).errorCode);
      expect(await signInStatus(app, user.loginName, "reset by the pin")).toBe(200);
    } else {
      expect(await signInStatus(app, user.loginName, "changed by the user")).toBe(200);
    }
  });
});
