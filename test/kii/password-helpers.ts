// Helpers for the Kii password-flow tests: reset calls, the dev outbox (reached through the real
// delivery Queue), and direct D1 reads for asserting that nothing changed.
import { env } from "cloudflare:test";
import { expect, vi } from "vitest";
import type { OutboxMessage } from "../../src/storage/outbox";
import { outboxStub } from "../../src/storage/outbox";
import { call, kiiHeaders, registerKiiUser, type TestApp, everyShard } from "../helpers";

export const PASSWORD = "correct horse battery";

let counter = 0;
/** A name no other test in the file uses: the outbox and the limiter are shared within a file. */
export const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

export interface TestUser {
  userID: string;
  loginName: string;
  email: string;
  phone: string;
}

let phoneCounter = 0;
export async function newUser(app: TestApp, fields: Record<string, unknown> = {}): Promise<TestUser> {
  const loginName = unique("user");
  const email = `${loginName}@example.com`;
  // E.164 and unique within the app.
  const phone = `+8190${String(Date.now() % 1_000_000).padStart(6, "0")}${String(phoneCounter++ % 100).padStart(2, "0")}`;
  const { userID } = await registerKiiUser(app, { loginName, emailAddress: email, phoneNumber: phone, password: PASSWORD, ...fields });
  return { userID, loginName, email: (fields.emailAddress as string) ?? email, phone: (fields.phoneNumber as string) ?? phone };
}

export const usersPath = (app: TestApp, id: string) => `/api/apps/${app.appId}/users/${id}`;

export function requestReset(
  app: TestApp,
  id: string,
  init: { json?: unknown; body?: string; contentType?: string; headers?: Record<string, string>; alias?: boolean } = {},
): Promise<Response> {
  const headers: Record<string, string> = kiiHeaders(app, init.headers);
  if (init.contentType) headers["Content-Type"] = init.contentType;
  else if (init.json !== undefined) headers["Content-Type"] = "application/vnd.kii.ResetPasswordRequest+json";
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  return call(`${usersPath(app, id)}/password/${init.alias ? "reset" : "request-reset"}`, { method: "POST", headers, body });
}

export function completeReset(app: TestApp, id: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(`${usersPath(app, id)}/password/complete-reset`, {
    method: "POST",
    headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.CompletePasswordResetRequest+json", ...headers }),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function changePassword(app: TestApp, id: string, token: string, body: unknown): Promise<Response> {
  return call(`${usersPath(app, id)}/password`, {
    method: "PUT",
    headers: kiiHeaders(app, { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.kii.ChangePasswordRequest+json" }),
    body: JSON.stringify(body),
  });
}

export const outbox = (to: string) => outboxStub(env.OUTBOX).list(to);

/** Waits until the outbox holds `count` messages to `to` (delivery goes through the Queue). */
export async function waitForMessages(to: string, count = 1, template?: string): Promise<OutboxMessage[]> {
  return vi.waitUntil(
    async () => {
      const all = await outbox(to);
      const matching = template ? all.filter((m) => m.template === template) : all;
      return matching.length >= count ? matching : false;
    },
    { timeout: 10_000, interval: 50 },
  );
}

/** The newest message to `to` with `template`, waiting for the `count`-th one to arrive. */
export async function latestMessage(to: string, template: string, count = 1): Promise<OutboxMessage> {
  return (await waitForMessages(to, count, template))[0]!;
}

/** A hosted reset link: {origin}/reset/{app}/{user}/{tag}#{code} (the code never in the path). */
export const LINK = /https?:\/\/[^\s"<]+\/reset\/([^/\s"<#]+)\/([^/\s"<#]+)\/([A-Za-z0-9_-]{16})#([^\s"<]+)/;

export interface HostedLink {
  url: string;
  /** The path the browser requests: everything before the fragment. */
  path: string;
  appId: string;
  userId: string;
  tag: string;
  code: string;
}

export function linkIn(message: OutboxMessage): HostedLink {
  const m = LINK.exec(message.text);
  expect(m, message.text).not.toBeNull();
  return {
    url: m![0],
    path: new URL(m![0]).pathname,
    appId: decodeURIComponent(m![1]!),
    userId: decodeURIComponent(m![2]!),
    tag: m![3]!,
    code: decodeURIComponent(m![4]!),
  };
}

/** The hosted form's POST, as the page sends it: the code (from the fragment) with the new password. */
export const resetForm = (code: string, password: string, confirm = password): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ code, password, confirm }).toString(),
});

export function pinIn(message: OutboxMessage): string {
  const m = /(?<!\d)(\d{6})(?!\d)/.exec(message.text);
  expect(m, message.text).not.toBeNull();
  return m![1]!;
}

/** Requests an SMS PIN for the user and returns it from the outbox (the `nth` PIN sent to them). */
export async function requestPin(app: TestApp, user: TestUser, nth = 1): Promise<string> {
  const res = await requestReset(app, user.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } });
  expect(res.status, await res.clone().text()).toBe(204);
  return pinIn(await latestMessage(user.phone, "reset_pin", nth));
}

export interface ResetRow {
  user_id: string;
  app_id: string;
  code_id: string | null;
  expires_at: number;
  failures: number;
  failed_at: number;
  updated_at: number;
}

export const resetRow = (userId: string) =>
  everyShard.prepare("SELECT * FROM password_resets WHERE user_id = ?").bind(userId).first<ResetRow>();

export const userRow = (userId: string) =>
  everyShard.prepare("SELECT * FROM users WHERE id = ?").bind(userId).first<Record<string, unknown>>();

export async function signInStatus(app: TestApp, username: string, password: string): Promise<number> {
  const res = await call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app), json: { username, password } });
  await res.arrayBuffer();
  return res.status;
}

/** Status of an authenticated read of the user: 200 while the token lives, 401 once revoked. */
export async function tokenStatus(app: TestApp, token: string): Promise<number> {
  const res = await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
  await res.arrayBuffer();
  return res.status;
}
