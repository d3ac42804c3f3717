// Helpers for the ZITADEL-dialect tests: REST calls with a bearer token, the error shape of
// SPEC §4, and users created through AddHumanUser.
import { expect } from "vitest";
import { adminToken, call, createApp, type TestApp } from "../helpers";
import { unique } from "../kii/password-helpers";

export const PASSWORD = "Correct-horse-7";

export interface ZitadelApp extends TestApp {
  admin: string;
}

export async function zitadelApp(settings: Record<string, unknown> = {}): Promise<ZitadelApp> {
  const app = await createApp(settings);
  return { ...app, admin: await adminToken(app) };
}

export function rest(path: string, init: { token?: string | null; json?: unknown; body?: string; method?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  const method = init.method ?? (init.json !== undefined || init.body !== undefined ? "POST" : "GET");
  return call(`/v2${path}`, { method, headers, ...(init.json !== undefined ? { json: init.json } : {}), ...(init.body !== undefined ? { body: init.body } : {}) });
}

export interface ZitadelErrorBody {
  code: number;
  message: string;
  details: { "@type": string; id: string; message: string }[];
}

/** Asserts SPEC §4's REST error: HTTP status, gRPC code, "<text> (<id>)" and one ErrorDetail. */
export async function expectZitadelError(res: Response, status: number, code: number, id: string): Promise<ZitadelErrorBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ZitadelErrorBody;
  expect(body.code).toBe(code);
  expect(body.details).toHaveLength(1);
  expect(body.details[0]!["@type"]).toBe("type.googleapis.com/zitadel.v1.ErrorDetail");
  expect(body.details[0]!.id).toBe(id);
  expect(body.message).toBe(`${body.details[0]!.message} (${id})`);
  return body;
}

export async function expectOk<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}

export interface HumanUser {
  userId: string;
  email: string;
  username: string;
}

/** Adds a human user with a verified email (and a password unless `password: null`). */
export async function addHuman(app: ZitadelApp, extra: Record<string, unknown> = {}, password: string | null = PASSWORD): Promise<HumanUser> {
  const username = unique("zuser");
  const email = `${username}@example.com`;
  const res = await rest("/users/human", {
    token: app.admin,
    json: {
      username,
      profile: { givenName: "Ada", familyName: "Lovelace" },
      email: { email, isVerified: true },
      ...(password !== null ? { password: { password } } : {}),
      ...extra,
    },
  });
  const body = await expectOk<{ userId: string }>(res);
  return { userId: body.userId, email, username };
}
