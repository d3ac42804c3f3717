// Development conveniences must not run in production (SPEC §5): the development admin token and
// short tokens are refused at start-up, and /dev/* does not exist.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { ConfigError, DEMO_APP_ID, DEV_ADMIN_TOKEN, readRuntimeConfig } from "../../src/config/runtime";
import { ORIGIN } from "../helpers";

const PRODUCTION_TOKEN = "x".repeat(40);

async function fetchIn(environment: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(ORIGIN + path, init), { ...env, ...environment }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const production = (path: string, init: RequestInit = {}) => fetchIn({ ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: PRODUCTION_TOKEN }, path, init);

describe("runtime configuration", () => {
  it("refuses the development admin token in production", () => {
    expect(() => readRuntimeConfig({ ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: DEV_ADMIN_TOKEN })).toThrow(ConfigError);
  });

  it("refuses an admin token shorter than 32 characters in production", () => {
    expect(() => readRuntimeConfig({ ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "s".repeat(31) })).toThrow(ConfigError);
    expect(readRuntimeConfig({ ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "s".repeat(32) }).adminToken).toBe("s".repeat(32));
  });

  it("treats a missing ENVIRONMENT as production", () => {
    expect(() => readRuntimeConfig({ ...env, ENVIRONMENT: undefined, ADMIN_TOKEN: DEV_ADMIN_TOKEN })).toThrow(ConfigError);
    expect(readRuntimeConfig({ ...env, ENVIRONMENT: undefined, PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: PRODUCTION_TOKEN }).development).toBe(false);
  });

  it("refuses an unknown ENVIRONMENT rather than guessing", () => {
    expect(() => readRuntimeConfig({ ...env, ENVIRONMENT: "staging", ADMIN_TOKEN: PRODUCTION_TOKEN })).toThrow(ConfigError);
  });

  it("allows the development token in development", () => {
    const config = readRuntimeConfig({ ...env, ENVIRONMENT: "development", ADMIN_TOKEN: DEV_ADMIN_TOKEN });
    expect(config).toMatchObject({ development: true, adminToken: DEV_ADMIN_TOKEN });
  });

  it("runs production without any admin token (the admin API is then closed)", () => {
    expect(readRuntimeConfig({ ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: undefined }).adminToken).toBeUndefined();
  });

  it("answers 503 on every route when misconfigured, without revealing why", async () => {
    const res = await fetchIn({ ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: DEV_ADMIN_TOKEN }, "/admin/apps/someapp12", {
      headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ error: "misconfigured" });
    expect(body).not.toContain(DEV_ADMIN_TOKEN);
  });
});

describe("production", () => {
  it("has no /dev/outbox", async () => {
    const res = await production("/dev/outbox");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });

  it("cannot seed the demo app through /dev/seed", async () => {
    const res = await production("/dev/seed", {
      method: "POST",
      headers: { Authorization: `Bearer ${PRODUCTION_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ appId: DEMO_APP_ID, appKey: "demo-app-key-0123", clientId: "demo-client", clientSecret: "demo-secret", name: "Demo" }),
    });
    expect(res.status).toBe(404);
    expect(await env.DB.prepare("SELECT id FROM apps WHERE id = ?").bind(DEMO_APP_ID).first()).toBeNull();
  });

  it("closes the admin API when no admin token is configured", async () => {
    const res = await fetchIn({ ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "" }, "/admin/apps", {
      method: "POST",
      headers: { Authorization: "Bearer ", "Content-Type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
  });

  it("takes an app's publicUrl over https only, as an origin", async () => {
    const create = (publicUrl: string) =>
      production("/admin/apps", {
        method: "POST",
        headers: { Authorization: `Bearer ${PRODUCTION_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ settings: { publicUrl } }),
      });
    const refused = await create("http://login.example.com");
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "invalid_settings", field: "settings.publicUrl" });
    const accepted = await create("https://Login.Example.com/");
    expect(accepted.status).toBe(201);
    expect(((await accepted.json()) as { settings: { publicUrl: string } }).settings.publicUrl).toBe("https://login.example.com");
  });

  it("serves the admin API with the production token", async () => {
    const res = await production("/admin/apps", {
      method: "POST",
      headers: { Authorization: `Bearer ${PRODUCTION_TOKEN}`, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(201);
  });
});
