// settings.events through the operator API: validated with the field named and nothing changed,
// the signing secret never shown, and production's destination rules (lib/host.ts).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { app as worker } from "../../src/app";
import { parseSettings } from "../../src/core/apps";
import { openDatabase } from "../../src/storage/db";
import { AppStore } from "../../src/storage/apps";
import { ADMIN_TOKEN, call, createApp, ORIGIN, type TestApp } from "../helpers";
import { webhookSecret } from "../delivery/helpers";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const getApp = async (app: TestApp) => (await (await call(`/admin/apps/${app.appId}`, { headers: auth })).json()) as { settings: Record<string, any>; changedAt: string };
const patch = (app: TestApp, settings: unknown) => call(`/admin/apps/${app.appId}`, { method: "PATCH", headers: auth, json: { settings } });
const stored = async (app: TestApp) => (await new AppStore(openDatabase(env.DB)).get(app.appId))!.settings.events;

const URL_ = "https://hooks.example.com/latchkey-events";

describe("settings.events", () => {
  it("is null by default: events are only logged", async () => {
    const app = await createApp();
    expect((await getApp(app)).settings.events).toBeNull();
  });

  it("is stored as given, with the secret masked in every answer and types defaulting to every type", async () => {
    const app = await createApp();
    const secret = webhookSecret();
    const res = await patch(app, { events: { url: URL_, secret } });
    expect(res.status).toBe(200);
    const patched = (await res.json()) as { settings: Record<string, any> };
    for (const view of [patched, await getApp(app)]) {
      expect(view.settings.events).toEqual({ url: URL_, secret: `••••${secret.slice(-4)}`, types: null });
      expect(JSON.stringify(view)).not.toContain(secret.slice(6, 30));
    }
    expect(await stored(app)).toEqual({ url: URL_, secret, types: null });
  });

  it("keeps the secret when a PATCH changes only the types, and turns off with null", async () => {
    const secret = webhookSecret();
    const app = await createApp({ events: { url: URL_, secret } });
    expect((await patch(app, { events: { types: ["user.deleted", "signin.failed"] } })).status).toBe(200);
    expect(await stored(app)).toEqual({ url: URL_, secret, types: ["user.deleted", "signin.failed"] });
    expect((await patch(app, { events: null })).status).toBe(200);
    expect(await stored(app)).toBeNull();
  });

  it("refuses the masked secret sent back, naming the field, and keeps the stored one", async () => {
    const secret = webhookSecret();
    const app = await createApp({ events: { url: URL_, secret } });
    const before = await getApp(app);
    const res = await patch(app, { events: before.settings.events });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_settings", field: "settings.events.secret" });
    expect(await getApp(app)).toEqual(before);
    expect((await stored(app))!.secret).toBe(secret);
  });

  const good = () => ({ url: URL_, secret: webhookSecret(), types: ["user.created"] });
  const cases: [string, Record<string, unknown>, string][] = [
    ["a URL that is not http(s)", { url: "ftp://hooks.example.com/x" }, "settings.events.url"],
    ["plain http to a public host", { url: "http://hooks.example.com/x" }, "settings.events.url"],
    ["credentials in the URL", { url: "https://user:pw@hooks.example.com/x" }, "settings.events.url"],
    ["a secret not in whsec_ form", { secret: "my-webhook-secret-0123456789" }, "settings.events.secret"],
    ["a secret of too few bytes", { secret: `whsec_${btoa("short")}` }, "settings.events.secret"],
    ["an unknown type", { types: ["user.exploded"] }, "settings.events.types.0"],
    ["an empty list of types", { types: [] }, "settings.events.types"],
    ["a type twice", { types: ["user.created", "user.created"] }, "settings.events.types"],
    ["types that are not a list", { types: "user.created" }, "settings.events.types"],
    ["an unknown field", { retries: 3 }, "settings.events.retries"],
  ];
  for (const [name, change, field] of cases) {
    it(`refuses ${name} with a 400 naming ${field}, changing nothing`, async () => {
      const app = await createApp({ events: good() });
      const before = await getApp(app);
      const storedBefore = await stored(app);
      const res = await patch(app, { events: { ...good(), ...change } });
      expect(res.status).toBe(400);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ error: "invalid_settings", field });
      expect(typeof body.message).toBe("string");
      expect(await getApp(app)).toEqual(before);
      expect(await stored(app)).toEqual(storedBefore);
    });
  }

  it("refuses turning events on without a URL or without a secret (a PATCH merges into null)", async () => {
    const app = await createApp();
    const before = await getApp(app);
    for (const [events, field] of [
      [{ secret: webhookSecret() }, "settings.events.url"],
      [{ url: URL_ }, "settings.events.secret"],
    ] as const) {
      const res = await patch(app, { events });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_settings", field });
    }
    expect(await getApp(app)).toEqual(before);
  });

  it("refuses a bad events setting at creation too, creating nothing", async () => {
    const before = (await (await call("/admin/apps?limit=100", { headers: auth })).json()) as { apps: unknown[] };
    const res = await call("/admin/apps", { method: "POST", headers: auth, json: { settings: { events: { url: URL_, secret: "nope" } } } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_settings", field: "settings.events.secret" });
    const after = (await (await call("/admin/apps?limit=100", { headers: auth })).json()) as { apps: unknown[] };
    expect(after.apps.length).toBe(before.apps.length);
  });
});

describe("settings.events.url in production", () => {
  const refused = [
    "https://127.0.0.1/hook",
    "https://localhost./hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://10.0.0.1/hook",
    "https://192.168.1.20/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[fe80::1]/hook",
    "https://printer.local/hook",
    "http://127.0.0.1:9000/hook",
  ];
  for (const url of refused) {
    it(`refuses ${url}`, () => {
      const error = (() => {
        try {
          parseSettings({ events: { url, secret: webhookSecret() } }, false);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(error).toBeInstanceOf(z.core.$ZodError);
      expect((error as z.core.$ZodError).issues[0]!.path).toEqual(["events", "url"]);
    });
  }

  it("accepts https to a public host; development also takes http on loopback", () => {
    expect(parseSettings({ events: { url: URL_, secret: webhookSecret() } }, false).events?.url).toBe(URL_);
    expect(parseSettings({ events: { url: "http://127.0.0.1:9000/hook", secret: webhookSecret() } }, true).events?.url).toBe("http://127.0.0.1:9000/hook");
  });

  it("is refused by the production admin API with the admin error shape", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${ORIGIN}/admin/apps`, {
        method: "POST",
        headers: { Authorization: `Bearer ${"p".repeat(40)}`, "Content-Type": "application/json" },
        body: JSON.stringify({ settings: { events: { url: "https://169.254.169.254/hook", secret: webhookSecret() } } }),
      }),
      { ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "p".repeat(40) },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_settings", field: "settings.events.url" });
  });
});
