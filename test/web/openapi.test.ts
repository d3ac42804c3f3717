// The API description: /openapi.json and /docs are static files (public/, Workers Static Assets)
// written at build time by scripts/gen-openapi.mjs from src/openapi/generate.ts, which this test
// runs too. The committed files must be what the generator writes today; every REST route the app
// serves is in the document with its method (and nothing is documented that is not served); the
// page loads nothing from anywhere; no static file hides a route of the Worker. The document's
// validity as OpenAPI 3.1 is checked in Node (test/e2e/openapi.e2e.ts: the validator compiles
// schemas, which workerd forbids).
import { describe, expect, it } from "vitest";
import pkg from "../../package.json";
import committedHeaders from "../../public/_headers?raw";
import committedDocs from "../../public/docs.html?raw";
import committedJson from "../../public/openapi.json?raw";
import { app } from "../../src/app";
import { kiiUserSchema } from "../../src/faces/kii/users-json";
import { API_VERSION, buildDocument, type OpenApiDocument } from "../../src/openapi/document";
import { CACHE_CONTROL, generateApiFiles, SECURITY_HEADERS, SERVED_AT, type StaticApiFiles } from "../../src/openapi/generate";
import { ADMIN_TOKEN, call, createApp, kiiHeaders, registerKiiUser, signIn } from "../helpers";

// Pages for people and the RPC paths (described by ZITADEL's protos), not REST API routes.
const NOT_API = [/^\/$/, /^\/healthz$/, /^\/reset(\/|$)/, /^\/verify(\/|$)/, /^\/dev(\/|$)/, /^\/zitadel\.(user|session)\.v2\.\w+Service(\/|$)/];

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

const COMMITTED: StaticApiFiles = { "openapi.json": committedJson, "docs.html": committedDocs, _headers: committedHeaders };

describe("the committed static files", () => {
  const generated = generateApiFiles();

  it.each(Object.keys(COMMITTED) as (keyof StaticApiFiles)[])("public/%s is what the generator writes from src/", (name) => {
    expect(COMMITTED[name] === generated[name], `public/${name} is out of date with src/: run npm run gen:openapi`).toBe(true);
  });

  it("notices a document that changed", () => {
    // The comparison above sees a one-route difference (it compares whole texts, not sizes).
    const lessened = buildDocument();
    delete lessened.paths["/api/apps/{appID}/users/{userID}/status"];
    expect(`${JSON.stringify(lessened, null, 2)}\n` === committedJson).toBe(false);
    expect(`${JSON.stringify(buildDocument(), null, 2)}\n` === committedJson).toBe(true);
  });

  it("hide no route of the Worker", () => {
    // Assets are answered before the Worker: no handler may sit where a file is served.
    const paths = Object.values(SERVED_AT);
    expect(paths.sort()).toEqual(["/docs", "/openapi.json"]);
    const hidden = app.routes.filter((r) => !(r.method === "ALL" && r.path.endsWith("*")) && paths.some((p) => honoPattern(r.path).test(p)));
    expect(hidden).toEqual([]);
  });

  it("carry the security headers the Worker sends on everything else", async () => {
    const res = await call("/");
    const sent = Object.fromEntries([...res.headers].filter(([name]) => !["content-type", "content-length"].includes(name)));
    const listed = Object.fromEntries(Object.entries(SECURITY_HEADERS).map(([name, value]) => [name.toLowerCase(), value]));
    expect(listed).toEqual(sent);
  });
});

/** The headers public/_headers gives a path (Cloudflare's format: a path line, then indented "Name: value" lines). */
function headersFor(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current: string | null = null;
  for (const line of committedHeaders.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    if (!/^\s/.test(line)) current = line.trim();
    else if (current === path) {
      const at = line.indexOf(":");
      out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return out;
}

// workerd's test pool calls the Worker itself, not the assets in front of it: what wrangler dev
// answers at /openapi.json and /docs (headers included) is checked in test/e2e/openapi.e2e.ts.
describe("public/openapi.json (GET /openapi.json)", () => {
  it("is the document, answered as cacheable JSON with the Worker's security headers", () => {
    expect(headersFor("/openapi.json")).toEqual({ "Cache-Control": CACHE_CONTROL, ...SECURITY_HEADERS });
    const served = JSON.parse(committedJson) as OpenApiDocument;
    expect(served.openapi).toBe("3.1.0");
    expect(served).toEqual(JSON.parse(JSON.stringify(buildDocument())));
    // Nothing in it depends on where it is served: no servers (OpenAPI's default is "/").
    expect(served).not.toHaveProperty("servers");
  });
});

describe("public/docs.html (GET /docs)", () => {
  it("is one self-contained page with every operation, under default-src 'none'", async () => {
    const headers = headersFor("/docs");
    expect(headers).toEqual({ "Content-Security-Policy": expect.any(String), "Cache-Control": CACHE_CONTROL, ...SECURITY_HEADERS });
    const csp = headers["Content-Security-Policy"]!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/);
    expect(csp).not.toContain("unsafe");
    const html = committedDocs;
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    // The policy's hash is the page's one inline style.
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const digest = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(styles[0]!)))));
    expect(csp).toContain(`'sha256-${digest}'`);
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
