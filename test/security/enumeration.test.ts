// Issue 9, item 3: with enumerationProtection on, nothing tells a known user from an unknown one:
// not the per-address limit, not ZITADEL's PasswordReset on someone else's id, not the fields of
// the answer, not Kii's look-up by address.
import { describe, expect, it } from "vitest";
import { call, createApp, kiiHeaders, type TestApp, userToken } from "../helpers";
import { newUser, PASSWORD, requestReset } from "../kii/password-helpers";
import { rest } from "../zitadel/helpers";

const protectedApp = () => createApp({ enumerationProtection: true, rateLimits: { resetPerAddress: { limit: 3, windowSeconds: 900 } } });

async function statusesFor(app: TestApp, id: string): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < 3; i++) codes.push((await requestReset(app, id)).status);
  codes.push((await requestReset(app, id, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } })).status);
  codes.push((await requestReset(app, id, { json: { notificationMethod: "SMS", smsResetMethod: "URL" } })).status);
  return codes;
}

/** A ZITADEL answer with the per-request values (time, sequence) blanked: what remains must be equal. */
async function shape(res: Response): Promise<string> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${res.status} ${text}`;
  }
  const blank = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(blank) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === "changeDate" || k === "sequence" ? typeof x : blank(x)])) : v;
  return `${res.status} ${res.headers.get("Content-Type")} ${JSON.stringify(blank(body))}`;
}

describe("enumeration protection", () => {
  it("limits per address alike for a known and an unknown EMAIL: across channels", async () => {
    const app = await protectedApp();
    const user = await newUser(app);
    const known = await statusesFor(app, `EMAIL:${user.email}`);
    const unknown = await statusesFor(app, "EMAIL:nobody-here@example.com");
    expect(unknown).toEqual(known);
    expect(known).toEqual([204, 204, 204, 204, 204]);
  });

  it("limits per address alike for a known and an unknown login name and user id", async () => {
    const app = await protectedApp();
    const user = await newUser(app);
    expect(await statusesFor(app, `LOGIN_NAME:${user.loginName}`)).toEqual(await statusesFor(app, "LOGIN_NAME:nobodyhere"));
    expect(await statusesFor(app, user.userID)).toEqual(await statusesFor(app, "123456789012345678"));
  });

  it("ZITADEL PasswordReset with a user's token on another existing user answers exactly like an unknown id", async () => {
    const app = await protectedApp();
    const caller = await newUser(app);
    const victim = await newUser(app);
    const token = await userToken(app, caller.loginName, PASSWORD);
    for (const body of [{}, { sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } }, { sendLink: { notificationType: "NOTIFICATION_TYPE_SMS" } }]) {
      const other = await rest(`/users/${victim.userID}/password_reset`, { token, json: body });
      const unknown = await rest(`/users/999999999999999999/password_reset`, { token, json: body });
      expect(await shape(other)).toBe(await shape(unknown));
    }
  });

  it("a decoy answer carries every field a real one does, details.sequence included", async () => {
    const app = await protectedApp();
    const user = await newUser(app);
    const token = await userToken(app, user.loginName, PASSWORD);
    const real = await rest(`/users/${user.userID}/password_reset`, { token, json: {} });
    const decoy = await rest(`/users/999999999999999999/password_reset`, { token, json: {} });
    const realBody = (await real.clone().json()) as { details: Record<string, string> };
    const decoyBody = (await decoy.clone().json()) as { details: Record<string, string> };
    expect(Object.keys(decoyBody.details).sort()).toEqual(Object.keys(realBody.details).sort());
    expect(Number(decoyBody.details.sequence)).toBeGreaterThanOrEqual(2);
    expect(await shape(decoy)).toBe(await shape(real));
  });

  it("Kii GET /users/EMAIL:, PHONE: and LOGIN_NAME: of another user answers like an unknown user (404)", async () => {
    const app = await protectedApp();
    const caller = await newUser(app);
    const other = await newUser(app);
    const token = await userToken(app, caller.loginName, PASSWORD);
    const get = (id: string) => call(`/api/apps/${app.appId}/users/${encodeURIComponent(id)}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
    const pairs: [string, string][] = [
      [`EMAIL:${other.email}`, "EMAIL:nobody-here@example.com"],
      [`PHONE:${other.phone}`, "PHONE:+819099999999"],
      [`LOGIN_NAME:${other.loginName}`, "LOGIN_NAME:nobodyhere"],
    ];
    for (const [existing, unknown] of pairs) {
      const a = await get(existing);
      const b = await get(unknown);
      const bodyA = (await a.json()) as Record<string, unknown>;
      const bodyB = (await b.json()) as Record<string, unknown>;
      expect(a.status, existing).toBe(404);
      expect(b.status).toBe(404);
      expect(a.headers.get("Content-Type")).toBe(b.headers.get("Content-Type"));
      expect({ ...bodyA, value: "" }).toEqual({ ...bodyB, value: "" });
      expect(bodyA.errorCode).toBe("USER_NOT_FOUND");
    }
    // The user itself, and a look-up by user id, still work.
    expect((await get(`EMAIL:${caller.email}`)).status).toBe(200);
    expect((await get(other.userID)).status).toBe(200);
  });

  it("ZITADEL GetUserByID and SetPassword on another existing user answer exactly like an unknown id", async () => {
    const app = await protectedApp();
    const caller = await newUser(app);
    const other = await newUser(app);
    const token = await userToken(app, caller.loginName, PASSWORD);
    const unknownId = "999999999999999998";
    expect(await shape(await rest(`/users/${other.userID}`, { token }))).toBe(await shape(await rest(`/users/${unknownId}`, { token })));
    for (const body of [{ newPassword: { password: "Some-new-pass-1" }, currentPassword: PASSWORD }, { newPassword: { password: "Some-new-pass-1" }, verificationCode: "ABC123" }]) {
      const a = await shape(await rest(`/users/${other.userID}/password`, { token, json: body }));
      const b = await shape(await rest(`/users/${unknownId}/password`, { token, json: body }));
      expect(a).toBe(b);
    }
  });

  it("Kii complete-reset and password change answer an unknown user like a known one with nothing pending", async () => {
    const app = await protectedApp();
    const caller = await newUser(app);
    const other = await newUser(app);
    const token = await userToken(app, caller.loginName, PASSWORD);
    const complete = (id: string, newPassword: string) =>
      call(`/api/apps/${app.appId}/users/${encodeURIComponent(id)}/password/complete-reset`, {
        method: "POST",
        headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.CompletePasswordResetRequest+json" }),
        json: { pinCode: "123456", newPassword },
      });
    const change = (id: string) =>
      call(`/api/apps/${app.appId}/users/${encodeURIComponent(id)}/password`, {
        method: "PUT",
        headers: kiiHeaders(app, { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.kii.ChangePasswordRequest+json" }),
        json: { oldPassword: PASSWORD, newPassword: "a new long password" },
      });
    const kiiShape = async (res: Response) => {
      const body = (await res.json()) as Record<string, unknown>;
      return JSON.stringify({ status: res.status, type: res.headers.get("Content-Type"), ...body, value: "" });
    };
    for (const [known, unknown] of [
      [other.userID, "999999999999999997"],
      [`EMAIL:${other.email}`, "EMAIL:nobody-here@example.com"],
    ] as const) {
      expect(await kiiShape(await complete(known, "a new long password"))).toBe(await kiiShape(await complete(unknown, "a new long password")));
      expect(await kiiShape(await complete(known, "short"))).toBe(await kiiShape(await complete(unknown, "short")));
      expect(await kiiShape(await change(known))).toBe(await kiiShape(await change(unknown)));
    }
  });
});
