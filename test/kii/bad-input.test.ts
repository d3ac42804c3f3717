// Generated bad input for the Kii face (SPEC §8): every malformed request gets a 4xx in Kii's
// error shape, never a 500, and changes nothing.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createApp, kiiHeaders, registerKiiUser, type TestApp, userToken, everyShard } from "../helpers";

const PASSWORD = "correct horse";
const RUNS = { numRuns: 30 };

let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await createApp();
  await registerKiiUser(app, { loginName: "alice", emailAddress: "alice@example.com", phoneNumber: "+819012345678", password: PASSWORD });
  token = await userToken(app, "alice", PASSWORD);
});

const count = async (table: "users" | "access_tokens") => (await everyShard.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

const counts = async () => ({ users: await count("users"), tokens: await count("access_tokens") });

/** A 4xx in Kii's shape: {errorCode, message} as vnd.kii.*+json, or OAuth's {errorCode, error_description}. */
async function expectKiiShape(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  const type = res.headers.get("Content-Type") ?? "";
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(typeof body.errorCode, text).toBe("string");
  if (type === "application/json") {
    expect(typeof body.error_description, text).toBe("string");
  } else {
    expect(type).toMatch(/^application\/vnd\.kii\.[A-Za-z]+Exception\+json$/);
    expect(typeof body.message, text).toBe("string");
  }
  return body;
}

const register = (body: string, headers: Record<string, string> = kiiHeaders(app, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" })) =>
  call(`/api/apps/${app.appId}/users`, { method: "POST", headers, body });

const token$ = (body: string, headers: Record<string, string> = kiiHeaders(app, { "Content-Type": "application/json" })) =>
  call("/api/oauth2/token", { method: "POST", headers, body });

/** Any JSON text, including non-objects and deeply nested values. */
const jsonText = fc.oneof(fc.json(), fc.anything().map((v) => JSON.stringify(v) ?? "null"));
/** Text that is mostly not JSON at all, with any code points. */
const rawText = fc.oneof(fc.string({ unit: "binary" }), fc.string(), fc.constantFrom("", "{", "[", '{"a":', "nul", "\u0000", "{}}", '{"password":"x"'));
/** Values of every JSON type but a string. */
const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));

const REGISTRATION_FIELDS = ["loginName", "emailAddress", "phoneNumber", "password", "displayName", "country", "locale"] as const;
const validRegistration = { loginName: "newuser", emailAddress: "new@example.com", phoneNumber: "+819087654321", password: PASSWORD, displayName: "New", country: "JP", locale: "ja" };

describe("registration with generated bad input", () => {
  it("answers any JSON value that is not a registration with a Kii 4xx and creates no user", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(jsonText, async (body) => {
        await expectKiiShape(await register(body));
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers text that is not JSON with a Kii 4xx and creates no user", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(rawText, async (body) => {
        const result = await expectKiiShape(await register(body));
        expect(result.errorCode).toBe("INVALID_INPUT_DATA");
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers a wrong type in any field with INVALID_INPUT_DATA naming that field", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...REGISTRATION_FIELDS), notAString, async (field, value) => {
        const result = await expectKiiShape(await register(JSON.stringify({ ...validRegistration, [field]: value })));
        expect(result).toMatchObject({ errorCode: "INVALID_INPUT_DATA", field });
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers invalid strings in the checked fields with INVALID_INPUT_DATA naming the field", async () => {
    const invalid = fc.oneof(
      fc.record({ field: fc.constant("loginName"), value: fc.string().filter((s) => !/^[A-Za-z0-9._-]{3,64}$/.test(s)) }),
      fc.record({ field: fc.constant("emailAddress"), value: fc.string().filter((s) => !/^[^\s@]{1,64}@[^\s@]{1,255}$/.test(s)) }),
      fc.record({ field: fc.constant("phoneNumber"), value: fc.string().filter((s) => !/^\+[1-9]\d{6,14}$/.test(s)) }),
      fc.record({ field: fc.constant("country"), value: fc.string().filter((s) => !/^[A-Za-z]{2}$/.test(s)) }),
    );
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(invalid, async ({ field, value }) => {
        const result = await expectKiiShape(await register(JSON.stringify({ ...validRegistration, [field]: value })));
        expect(result).toMatchObject({ errorCode: "INVALID_INPUT_DATA", field });
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers a content type that is not JSON with 415, whatever the body", async () => {
    const contentType = fc.oneof(
      fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "json", "text/json", "application/xml"),
      fc.stringMatching(/^[a-z]{1,12}\/[a-z.+-]{1,20}$/).filter((t) => !/^application\/([\w.+-]+\+)?json$/.test(t)),
    );
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(contentType, async (type) => {
        const result = await expectKiiShape(await register(JSON.stringify(validRegistration), kiiHeaders(app, { "Content-Type": type })));
        expect(result.errorCode).toBe("UNSUPPORTED_MEDIA_TYPE");
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers a missing content type with 415", async () => {
    const before = await counts();
    const result = await expectKiiShape(await register(JSON.stringify(validRegistration), kiiHeaders(app)));
    expect(result.errorCode).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(await counts()).toEqual(before);
  });

  it("answers garbage app credentials with 401 or 404", async () => {
    const headerText = fc.string({ unit: "grapheme-ascii", maxLength: 80 });
    const credentials = fc.oneof(
      fc.record({ "X-Kii-AppID": headerText, "X-Kii-AppKey": headerText }),
      fc.record({ "X-Kii-AppID": fc.constant(app.appId), "X-Kii-AppKey": headerText.filter((k) => k.trim() !== app.appKey) }),
      headerText.map((t) => ({ Authorization: `Basic ${t}` })),
      fc.string({ unit: "binary-ascii", maxLength: 60 }).map((t) => ({ Authorization: `Basic ${btoa(t)}` })),
      headerText.map((t) => ({ Authorization: `Bearer ${t}` })),
    );
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(credentials, async (headers) => {
        const res = await register(JSON.stringify(validRegistration), { ...headers, "Content-Type": "application/json" });
        expect([401, 404]).toContain(res.status);
        await expectKiiShape(res);
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });
});

describe("token endpoint with generated bad input", () => {
  it("answers any JSON value that is not a sign-in with a 4xx and issues no token", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(jsonText, async (body) => {
        await expectKiiShape(await token$(body));
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers text that is not JSON with invalid_request", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(rawText, async (body) => {
        const result = await expectKiiShape(await token$(body));
        expect(result.errorCode).toBe("invalid_request");
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers a wrong type in any field with a 4xx", async () => {
    const fields = ["username", "password", "grant_type", "client_id", "client_secret", "expiresAt"] as const;
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), notAString, async (field, value) => {
        const body = { username: "alice", password: "not the password", [field]: value };
        await expectKiiShape(await token$(JSON.stringify(body)));
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers an expiresAt that is not a future integer with a 4xx", async () => {
    const badExpiry = fc.oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 1, max: Date.now() - 1000 }),
      fc.double().filter((d) => !Number.isInteger(d)),
      fc.string(),
      fc.constant(null),
    );
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(badExpiry, async (expiresAt) => {
        await expectKiiShape(await token$(JSON.stringify({ username: "alice", password: PASSWORD, expiresAt })));
      }),
      { numRuns: 15 },
    );
    expect(await counts()).toEqual(before);
  });

  it("answers random usernames and passwords with invalid_grant or invalid_request", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 }), async (username, password) => {
        fc.pre(password !== PASSWORD);
        const result = await expectKiiShape(await token$(JSON.stringify({ username, password })));
        expect(["invalid_grant", "invalid_request"]).toContain(result.errorCode);
      }),
      { numRuns: 15 },
    );
    expect(await counts()).toEqual(before);
  });

  it("answers random client credentials with invalid_client or invalid_request", async () => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), async (clientId, clientSecret) => {
        const result = await expectKiiShape(await token$(JSON.stringify({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret })));
        expect(["invalid_client", "invalid_request"]).toContain(result.errorCode);
      }),
      RUNS,
    );
    expect(await counts()).toEqual(before);
  });

  it("answers text/plain and no content type with 415", async () => {
    const before = await counts();
    const body = JSON.stringify({ username: "alice", password: PASSWORD });
    for (const headers of [kiiHeaders(app, { "Content-Type": "text/plain" }), kiiHeaders(app)]) {
      const result = await expectKiiShape(await token$(body, headers));
      expect(result.errorCode).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
    expect(await counts()).toEqual(before);
  });

  it("reads a form body as a form (RFC 6749): JSON inside one names no username, so invalid_request", async () => {
    const before = await counts();
    const body = JSON.stringify({ username: "alice", password: PASSWORD });
    const result = await expectKiiShape(await token$(body, kiiHeaders(app, { "Content-Type": "application/x-www-form-urlencoded" })));
    expect(result.errorCode).toBe("invalid_request");
    expect(await counts()).toEqual(before);
  });

  it("answers a body over 64 KiB with 413", async () => {
    const before = await counts();
    const result = await expectKiiShape(await token$(JSON.stringify({ username: "alice", password: "x".repeat(70_000) })));
    expect(result.errorCode).toBe("REQUEST_TOO_LARGE");
    expect(await counts()).toEqual(before);
  });
});

describe("user identifiers with generated bad input", () => {
  it("answers any identifier that names no user with 400 or 404, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: "binary", minLength: 1 }), fc.string({ minLength: 1 }).map((s) => `EMAIL:${s}`), fc.string({ minLength: 1 }).map((s) => `PHONE:${s}`)), async (id) => {
        fc.pre(id !== "me" && id !== "EMAIL:alice@example.com" && id !== "PHONE:+819012345678");
        const res = await call(`/api/apps/${app.appId}/users/${encodeURIComponent(id)}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
        expect([400, 404]).toContain(res.status);
        await expectKiiShape(res);
      }),
      RUNS,
    );
  });
});
