// The operator API (SPEC §5): /admin/apps behind the ADMIN_TOKEN secret.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Base64url } from "../../src/lib/digest";
import { ADMIN_TOKEN, call, createApp, registerKiiUser, type TestApp, everyShard } from "../helpers";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const adminCall = (path: string, init: RequestInit & { json?: unknown } = {}) =>
  call(`/admin${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });

const getApp = async (appId: string) => {
  const res = await adminCall(`/apps/${appId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Omit<TestApp, "clientSecret"> & Record<string, unknown>;
};

const patch = (appId: string, json: unknown) => adminCall(`/apps/${appId}`, { method: "PATCH", json });

interface AdminErrorBody {
  error: string;
  message: string;
  field?: string;
}

async function expectAdminError(res: Response, status: number, error: string, field?: string): Promise<AdminErrorBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as AdminErrorBody;
  expect(body.error).toBe(error);
  expect(typeof body.message).toBe("string");
  if (field !== undefined) expect(body.field).toBe(field);
  return body;
}

const appRow = (appId: string) => env.DB.prepare("SELECT * FROM apps WHERE id = ?").bind(appId).first<Record<string, unknown>>();
const appCount = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM apps").first<{ n: number }>())!.n;

describe("POST /admin/apps", () => {
  it("creates an app: 201 with ids, credentials, a numeric orgId and default settings", async () => {
    const res = await adminCall("/apps", { method: "POST", json: {} });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    const app = (await res.json()) as TestApp & Record<string, unknown>;
    expect(app.appId).toMatch(/^[a-z0-9]{8,}$/);
    expect(app.appKey).toMatch(/^[0-9a-f]{32}$/);
    expect(app.clientId).toMatch(/^[0-9a-f]{32}$/);
    expect(app.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(app.orgId).toMatch(/^[1-9]\d*$/);
    expect(app.settings).toMatchObject({
      passwordPolicy: { minLength: 8, maxLength: 128, requireLowercase: false, requireUppercase: false, requireNumber: false, requireSymbol: false },
      enumerationProtection: false,
      // New apps require verification (issue 11); the legacy trustRegisteredAddresses is not shown.
      verification: { email: "required", phone: "required" },
      accessTokenLifetimeSeconds: 30 * 86_400,
      adminTokenLifetimeSeconds: 86_400,
      resetUrlTemplate: null,
      corsOrigins: [],
      defaultLocale: "en",
    });
    expect(app.settings).toHaveProperty("codes");
    expect(app.settings).toHaveProperty("rateLimits");
  });

  it("gives every app its own ids and secrets", async () => {
    const a = await createApp();
    const b = await createApp();
    for (const key of ["appId", "appKey", "clientId", "clientSecret", "orgId"] as const) expect(a[key]).not.toBe(b[key]);
  });

  it("accepts a chosen appId, name and settings", async () => {
    const res = await adminCall("/apps", {
      method: "POST",
      json: { appId: "chosenapp1", name: "Chosen", settings: { passwordPolicy: { minLength: 12 } } },
    });
    expect(res.status).toBe(201);
    const app = (await res.json()) as TestApp & { name: string; settings: { passwordPolicy: { minLength: number; maxLength: number } } };
    expect(app.appId).toBe("chosenapp1");
    expect(app.name).toBe("Chosen");
    expect(app.settings.passwordPolicy).toMatchObject({ minLength: 12, maxLength: 128 });
  });

  it("refuses an appId that is taken: 409, and the first app is untouched", async () => {
    await adminCall("/apps", { method: "POST", json: { appId: "takenapp1" } });
    const before = await getApp("takenapp1");
    const res = await adminCall("/apps", { method: "POST", json: { appId: "takenapp1", settings: { defaultLocale: "ja" } } });
    await expectAdminError(res, 409, "conflict", "appId");
    expect(await getApp("takenapp1")).toEqual(before);
  });

  it.each([
    ["too short", "abc"],
    ["upper case", "UPPERCASE1"],
    ["punctuation", "app-id-one"],
  ])("refuses an appId that is %s: 400 naming appId, nothing created", async (_, appId) => {
    const count = await appCount();
    await expectAdminError(await adminCall("/apps", { method: "POST", json: { appId } }), 400, "invalid_request", "appId");
    expect(await appCount()).toBe(count);
  });

  it("refuses an unknown top-level field", async () => {
    const count = await appCount();
    await expectAdminError(await adminCall("/apps", { method: "POST", json: { colour: "blue" } }), 400, "invalid_request", "colour");
    expect(await appCount()).toBe(count);
  });

  it("refuses an unknown setting, naming it, and creates nothing", async () => {
    const count = await appCount();
    const body = await expectAdminError(
      await adminCall("/apps", { method: "POST", json: { settings: { passwordPolicy: { nope: 1 } } } }),
      400,
      "invalid_settings",
      "settings.passwordPolicy.nope",
    );
    expect(body.message).toContain("settings.passwordPolicy.nope");
    expect(await appCount()).toBe(count);
  });
});

describe("client secret", () => {
  it("is shown once: GET never returns it", async () => {
    const app = await createApp();
    const shown = await getApp(app.appId);
    expect(shown).not.toHaveProperty("clientSecret");
    expect(JSON.stringify(shown)).not.toContain(app.clientSecret);
    expect(shown).toMatchObject({ appId: app.appId, appKey: app.appKey, clientId: app.clientId, orgId: app.orgId });
  });

  it("is stored only as its hash", async () => {
    const app = await createApp();
    const row = (await appRow(app.appId))!;
    expect(row.client_secret_hash).toBe(sha256Base64url(app.clientSecret));
    expect(JSON.stringify(row)).not.toContain(app.clientSecret);
  });
});

describe("GET /admin/apps/{appId}", () => {
  it("shows the app with its settings and timestamps", async () => {
    const app = await createApp({ defaultLocale: "ja" });
    const shown = await getApp(app.appId);
    expect(shown.settings).toEqual(app.settings);
    expect(shown.settings).toMatchObject({ defaultLocale: "ja" });
    expect(Date.parse(shown.createdAt as string)).toBeGreaterThan(0);
    expect(shown.changedAt).toBe(shown.createdAt);
  });

  it("answers 404 for an unknown app", async () => {
    await expectAdminError(await adminCall("/apps/nosuchapp1"), 404, "not_found");
  });
});

describe("PATCH /admin/apps/{appId}", () => {
  it("deep-merges the patch: other settings, and siblings inside the patched object, keep their values", async () => {
    const app = await createApp({ passwordPolicy: { minLength: 10, requireNumber: true }, defaultLocale: "ja" });
    const res = await patch(app.appId, { settings: { passwordPolicy: { maxLength: 200 } } });
    expect(res.status).toBe(200);
    const patched = (await res.json()) as { settings: Record<string, unknown> };
    expect(patched.settings).toMatchObject({
      passwordPolicy: { minLength: 10, maxLength: 200, requireNumber: true, requireSymbol: false },
      defaultLocale: "ja",
    });
    expect((await getApp(app.appId)).settings).toEqual(patched.settings);
  });

  it("replaces arrays and scalars rather than merging them", async () => {
    const app = await createApp({ corsOrigins: ["https://a.example.com", "https://b.example.com"] });
    const res = await patch(app.appId, { settings: { corsOrigins: ["https://c.example.com"], enumerationProtection: true } });
    expect(res.status).toBe(200);
    expect((await getApp(app.appId)).settings).toMatchObject({ corsOrigins: ["https://c.example.com"], enumerationProtection: true });
  });

  it("records when the app changed", async () => {
    const app = await createApp();
    const before = await getApp(app.appId);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await patch(app.appId, { settings: { enumerationProtection: true } });
    const after = await getApp(app.appId);
    expect(after.createdAt).toBe(before.createdAt);
    expect(Date.parse(after.changedAt as string)).toBeGreaterThan(Date.parse(before.changedAt as string));
  });

  it("answers 404 for an unknown app", async () => {
    await expectAdminError(await patch("nosuchapp1", { settings: {} }), 404, "not_found");
  });

  describe("bad requests change nothing", () => {
    const cases: [string, (appId: string) => Promise<Response>, number, string, string?][] = [
      ["an unknown setting", (id) => patch(id, { settings: { passwordPolicy: { nope: true } } }), 400, "invalid_settings", "settings.passwordPolicy.nope"],
      ["an unknown top-level setting", (id) => patch(id, { settings: { colour: "blue" } }), 400, "invalid_settings", "settings.colour"],
      ["minLength 0", (id) => patch(id, { settings: { passwordPolicy: { minLength: 0 } } }), 400, "invalid_settings", "settings.passwordPolicy.minLength"],
      ["a maxLength under 64", (id) => patch(id, { settings: { passwordPolicy: { maxLength: 12 } } }), 400, "invalid_settings", "settings.passwordPolicy.maxLength"],
      ["a wrong type", (id) => patch(id, { settings: { enumerationProtection: "yes" } }), 400, "invalid_settings", "settings.enumerationProtection"],
      ["a token lifetime out of range", (id) => patch(id, { settings: { accessTokenLifetimeSeconds: 5 } }), 400, "invalid_settings", "settings.accessTokenLifetimeSeconds"],
      ["a non-http reset URL", (id) => patch(id, { settings: { resetUrlTemplate: "javascript:alert(1)" } }), 400, "invalid_settings", "settings.resetUrlTemplate"],
      ["a publicUrl that is no URL", (id) => patch(id, { settings: { publicUrl: "login.example.com" } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a publicUrl with a path", (id) => patch(id, { settings: { publicUrl: "https://login.example.com/auth" } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a publicUrl with a query", (id) => patch(id, { settings: { publicUrl: "https://login.example.com/?x=1" } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a publicUrl with a fragment", (id) => patch(id, { settings: { publicUrl: "https://login.example.com/#x" } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a publicUrl with credentials", (id) => patch(id, { settings: { publicUrl: "https://u:p@login.example.com" } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a publicUrl of another scheme", (id) => patch(id, { settings: { publicUrl: "javascript:alert(1)" } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a publicUrl that is not a string", (id) => patch(id, { settings: { publicUrl: 443 } }), 400, "invalid_settings", "settings.publicUrl"],
      ["a missing settings object", (id) => patch(id, {}), 400, "invalid_request", "settings"],
      ["settings that are not an object", (id) => patch(id, { settings: [1, 2] }), 400, "invalid_request", "settings"],
      ["an extra top-level field", (id) => patch(id, { settings: {}, appKey: "mine" }), 400, "invalid_request", "appKey"],
      [
        "malformed JSON",
        (id) => adminCall(`/apps/${id}`, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: '{"settings": {' }),
        400,
        "invalid_json",
      ],
      [
        "a text/plain body",
        (id) => adminCall(`/apps/${id}`, { method: "PATCH", headers: { "Content-Type": "text/plain" }, body: '{"settings":{"enumerationProtection":true}}' }),
        415,
        "unsupported_media_type",
      ],
      ["no content type", (id) => adminCall(`/apps/${id}`, { method: "PATCH", body: '{"settings":{"enumerationProtection":true}}' }), 415, "unsupported_media_type"],
      [
        "a body over 64 KiB",
        (id) => patch(id, { settings: { enumerationProtection: true, corsOrigins: ["https://example.com/" + "a".repeat(70_000)] } }),
        413,
        "too_large",
      ],
      ["no admin token", (id) => call(`/admin/apps/${id}`, { method: "PATCH", json: { settings: { enumerationProtection: true } } }), 401, "unauthorized"],
    ];

    it.each(cases)("%s", async (_, send, status, error, field) => {
      const app = await createApp({ passwordPolicy: { minLength: 9 } });
      const before = await getApp(app.appId);
      await expectAdminError(await send(app.appId), status, error, field);
      expect(await getApp(app.appId)).toEqual(before);
    });
  });
});

describe("DELETE /admin/apps/{appId}", () => {
  it("deletes the app: 204, then GET and a second DELETE answer 404", async () => {
    const app = await createApp();
    const res = await adminCall(`/apps/${app.appId}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    await expectAdminError(await adminCall(`/apps/${app.appId}`), 404, "not_found");
    await expectAdminError(await adminCall(`/apps/${app.appId}`, { method: "DELETE" }), 404, "not_found");
  });

  it("deletes the app's users with it", async () => {
    const app = await createApp();
    await registerKiiUser(app, { loginName: "doomed", password: "correct horse" });
    await adminCall(`/apps/${app.appId}`, { method: "DELETE" });
    const left = await everyShard.prepare("SELECT COUNT(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });

  it("answers 401 without the admin token and keeps the app", async () => {
    const app = await createApp();
    await expectAdminError(await call(`/admin/apps/${app.appId}`, { method: "DELETE" }), 401, "unauthorized");
    await getApp(app.appId);
  });
});

describe("admin token", () => {
  it.each([
    ["no Authorization header", {}],
    ["a wrong token", { Authorization: "Bearer not-the-admin-token" }],
    ["the token as Basic credentials", { Authorization: `Basic ${btoa(ADMIN_TOKEN)}` }],
    ["a prefix of the token", { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
  ])("is required: %s → 401 on every route, nothing created", async (_, headers) => {
    const count = await appCount();
    await expectAdminError(await call("/admin/apps", { method: "POST", headers, json: {} }), 401, "unauthorized");
    await expectAdminError(await call("/admin/apps/someapp12", { headers }), 401, "unauthorized");
    expect(await appCount()).toBe(count);
  });

  it("is checked before the body is read (a bad body without a token is still 401)", async () => {
    await expectAdminError(await call("/admin/apps", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" }), 401, "unauthorized");
  });
});

describe("POST /admin/apps with bad bodies", () => {
  it.each([
    ["malformed JSON", { headers: { ...auth, "Content-Type": "application/json" }, body: "{nope" }, 400, "invalid_json"],
    ["text/plain", { headers: { ...auth, "Content-Type": "text/plain" }, body: "{}" }, 415, "unsupported_media_type"],
    ["a JSON array", { headers: { ...auth, "Content-Type": "application/json" }, body: "[]" }, 400, "invalid_request"],
    ["a body over 64 KiB", { headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ name: "a".repeat(70_000) }) }, 413, "too_large"],
  ] as const)("%s → %i, nothing created", async (_, init, status, error) => {
    const count = await appCount();
    await expectAdminError(await call("/admin/apps", { method: "POST", ...init }), status, error);
    expect(await appCount()).toBe(count);
  });
});
