// Every change a user can make, through each dialect, driven through the events harness. Each
// flow returns the user's id and every secret value it used or received (passwords, codes,
// tokens, addresses), for the test that no event carries one.
import { expect } from "vitest";
import { kiiHeaders, type TestApp } from "../helpers";
import { outbox, pinIn, unique } from "../kii/password-helpers";
import type { Harness } from "./helpers";

export const CLIENT_IP = "203.0.113.9";
export const PASSWORD = "Correct-horse-7";
export const NEW_PASSWORD = "Another-horse-8";
export const RESET_PASSWORD = "Third-horse-9";
const WRONG = ["not-the-password", "another-wrong-password", "x-unknown-user-password"];

export interface FlowRun {
  userId: string;
  /** Values no log line, queue body or webhook may contain. */
  secrets: string[];
}

const kii = (h: Harness, app: TestApp, path: string, init: { method?: string; json?: unknown; token?: string; type?: string } = {}) =>
  h.call(`/api/apps/${app.appId}${path}`, {
    method: init.method ?? "POST",
    headers: kiiHeaders(app, {
      "CF-Connecting-IP": CLIENT_IP,
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      ...(init.type ? { "Content-Type": init.type } : {}),
    }),
    ...(init.json !== undefined ? { json: init.json } : {}),
  });

const zitadel = (h: Harness, path: string, token: string, json?: unknown, method = json === undefined ? "GET" : "POST") =>
  h.call(`/v2${path}`, { method, headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": CLIENT_IP }, ...(json !== undefined ? { json } : {}) });

export async function ok(res: Response, status = 200): Promise<Record<string, any>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return text ? JSON.parse(text) : {};
}

/** An app admin token, through the harness (so its own request is captured too). */
async function adminTokenOf(h: Harness, app: TestApp): Promise<string> {
  const res = await h.call("/api/oauth2/token", {
    method: "POST",
    headers: kiiHeaders(app),
    json: { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret },
  });
  return (await ok(res)).access_token as string;
}

/**
 * Kii: register, two wrong passwords and an unknown user (this one without a client address),
 * sign in, change the password, reset it by SMS PIN, disable (twice: the second changes nothing),
 * enable, delete.
 */
export async function kiiFlows(h: Harness, app: TestApp): Promise<FlowRun> {
  const loginName = unique("ev");
  const email = `${loginName}@example.com`;
  const phone = `+8190${String(Date.now() % 100_000_000).padStart(8, "0")}`;
  const { userID } = await ok(
    await kii(h, app, "/users", { json: { loginName, emailAddress: email, phoneNumber: phone, password: PASSWORD }, type: "application/vnd.kii.RegistrationRequest+json" }),
    201,
  );
  const signIn = (password: string) =>
    h.call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app, { "CF-Connecting-IP": CLIENT_IP }), json: { username: loginName, password } });
  expect((await signIn(WRONG[0]!)).status).toBe(400);
  expect((await signIn(WRONG[1]!)).status).toBe(400);
  expect((await h.call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app), json: { username: "nobody-here", password: WRONG[2] } })).status).toBe(400);
  const token = (await ok(await signIn(PASSWORD))).access_token as string;
  await ok(await kii(h, app, `/users/me/password`, { method: "PUT", token, json: { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, type: "application/vnd.kii.ChangePasswordRequest+json" }), 204);
  await ok(await kii(h, app, `/users/${userID}/password/request-reset`, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" }, type: "application/vnd.kii.ResetPasswordRequest+json" }), 204);
  await h.deliverMessages();
  const pin = pinIn((await outbox(phone)).find((m) => m.template === "reset_pin")!);
  await ok(await kii(h, app, `/users/${userID}/password/complete-reset`, { json: { pinCode: pin, newPassword: RESET_PASSWORD }, type: "application/vnd.kii.CompletePasswordResetRequest+json" }), 204);
  const admin = await adminTokenOf(h, app);
  const status = (disabled: boolean) => kii(h, app, `/users/${userID}/status`, { method: "PUT", token: admin, json: { disabled }, type: "application/vnd.kii.UserStatusUpdateRequest+json" });
  await ok(await status(true), 204);
  await ok(await status(true), 204);
  await ok(await status(false), 204);
  await ok(await kii(h, app, `/users/${userID}`, { method: "DELETE", token: admin }), 204);
  return { userId: userID, secrets: [PASSWORD, NEW_PASSWORD, RESET_PASSWORD, ...WRONG, pin, token, admin, email, phone, "nobody-here"] };
}

/**
 * ZITADEL: AddHumanUser with an email code returned, VerifyEmail, a failed session password
 * check, SetPassword with the current password, PasswordReset returnCode and SetPassword with the
 * code, lock, unlock, deactivate, reactivate, delete.
 */
export async function zitadelFlows(h: Harness, app: TestApp): Promise<FlowRun> {
  const admin = await adminTokenOf(h, app);
  const username = unique("zev");
  const email = `${username}@example.com`;
  const created = await ok(
    await zitadel(h, "/users/human", admin, {
      username,
      profile: { givenName: "Ada", familyName: "Lovelace" },
      email: { email, returnCode: {} },
      password: { password: PASSWORD },
    }),
  );
  const userId = created.userId as string;
  await ok(await zitadel(h, `/users/${userId}/email/verify`, admin, { verificationCode: created.emailCode }));
  expect((await zitadel(h, "/sessions", admin, { checks: { user: { userId }, password: { password: WRONG[0] } } })).status).toBe(400);
  await ok(await zitadel(h, `/users/${userId}/password`, admin, { newPassword: { password: NEW_PASSWORD }, currentPassword: PASSWORD }));
  const { verificationCode } = await ok(await zitadel(h, `/users/${userId}/password_reset`, admin, { returnCode: {} }));
  await ok(await zitadel(h, `/users/${userId}/password`, admin, { newPassword: { password: RESET_PASSWORD }, verificationCode }));
  await ok(await zitadel(h, `/users/${userId}/lock`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}/unlock`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}/deactivate`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}/reactivate`, admin, {}));
  await ok(await zitadel(h, `/users/${userId}`, admin, undefined, "DELETE"));
  return { userId, secrets: [PASSWORD, NEW_PASSWORD, RESET_PASSWORD, WRONG[0]!, created.emailCode as string, verificationCode as string, admin, email, username] };
}
