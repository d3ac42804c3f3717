// Bad input on the REST paths: the ZITADEL error shape, never a 500, and nothing changed.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { latestMessage, resetRow, userRow } from "../kii/password-helpers";
import { addHuman, expectOk, expectZitadelError, rest, zitadelApp } from "./helpers";
import { everyShard } from "../helpers";

const usersOf = (appId: string) => everyShard.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(appId).first<number>("n");

/** What a request must not change: the user's row (sequence, hash, flags) and reset state. */
async function snapshot(userId: string) {
  return { user: await userRow(userId), reset: await resetRow(userId) };
}

describe("malformed bodies", () => {
  it.each([
    ["malformed JSON", "application/json", '{"newPassword": {'],
    ["a JSON array", "application/json", "[1, 2]"],
    ["a JSON string", "application/json", '"password"'],
    ["a wrong field type", "application/json", '{"newPassword": {"password": 12345678}}'],
    ["a list where a string belongs", "application/json", '{"newPassword": {"password": "Long-enough-1"}, "verificationCode": ["x"]}'],
    ["text/plain", "text/plain", '{"newPassword": {"password": "Long-enough-1"}}'],
    ["form data", "application/x-www-form-urlencoded", "newPassword=Long-enough-1"],
  ])("answers SetPassword with %s as InvalidArgument and changes nothing", async (_, contentType, body) => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const before = await snapshot(user.userId);
    const res = await rest(`/users/${user.userId}/password`, { token: app.admin, body, headers: { "Content-Type": contentType } });
    await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
    expect(await snapshot(user.userId)).toEqual(before);
  });

  it("treats an unknown notificationType name as Unspecified (email), as protojson's DiscardUnknown does", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const res = await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { sendLink: { notificationType: "NOTIFICATION_TYPE_FAX" } } });
    await expectOk(res);
    expect((await latestMessage(user.email, "reset_link")).channel).toBe("email");
  });

  it("refuses a body over 64 KiB before reading it", async () => {
    const app = await zitadelApp();
    const before = await usersOf(app.appId);
    const res = await rest("/users/human", {
      token: app.admin,
      json: { profile: { givenName: "A", familyName: "B" }, email: { email: "big@example.com" }, padding: "x".repeat(70 * 1024) },
    });
    await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
    expect(await usersOf(app.appId)).toBe(before);
  });
});

describe("ZITADEL's field limits", () => {
  it("refuses a userId over 200 characters", async () => {
    const app = await zitadelApp();
    await expectZitadelError(await rest(`/users/${"1".repeat(201)}`, { token: app.admin }), 400, 3, "LATCHKEY-INPUT");
  });

  it("refuses a verificationCode over 20 characters without burning the code", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const { verificationCode } = await expectOk<{ verificationCode: string }>(
      await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { returnCode: {} } }),
    );
    const before = await snapshot(user.userId);
    const res = await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Long-enough-1" }, verificationCode: "A".repeat(21) } });
    await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
    expect(await snapshot(user.userId)).toEqual(before);
    await expectOk(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "Long-enough-1" }, verificationCode } }));
  });

  it("refuses a password over 200 characters", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const before = await snapshot(user.userId);
    await expectZitadelError(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "a".repeat(201) } } }), 400, 3, "LATCHKEY-INPUT");
    expect(await snapshot(user.userId)).toEqual(before);
  });

  it("refuses an empty password", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await rest(`/users/${user.userId}/password`, { token: app.admin, json: { newPassword: { password: "" } } }), 400, 3, "LATCHKEY-INPUT");
  });

  it("refuses a URL template over 200 characters and sends nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const urlTemplate = `https://app.example.com/${"a".repeat(180)}?code={{.Code}}`;
    await expectZitadelError(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { sendLink: { urlTemplate } } }), 400, 3, "LATCHKEY-INPUT");
    expect(await resetRow(user.userId)).toBeNull();
  });

  it("refuses an AddHumanUser without profile", async () => {
    const app = await zitadelApp();
    const before = await usersOf(app.appId);
    await expectZitadelError(await rest("/users/human", { token: app.admin, json: { email: { email: "np@example.com" } } }), 400, 3, "LATCHKEY-INPUT");
    expect(await usersOf(app.appId)).toBe(before);
  });

  it("refuses a phone number that is not E.164", async () => {
    const app = await zitadelApp();
    const before = await usersOf(app.appId);
    const res = await rest("/users/human", { token: app.admin, json: { profile: { givenName: "A", familyName: "B" }, email: { email: "ph@example.com" }, phone: { phone: "090-1234-5678" } } });
    await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
    expect(await usersOf(app.appId)).toBe(before);
  });

  it("answers metadata, which Latchkey does not store, with Unimplemented", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: { profile: { givenName: "A", familyName: "B" }, email: { email: "md@example.com" }, metadata: [{ key: "k", value: "dg==" }] },
    });
    await expectZitadelError(res, 501, 12, "LATCHKEY-UNIMPLEMENTED");
  });
});

describe("generated bad bodies", () => {
  it("never answers SetPassword with a 500 or a change", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const before = await snapshot(user.userId);
    // Bodies that cannot succeed: no code was issued, so even a well-formed one is refused.
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            newPassword: fc.oneof(fc.jsonValue(), fc.record({ password: fc.jsonValue(), changeRequired: fc.jsonValue() }, { requiredKeys: [] })),
            verificationCode: fc.jsonValue(),
            currentPassword: fc.jsonValue(),
            user_id: fc.jsonValue(),
          },
          { requiredKeys: ["verificationCode"] },
        )
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const res = await rest(`/users/${user.userId}/password`, { token: app.admin, body: raw, headers: { "Content-Type": "application/json" } });
        const text = await res.text();
        expect(res.status, text).toBeGreaterThanOrEqual(400);
        expect(res.status, text).toBeLessThan(500);
        const parsed = JSON.parse(text) as { code: number; details: { id: string }[] };
        expect([3, 9]).toContain(parsed.code);
        expect(parsed.details[0]!.id).toMatch(/^[A-Z]+-\w+$/);
      }),
      { numRuns: 25 },
    );
    expect(await snapshot(user.userId)).toEqual(before);
  });

  it("never creates a user from a malformed AddHumanUser body", async () => {
    const app = await zitadelApp();
    const before = await usersOf(app.appId);
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({ profile: fc.jsonValue(), email: fc.jsonValue(), password: fc.jsonValue(), username: fc.jsonValue() }, { requiredKeys: [] })
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const res = await rest("/users/human", { token: app.admin, body: raw, headers: { "Content-Type": "application/json" } });
        const text = await res.text();
        expect(res.status, text).toBe(400);
        expect((JSON.parse(text) as { code: number }).code).toBe(3);
      }),
      { numRuns: 25 },
    );
    expect(await usersOf(app.appId)).toBe(before);
  });
});
