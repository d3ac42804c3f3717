// GET /openapi.json and GET /docs: every REST route the app serves is in the document with its
// method (and nothing is documented that is not served), the document is built once per isolate,
// and the page loads nothing from anywhere. The document's validity as OpenAPI 3.1 is checked in
// Node (test/e2e/openapi.e2e.ts: the validator compiles schemas, which workerd forbids).
import { describe, expect, it } from "vitest";
import pkg from "../../package.json";
import { app } from "../../src/app";
import { kiiUserSchema } from "../../src/faces/kii/users-json";
import { API_VERSION, apiDocument, buildDocument, type OpenApiDocument } from "../../src/openapi/document";
import { ADMIN_TOKEN, call, createApp, kiiHeaders, registerKiiUser, signIn } from "../helpers";

// Pages for people and the RPC paths (described by ZITADEL's protos), not REST API routes.
const NOT_API = [/^\/$/, /^\/healthz$/, /^\/openapi\.json$/, /^\/docs$/, /^\/reset(\/|$)/, /^\/verify(\/|$)/, /^\/dev(\/|$)/, /^\/zitadel\.(user|session)\.v2\.\w+Service(\/|$)/];

/** Served routes: handlers, not middleware (app.use and catch-alls are "ALL" on a wildcard path). */
function servedRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of app.routes) {
    if (NOT_API.some((re) => re.test(r.path))) continue;
    if (r.method === "ALL" && r.path.endsWith("*")) continue;
    const key = `${r.method} ${r.path}`;
    if (!seen.has(key)) out.push({ method: r.method, path: r.path });
    seen.add(key);
  }
  return out;
}

/** A Hono path (`/api/apps/:appID/users/:id/:kind`, `:action{users:import}`) as a pattern over concrete paths. */
function honoPattern(path: string): RegExp {
  const parts = path.split(/(:\w+(?:\{[^}]*\})?)/).map((part) => {
    if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const custom = /\{(.*)\}$/.exec(part);
    return custom ? `(?:${custom[1]})` : "[^/]+";
  });
  return new RegExp(`^${parts.join("")}$`);
}

/** A documented path with a sample value in each {parameter}. */
const concrete = (template: string) => template.replace(/\{\w+\}/g, "p4r4m5x1");

function documented(doc: OpenApiDocument): { method: string; path: string }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })));
}

describe("the OpenAPI document", () => {
  const doc = buildDocument();

  it("names every REST route the app serves, with its method", () => {
    const served = servedRoutes();
    // The walk itself must see the three faces, or it proves nothing.
    for (const prefix of ["/api/", "/v2/", "/admin/"]) expect(served.some((r) => r.path.startsWith(prefix))).toBe(true);
    const ops = documented(doc);
    const missing = served.filter((r) => !ops.some((op) => op.method === r.method && honoPattern(r.path).test(concrete(op.path))));
    expect(missing).toEqual([]);
  });

  it("documents nothing that is not served", () => {
    const served = servedRoutes();
    const unserved = documented(doc).filter((op) => !served.some((r) => r.method === op.method && honoPattern(r.path).test(concrete(op.path))));
    expect(unserved).toEqual([]);
  });

  it("fails the coverage check when a served route is left out", () => {
    // The same check as above, against a document that lost one route.
    const lessened = buildDocument();
    delete lessened.paths["/api/apps/{appID}/users/{userID}/status"];
    const ops = documented(lessened);
    const missing = servedRoutes().filter((r) => !ops.some((op) => op.method === r.method && honoPattern(r.path).test(concrete(op.path))));
    expect(missing).toEqual([{ method: "PUT", path: "/api/apps/:appID/users/:id/status" }]);
  });

  it("uses OpenAPI path templates whose parameters are all declared", () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).not.toMatch(/\/:\w/);
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(item)) {
        const inPath = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name).sort();
        expect(inPath, `${path}`).toEqual(names);
      }
    }
    expect(doc.paths["/api/apps/{appID}/users/{userID}"]?.get).toBeDefined();
    expect(doc.paths["/v2/users/{userId}/password_reset"]?.post).toBeDefined();
    expect(doc.paths["/admin/apps/{appId}"]?.patch).toBeDefined();
  });

  it("has unique operation ids and a security scheme for every requirement", () => {
    const ops = Object.values(doc.paths).flatMap((item) => Object.values(item));
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of ops) {
      expect(op.security.length).toBeGreaterThan(0);
      for (const requirement of op.security) for (const name of Object.keys(requirement)) expect(doc.components.securitySchemes, name).toHaveProperty(name);
    }
    expect(doc.components.securitySchemes.KiiBearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.ZitadelBearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.AdminToken).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("describes errors in each dialect's shape", () => {
    const kii = doc.paths["/api/apps/{appID}/users/{userID}/password/complete-reset"]!.post!;
    expect(Object.keys(kii.responses["403"]!.content!)).toEqual(["application/vnd.kii.InvalidVerificationCodeException+json"]);
    expect(kii.responses["410"]!.content!["application/vnd.kii.PINCodeExpiredException+json"]).toBeDefined();
    expect(kii.responses["429"]!.headers).toHaveProperty("Retry-After");
    expect(doc.components.schemas.KiiInvalidVerificationCodeException).toMatchObject({ properties: { errorCode: { const: "INVALID_VERIFICATION_CODE" } } });

    const zitadel = doc.paths["/v2/users/{userId}"]!.get!;
    expect(zitadel.responses["404"]!.content!["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/ZitadelError" });
    expect(doc.components.schemas.ZitadelError).toMatchObject({ required: ["code", "message", "details"] });

    const admin = doc.paths["/admin/apps"]!.post!;
    expect(admin.responses["409"]!.content!["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/AdminError" });
  });

  it("takes request schemas from the validating schemas", () => {
    const register = doc.paths["/api/apps/{appID}/users"]!.post!.requestBody!.content["application/vnd.kii.RegistrationRequest+json"]!.schema;
    expect(register).toMatchObject({ type: "object", required: ["password"], properties: { loginName: { pattern: "^[A-Za-z0-9._-]{3,64}$" }, password: { maxLength: 1024 } } });
    // ZITADEL: the generated request message less the path's field, with ZITADEL's own annotations.
    const reset = doc.paths["/v2/users/{userId}/password_reset"]!.post!;
    const body = reset.requestBody!.content["application/json"]!.schema as { properties: Record<string, unknown> };
    expect(Object.keys(body.properties).sort()).toEqual(["returnCode", "sendLink"]);
    expect(reset.parameters![0]).toMatchObject({ name: "userId", in: "path", required: true, schema: { type: "string", minLength: 1, maxLength: 200 } });
    // Admin: the settings the core checks, once, by reference.
    expect(doc.components.schemas.AppSettings).toMatchObject({ type: "object", additionalProperties: false, properties: { passwordPolicy: { type: "object" } } });
    expect(JSON.stringify(doc.paths["/admin/apps"]!.post!.requestBody)).toContain('"$ref":"#/components/schemas/AppSettings"');
  });

  it("carries package.json's version", () => {
    expect(API_VERSION).toBe(pkg.version);
  });
});

describe("GET /openapi.json", () => {
  it("serves the document, built once per isolate", async () => {
    const res = await call("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=300");
    const served = (await res.json()) as OpenApiDocument;
    expect(served.openapi).toBe("3.1.0");
    expect(served).toEqual(JSON.parse(JSON.stringify(buildDocument())));
    expect(apiDocument()).toBe(apiDocument());
  });
});

describe("GET /docs", () => {
  it("is one self-contained page with every operation, under default-src 'none'", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+';/);
    expect(csp).not.toContain("unsafe");
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href|action)="(https?:)?\/\//i);
    const doc = buildDocument();
    for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) expect(html).toContain(`id="${op.operationId}"`);
    // Every in-page link lands on something.
    for (const [, target] of html.matchAll(/href="#([^"]+)"/g)) expect(html, target).toContain(`id="${target}"`);
  });
});

describe("documented responses match what the routes answer", () => {
  it("Kii registration and user data fit kiiUserSchema", async () => {
    const app = await createApp();
    const registered = await registerKiiUser(app, { loginName: "docsuser", emailAddress: "docs@example.com", phoneNumber: "+819012345678", password: "docs password 1", displayName: "Docs", country: "JP", locale: "ja" });
    expect(kiiUserSchema.safeParse(registered).success).toBe(true);
    const token = ((await (await signIn(app, "docsuser", "docs password 1")).json()) as { access_token: string }).access_token;
    const res = await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
    const parsed = kiiUserSchema.safeParse(await res.json());
    expect(parsed.error).toBeUndefined();
  });

  it("an admin's app view has the documented fields", async () => {
    const res = await call("/admin/apps?limit=1", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    const page = (await res.json()) as { apps: Record<string, unknown>[] };
    const view = buildDocument().components.schemas.AppView as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(page.apps[0]!).sort()).toEqual(Object.keys(view.properties).sort());
  });
});
