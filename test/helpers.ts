// Helpers for tests that drive the Worker through its own fetch handler, as a client would.
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const ADMIN_TOKEN = "test-admin-token";
export const ORIGIN = "http://latchkey.test";

export function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  return (exports as unknown as { default: Fetcher }).default.fetch(new Request(ORIGIN + path, { ...init, headers, body }));
}

/**
 * The D1 database that holds an app's users, tokens, sessions and reset state: the shard
 * (binding USERS_n) its row in the control database (DB) names. Tests that look at such rows
 * directly look there.
 */
export async function shardOf(app: string | { appId: string }): Promise<D1Database> {
  const appId = typeof app === "string" ? app : app.appId;
  const row = await env.DB.prepare("SELECT shard FROM apps WHERE id = ?").bind(appId).first<{ shard: number }>();
  if (!row) throw new Error(`no app ${appId} in the control database`);
  const shard = env[`USERS_${row.shard}`];
  if (!shard) throw new Error(`app ${appId} names shard ${row.shard}, which is not bound`);
  return shard;
}

/** Every user-data shard bound in the tests (wrangler.toml's top level: USERS_0 and USERS_1). */
export const shards = (): D1Database[] => [env.USERS_0!, env.USERS_1!];

const COUNT = /^\s*SELECT\s+COUNT\(\*\)/i;

/**
 * The user-data shards seen as the one database they replaced, for tests that look at rows by a
 * user's id without caring where they live: `first` answers the first row any shard has (a
 * `SELECT COUNT(*)` sums the shards' counts), `all` concatenates, `run` runs everywhere. Tests of
 * routing itself look at one shard (shardOf).
 */
export const everyShard = {
  prepare(sql: string) {
    let params: unknown[] = [];
    const statement = {
      bind(...values: unknown[]) {
        params = values;
        return statement;
      },
      async first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
        const rows = await Promise.all(shards().map((d) => (column ? d.prepare(sql).bind(...params).first(column) : d.prepare(sql).bind(...params).first())));
        if (COUNT.test(sql)) {
          if (column) return rows.reduce<number>((n, r) => n + Number(r ?? 0), 0) as T;
          const sum: Record<string, number> = {};
          for (const row of rows) for (const [k, v] of Object.entries((row ?? {}) as Record<string, unknown>)) sum[k] = (sum[k] ?? 0) + Number(v);
          return sum as T;
        }
        return (rows.find((r) => r !== null && r !== undefined) ?? null) as T | null;
      },
      async all<T = Record<string, unknown>>(): Promise<{ results: T[] }> {
        const parts = await Promise.all(shards().map((d) => d.prepare(sql).bind(...params).all<T>()));
        return { results: parts.flatMap((p) => p.results) };
      },
      async run(): Promise<{ meta: { changes: number } }> {
        const parts = await Promise.all(shards().map((d) => d.prepare(sql).bind(...params).run()));
        return { meta: { changes: parts.reduce((n, p) => n + p.meta.changes, 0) } };
      },
    };
    return statement;
  },
};

export interface TestApp {
  appId: string;
  appKey: string;
  clientId: string;
  clientSecret: string;
  orgId: string;
  settings: Record<string, unknown>;
}

/**
 * New apps require address verification. Most tests are about something else and register Kii
 * users whose addresses must receive resets at once, so apps made here trust registered
 * addresses unless the test says otherwise (`verification` or the legacy `trustRegisteredAddresses`).
 */
export async function createApp(settings: Record<string, unknown> = {}, options: { shard?: number } = {}): Promise<TestApp> {
  if (!("verification" in settings) && !("trustRegisteredAddresses" in settings)) {
    settings = { ...settings, verification: { email: "trusted", phone: "trusted" } };
  }
  const res = await call("/admin/apps", { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { settings, ...options } });
  expect(res.status).toBe(201);
  return res.json();
}

/** Headers the Kii JS SDK sends on anonymous calls. */
export const kiiHeaders = (app: TestApp, extra: Record<string, string> = {}) => ({
  "X-Kii-AppID": app.appId,
  "X-Kii-AppKey": app.appKey,
  ...extra,
});

export async function registerKiiUser(app: TestApp, fields: Record<string, unknown>): Promise<{ userID: string } & Record<string, unknown>> {
  const res = await call(`/api/apps/${app.appId}/users`, {
    method: "POST",
    headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }),
    json: fields,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

export async function signIn(app: TestApp, username: string, password: string): Promise<Response> {
  return call("/api/oauth2/token", { method: "POST", headers: kiiHeaders(app), json: { username, password } });
}

export async function userToken(app: TestApp, username: string, password: string): Promise<string> {
  const res = await signIn(app, username, password);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function adminToken(app: TestApp): Promise<string> {
  const res = await call("/api/oauth2/token", {
    method: "POST",
    headers: kiiHeaders(app),
    json: { grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Asserts a Kii-shaped error: status, vnd content type, errorCode; returns the body. */
export async function expectKiiError(res: Response, status: number, errorCode: string, typeName?: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  if (typeName) expect(res.headers.get("Content-Type")).toBe(`application/vnd.kii.${typeName}+json`);
  else expect(res.headers.get("Content-Type")).toMatch(/^application\/(vnd\.kii\.\w+\+)?json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.errorCode).toBe(errorCode);
  expect(typeof body.message === "string" || typeof body.error_description === "string").toBe(true);
  return body;
}
