// The OpenAPI document as wrangler dev serves it (a static file, public/openapi.json, answered
// by Workers Static Assets with the headers of public/_headers), checked in Node (the validator
// compiles JSON Schema to code, which workerd forbids): it is valid OpenAPI 3.1; a body the route's own schema
// accepts is valid against the documented request schema (fast-check); and /docs, in headless
// Chromium at a phone's width (375 px) and a desktop's (1280 px), loads nothing from elsewhere and
// is never wider than the screen. SCREENSHOT_DIR keeps PNGs to look at.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create, type DescMessage, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { Validator } from "@seriousme/openapi-schema-validator";
import { CreateSessionRequestSchema, ListSessionsRequestSchema } from "@zitadel/proto/zitadel/session/v2/session_service_pb.js";
import { NotificationType } from "@zitadel/proto/zitadel/user/v2/password_pb.js";
import { AddHumanUserRequestSchema, PasswordResetRequestSchema } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import Ajv2020 from "ajv/dist/2020.js";
import fc from "fast-check";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as z from "zod";
import { appSettingsSchema } from "../../src/config/settings";
import { importLine } from "../../src/faces/admin/import";
import { createSchema, rotateSchema } from "../../src/faces/admin/routes";
import { changePasswordSchema, completeResetSchema, registrationSchema, resetRequestSchema, statusSchema, tokenSchema } from "../../src/faces/kii/routes";
import { emailSchema, phoneSchema, verifySchema } from "../../src/faces/kii/verification-routes";
import type { OpenApiDocument } from "../../src/openapi/document";
import { launchChromium } from "./browser";
import { baseUrl, createE2eApp } from "./helpers";

const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR;
const publicFile = (name: string) => readFileSync(new URL(`../../public/${name}`, import.meta.url), "utf8");
let served: OpenApiDocument;

beforeAll(async () => {
  const res = await fetch(`${baseUrl()}/openapi.json`);
  expect(res.status).toBe(200);
  served = (await res.json()) as OpenApiDocument;
});

describe("/openapi.json", () => {
  it("is the committed file, answered as cacheable JSON with the Worker's security headers", async () => {
    const res = await fetch(`${baseUrl()}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Strict-Transport-Security")).toMatch(/^max-age=/);
    expect(await res.text()).toBe(publicFile("openapi.json"));
  });

  it("leaves every other path to the Worker", async () => {
    // A static file is answered before the Worker; anything else still gets the Worker's answers.
    const missing = await fetch(`${baseUrl()}/openapi.yaml`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
    const root = await fetch(`${baseUrl()}/`);
    expect(await root.json()).toMatchObject({ service: "latchkey" });
  });

  it("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("would be refused by the validator if it were broken", async () => {
    // The check above proves something only if the validator looks: a response keyed by a
    // status that is no status, and an operation without responses, are refused.
    const broken = structuredClone(served);
    broken.paths["/api/oauth2/token"]!.post!.responses = { "2xx!": { description: "" } };
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
  });
});

// Values that are right for some fields and wrong for others, so that a route's schema accepts
// some bodies and refuses others.
const POOL: unknown[] = [
  "ann", "Ann Lee", "ann@example.com", "+819012345678", "JP", "ja-JP", "EMAIL", "SMS", "URL", "PIN", "123456", "a password 1",
  "", "x".repeat(70), "\u202Eevil", "bcrypt", "appid0001", 0, 1, 3600, 86_400, -1, 1.5, true, false, null,
  {}, { passwordPolicy: { minLength: 10 } }, { verification: { email: "trusted" } }, { unknown: 1 }, { cost: 10 }, ["x"],
];
const anyValue = fc.oneof(fc.constantFrom(...POOL), fc.string({ maxLength: 12 }), fc.integer({ min: -5, max: 100_000 }));

/**
 * Bodies of the schema's own fields plus one it does not know. Each field draws mostly from the
 * pool's values its own schema accepts (so whole bodies are accepted often enough to matter),
 * and sometimes from anything.
 */
function bodies(schema: z.ZodObject) {
  const fields = Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, field]) => {
    const good = POOL.filter((v) => field.safeParse(v).success);
    const arbitrary = good.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: anyValue }) : anyValue;
    return [key, arbitrary] as const;
  });
  return fc.record({ ...Object.fromEntries(fields), unknownField: anyValue }, { requiredKeys: [] });
}

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

function documentedBody(path: string, method: "post" | "put" | "patch", type: string) {
  const schema = served.paths[path]?.[method]?.requestBody?.content[type]?.schema;
  if (!schema) throw new Error(`${method} ${path} documents no ${type} body`);
  // $refs point into the document's components.
  return ajv.compile({ ...schema, components: served.components });
}

// What the admin route accepts: its own schema, then the settings as the core checks them.
const adminCreate = { shape: createSchema.shape, safeParse: (body: unknown) => {
  const parsed = createSchema.safeParse(body);
  return { success: parsed.success && (parsed.data.settings === undefined || appSettingsSchema.safeParse(parsed.data.settings).success) };
} } as unknown as z.ZodObject;

const CASES: [string, "post" | "put" | "patch", string, z.ZodObject][] = [
  ["/api/apps/{appID}/users", "post", "application/vnd.kii.RegistrationRequest+json", registrationSchema],
  ["/api/oauth2/token", "post", "application/json", tokenSchema],
  ["/api/apps/{appID}/users/{userID}/password", "put", "application/vnd.kii.ChangePasswordRequest+json", changePasswordSchema],
  ["/api/apps/{appID}/users/{userID}/password/request-reset", "post", "application/vnd.kii.ResetPasswordRequest+json", resetRequestSchema],
  ["/api/apps/{appID}/users/{userID}/password/complete-reset", "post", "application/vnd.kii.CompletePasswordResetRequest+json", completeResetSchema],
  ["/api/apps/{appID}/users/{userID}/status", "put", "application/vnd.kii.UserStatusUpdateRequest+json", statusSchema],
  ["/api/apps/{appID}/users/{userID}/email-address/verify", "post", "application/vnd.kii.AddressVerificationRequest+json", verifySchema],
  ["/api/apps/{appID}/users/{userID}/email-address", "put", "application/vnd.kii.EmailAddressModificationRequest+json", emailSchema],
  ["/api/apps/{appID}/users/{userID}/phone-number", "put", "application/vnd.kii.PhoneNumberModificationRequest+json", phoneSchema],
  ["/admin/apps", "post", "application/json", adminCreate],
  ["/admin/apps/{appId}/rotate", "post", "application/json", rotateSchema],
  ["/admin/apps/{appId}/users:import", "post", "application/x-ndjson", importLine],
];

describe("documented request schemas", () => {
  it.each(CASES)("%s (%s): every body the route's schema accepts is valid against the document", (path, method, type, schema) => {
    const validate = documentedBody(path, method, type);
    let accepted = 0;
    fc.assert(
      fc.property(bodies(schema), (body) => {
        if (!schema.safeParse(body).success) return;
        accepted++;
        expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
      }),
      { numRuns: 400, seed: 20261202 },
    );
    // A property that saw no accepted body proved nothing.
    expect(accepted).toBeGreaterThan(0);
  });
});

/** A documented response schema (status, media type), compiled with the document's components. */
function documentedResponse(path: string, method: "get" | "post" | "put" | "patch" | "delete", status: number) {
  const schema = served.paths[path]?.[method]?.responses[String(status)]?.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`${method} ${path} documents no ${status} JSON answer`);
  return ajv.compile({ ...schema, components: served.components });
}

describe("documented ZITADEL messages", () => {
  it("fit what the official message types write and what the REST routes answer", async () => {
    const app = await createE2eApp();
    const tokenRes = await fetch(`${baseUrl()}/api/apps/${app.appId}/oauth2/token`, {
      method: "POST",
      headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey, "Content-Type": "application/json" },
      body: JSON.stringify({ client_id: app.clientId, client_secret: app.clientSecret }),
    });
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    /** Sends a body written by the generated message type, after checking it against the documented request schema. */
    const call = async <D extends DescMessage>(method: "get" | "post" | "delete", template: string, path: string, message?: [D, MessageInitShape<D>]) => {
      let body: string | undefined;
      if (message) {
        const json = toJson(message[0], create(message[0], message[1]));
        const validate = documentedBody(template, method as "post", "application/json");
        expect(validate(json), `${template}: ${JSON.stringify(validate.errors)}`).toBe(true);
        body = JSON.stringify(json);
      }
      const res = await fetch(`${baseUrl()}${path}`, { method: method.toUpperCase(), headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, ...(body ? { body } : {}) });
      const answer = (await res.json()) as Record<string, unknown>;
      const validate = documentedResponse(template, method, res.status);
      expect(validate(answer), `${res.status} ${template}: ${JSON.stringify(validate.errors)}`).toBe(true);
      return { status: res.status, answer };
    };

    const loginName = `docs${Date.now()}`;
    const added = await call("post", "/v2/users/human", "/v2/users/human", [AddHumanUserRequestSchema, {
      username: loginName,
      organization: { org: { case: "orgId", value: app.orgId } },
      profile: { givenName: "Docs", familyName: "Reader", preferredLanguage: "en" },
      email: { email: `${loginName}@example.com`, verification: { case: "isVerified", value: true } },
      phone: { phone: "+819012345678", verification: { case: "returnCode", value: {} } },
      passwordType: { case: "password", value: { password: "docs reader password", changeRequired: false } },
    }]);
    expect(added.status).toBe(200);
    const userId = added.answer.userId as string;
    expect((await call("get", "/v2/users/{userId}", `/v2/users/${userId}`)).status).toBe(200);
    expect((await call("get", "/v2/users/{userId}", "/v2/users/nobody-here")).status).toBe(404);
    const reset = await call("post", "/v2/users/{userId}/password_reset", `/v2/users/${userId}/password_reset`, [PasswordResetRequestSchema, { medium: { case: "returnCode", value: {} } }]);
    expect(reset.answer.verificationCode).toEqual(expect.any(String));
    // Written and checked, not sent: an enum by name.
    const link = toJson(PasswordResetRequestSchema, create(PasswordResetRequestSchema, { medium: { case: "sendLink", value: { notificationType: NotificationType.SMS, urlTemplate: "https://app.example/reset?code={{.Code}}" } } }));
    expect(documentedBody("/v2/users/{userId}/password_reset", "post", "application/json")(link)).toBe(true);

    const session = await call("post", "/v2/sessions", "/v2/sessions", [CreateSessionRequestSchema, {
      checks: { user: { search: { case: "loginName", value: loginName } }, password: { password: "docs reader password" } },
      lifetime: { seconds: 3600n, nanos: 0 },
    }]);
    expect(session.status).toBe(200);
    const sessionId = session.answer.sessionId as string;
    const sessionToken = session.answer.sessionToken as string;
    expect((await call("get", "/v2/sessions/{sessionId}", `/v2/sessions/${sessionId}?sessionToken=${encodeURIComponent(sessionToken)}`)).status).toBe(200);
    // Written and checked, not sent: a uint64 as a string, a uint32 as a number.
    const page = toJson(ListSessionsRequestSchema, create(ListSessionsRequestSchema, { query: { offset: 5n, limit: 10 } }));
    expect(page).toMatchObject({ query: { offset: "5", limit: 10 } });
    expect(documentedBody("/v2/sessions/search", "post", "application/json")(page)).toBe(true);
    const list = await call("post", "/v2/sessions/search", "/v2/sessions/search", [ListSessionsRequestSchema, {
      query: { offset: 0n, limit: 10 },
      queries: [{ query: { case: "userIdQuery", value: { id: userId } } }],
    }]);
    expect((list.answer.sessions as unknown[]).length).toBe(1);
  });
});

describe("/docs", () => {
  it("is the committed page, under the committed policy and the Worker's security headers", async () => {
    const res = await fetch(`${baseUrl()}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(publicFile("_headers")).toContain(`  Content-Security-Policy: ${csp}\n`);
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(await res.text()).toBe(publicFile("docs.html"));
  });
});

describe.each([375, 1280])("/docs at %i px", (width) => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("loads nothing from elsewhere and fits the screen, every section open", async () => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const remote: string[] = [];
    const violations: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(baseUrl())) remote.push(r.url());
    });
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const res = await page.goto(`${baseUrl()}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'none'");
    expect(await page.title()).toMatch(/^Latchkey API /);
    await expect.poll(() => page.locator("section.op").count()).toBeGreaterThan(40);

    if (SCREENSHOT_DIR) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, `docs-${width}.png`) });
    }
    // Open every <details> (contents, request and response bodies) before measuring.
    await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
    if (SCREENSHOT_DIR) {
      await page.locator("#kiiChangePassword").screenshot({ path: join(SCREENSHOT_DIR, `docs-${width}-operation.png`) });
    }
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    // A link from the contents lands on its operation.
    await page.locator('nav a[href="#kiiChangePassword"]').click();
    expect(page.url()).toMatch(/#kiiChangePassword$/);
    expect(remote).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });
});
