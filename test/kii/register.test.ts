// POST /api/apps/{appID}/users (SPEC §3): Kii registration.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app as worker } from "../../src/app";
import { call, createApp, expectKiiError, kiiHeaders, ORIGIN, registerKiiUser, signIn, type TestApp, everyShard } from "../helpers";

const PASSWORD = "correct horse";
const REGISTRATION = "application/vnd.kii.RegistrationRequest+json";

function register(app: TestApp, body: unknown, headers: Record<string, string> = kiiHeaders(app, { "Content-Type": REGISTRATION })) {
  return call(`/api/apps/${app.appId}/users`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

const userCount = async (app: TestApp) =>
  (await everyShard.prepare("SELECT COUNT(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first<{ n: number }>())!.n;

/** Sends a registration that must fail, and checks that no user was created. */
async function refused(app: TestApp, body: unknown, status: number, errorCode: string, typeName: string, headers?: Record<string, string>) {
  const before = await userCount(app);
  const result = await expectKiiError(await register(app, body, headers), status, errorCode, typeName);
  expect(await userCount(app)).toBe(before);
  return result;
}

describe("registration", () => {
  it("answers 201 with Location, the Kii content type, userID, internalUserID and loginName", async () => {
    const app = await createApp();
    const res = await register(app, { loginName: "alice", password: PASSWORD, emailAddress: "alice@example.com", displayName: "Alice" });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toBe("application/vnd.kii.RegistrationResponse+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.userID).toMatch(/^\d+$/);
    expect(typeof body.internalUserID).toBe("number");
    expect(body).toMatchObject({ loginName: "alice", emailAddress: "alice@example.com", emailAddressVerified: true, displayName: "Alice", _hasPassword: true, _disabled: false });
    expect(res.headers.get("Location")).toBe(`http://latchkey.test/api/apps/${app.appId}/users/${body.userID}`);
    expect(JSON.stringify(body)).not.toContain(PASSWORD);
  });

  it("stores every registration field, and the password only as an scrypt hash", async () => {
    const app = await createApp();
    const { userID } = await registerKiiUser(app, {
      loginName: "Bob.Smith",
      password: PASSWORD,
      emailAddress: "Bob@Example.com",
      phoneNumber: "+819012345678",
      displayName: "Bob",
      country: "jp",
      locale: "ja-JP",
    });
    const row = (await everyShard.prepare("SELECT * FROM users WHERE id = ?").bind(userID).first<Record<string, unknown>>())!;
    expect(row).toMatchObject({
      login_name: "Bob.Smith",
      login_name_key: "bob.smith",
      email: "Bob@Example.com",
      email_key: "bob@example.com",
      phone: "+819012345678",
      display_name: "Bob",
      country: "JP",
      locale: "ja-JP",
      disabled: 0,
    });
    expect(row.password_hash).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
  });

  it("points Location at PUBLIC_URL when one is configured", async () => {
    const app = await createApp();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${ORIGIN}/api/apps/${app.appId}/users`, {
        method: "POST",
        headers: kiiHeaders(app, { "Content-Type": REGISTRATION }),
        body: JSON.stringify({ loginName: "publicurl", password: PASSWORD }),
      }),
      { ...env, PUBLIC_URL: "https://auth.example.com/" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(201);
    const { userID } = (await res.json()) as { userID: string };
    expect(res.headers.get("Location")).toBe(`https://auth.example.com/api/apps/${app.appId}/users/${userID}`);
  });

  it("accepts plain application/json as well as the Kii content type", async () => {
    const app = await createApp();
    const res = await register(app, { loginName: "plainjson", password: PASSWORD }, kiiHeaders(app, { "Content-Type": "application/json; charset=utf-8" }));
    expect(res.status).toBe(201);
  });

  it("registers with only an email address or only a phone number", async () => {
    const app = await createApp();
    const byEmail = await registerKiiUser(app, { emailAddress: "only@example.com", password: PASSWORD });
    expect(byEmail).not.toHaveProperty("loginName");
    expect(byEmail).toMatchObject({ emailAddress: "only@example.com" });
    const byPhone = await registerKiiUser(app, { phoneNumber: "+14155550100", password: PASSWORD });
    expect(byPhone).toMatchObject({ phoneNumber: "+14155550100", phoneNumberVerified: true });
    expect((await signIn(app, "only@example.com", PASSWORD)).status).toBe(200);
    expect((await signIn(app, "+14155550100", PASSWORD)).status).toBe(200);
  });

  it("identifies the app by Basic appID:appKey as well as by the X-Kii headers", async () => {
    const app = await createApp();
    const res = await register(app, { loginName: "viabasic", password: PASSWORD }, {
      Authorization: `Basic ${btoa(`${app.appId}:${app.appKey}`)}`,
      "Content-Type": REGISTRATION,
    });
    expect(res.status).toBe(201);
  });

  it("ignores a disable_cache query parameter", async () => {
    const app = await createApp();
    const res = await call(`/api/apps/${app.appId}/users?disable_cache=1700000000000`, {
      method: "POST",
      headers: kiiHeaders(app, { "Content-Type": REGISTRATION }),
      body: JSON.stringify({ loginName: "cacheless", password: PASSWORD }),
    });
    expect(res.status).toBe(201);
  });

  it("keeps apps apart: the same login name may exist in two apps", async () => {
    const a = await createApp();
    const b = await createApp();
    await registerKiiUser(a, { loginName: "shared", password: PASSWORD });
    await registerKiiUser(b, { loginName: "shared", password: PASSWORD });
    expect((await signIn(b, "shared", PASSWORD)).status).toBe(200);
  });
});

describe("USER_ALREADY_EXISTS", () => {
  it.each([
    ["login name", { loginName: "taken" }, { loginName: "taken" }, "loginName"],
    ["login name in another case", { loginName: "Taken" }, { loginName: "tAKEN" }, "loginName"],
    ["email address", { loginName: "first", emailAddress: "same@example.com" }, { loginName: "second", emailAddress: "same@example.com" }, "emailAddress"],
    ["email address in another case", { emailAddress: "Same@Example.com" }, { emailAddress: "same@EXAMPLE.COM" }, "emailAddress"],
    ["phone number", { loginName: "first", phoneNumber: "+819012345678" }, { loginName: "second", phoneNumber: "+819012345678" }, "phoneNumber"],
  ])("409 for a duplicate %s, naming the field", async (_, first, second, field) => {
    const app = await createApp();
    await registerKiiUser(app, { ...first, password: PASSWORD });
    const body = await refused(app, { ...second, password: "another password" }, 409, "USER_ALREADY_EXISTS", "UserAlreadyExistsException");
    expect(body.field).toBe(field);
  });

  it("when 6 registrations of one address race, creates one user with one verification code and refuses the rest naming the field", async () => {
    const app = await createApp({ verification: { email: "required", phone: "required" }, rateLimits: { verifyPerAddress: { limit: 100, windowSeconds: 900 } } });
    const email = "racing@example.com";
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => register(app, { loginName: `racer-${i}`, emailAddress: email, password: PASSWORD })));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
    for (const res of answers.filter((r) => r.status !== 201)) {
      expect((await expectKiiError(res, 409, "USER_ALREADY_EXISTS", "UserAlreadyExistsException")).field).toBe("emailAddress");
    }
    expect(await userCount(app)).toBe(1);
    const codes = await everyShard.prepare("SELECT user_id AS userId FROM address_verifications WHERE app_id = ?").bind(app.appId).all<{ userId: string }>();
    const created = (await everyShard.prepare("SELECT id FROM users WHERE app_id = ?").bind(app.appId).first<{ id: string }>())!;
    expect(codes.results).toEqual([{ userId: created.id }]);
  });

  it("a user registered with two addresses to verify has a code for each, issued as it was created, each a change of its own", async () => {
    const app = await createApp({ verification: { email: "required", phone: "required" } });
    const res = await register(app, { loginName: "two-codes", emailAddress: "two@example.com", phoneNumber: "+819011112222", password: PASSWORD });
    expect(res.status).toBe(201);
    const { userID } = (await res.json()) as { userID: string };
    const row = (await everyShard.prepare("SELECT created_at AS createdAt, changed_at AS changedAt, sequence FROM users WHERE app_id = ? AND id = ?").bind(app.appId, userID).first())!;
    expect(row).toEqual({ createdAt: row.createdAt, changedAt: row.createdAt, sequence: 3 });
    const codes = await everyShard.prepare("SELECT channel, updated_at AS updatedAt FROM address_verifications WHERE app_id = ? AND user_id = ? ORDER BY channel").bind(app.appId, userID).all();
    expect(codes.results).toEqual([
      { channel: "email", updatedAt: row.createdAt },
      { channel: "phone", updatedAt: row.createdAt },
    ]);
  });

  it("leaves the first user's password in place", async () => {
    const app = await createApp();
    await registerKiiUser(app, { loginName: "keeper", password: PASSWORD });
    await refused(app, { loginName: "keeper", password: "an intruder's password" }, 409, "USER_ALREADY_EXISTS", "UserAlreadyExistsException");
    expect((await signIn(app, "keeper", PASSWORD)).status).toBe(200);
    expect((await signIn(app, "keeper", "an intruder's password")).status).toBe(400);
  });
});

describe("INVALID_INPUT_DATA", () => {
  it.each([
    ["a login name that is too short", { loginName: "ab" }, "loginName"],
    ["a login name with a space", { loginName: "al ice" }, "loginName"],
    ["a login name that is too long", { loginName: "a".repeat(65) }, "loginName"],
    ["an email address without @", { emailAddress: "not-an-email" }, "emailAddress"],
    ["an email address with a space", { emailAddress: "a b@example.com" }, "emailAddress"],
    ["a phone number without +", { phoneNumber: "09012345678" }, "phoneNumber"],
    ["a phone number with letters", { phoneNumber: "+81abc45678" }, "phoneNumber"],
    ["a country that is not two letters", { loginName: "valid1", country: "JPN" }, "country"],
    ["a login name that is not a string", { loginName: 12345 }, "loginName"],
    ["an empty display name", { loginName: "valid2", displayName: "" }, "displayName"],
    ["a display name with a NUL", { loginName: "valid3", displayName: "a\u0000b" }, "displayName"],
    ["a display name with a line break", { loginName: "valid4", displayName: "a\nBcc: x@example.com" }, "displayName"],
    ["a display name with a lone surrogate", { loginName: "valid5", displayName: "\udc00x" }, "displayName"],
    ["an email address with a control character", { emailAddress: "a\u0001b@example.com" }, "emailAddress"],
    ["a display name with a right-to-left override", { loginName: "valid6", displayName: "evil\u202Etxt.exe" }, "displayName"],
    ["a display name with a bidi isolate", { loginName: "valid7", displayName: "a\u2067b" }, "displayName"],
  ])("400 for %s, naming the field", async (_, fields, field) => {
    const app = await createApp();
    const body = await refused(app, { password: PASSWORD, ...fields }, 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(body.field).toBe(field);
  });

  it("400 naming password when the password is over the policy's maximum", async () => {
    const app = await createApp();
    const body = await refused(app, { loginName: "longpass", password: "x".repeat(129) }, 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(body.field).toBe("password");
  });

  it("400 when the password is missing", async () => {
    const app = await createApp();
    const body = await refused(app, { loginName: "nopassword" }, 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(body.field).toBe("password");
  });

  it("400 when neither login name, email address nor phone number is given", async () => {
    const app = await createApp();
    await refused(app, { password: PASSWORD, displayName: "Nobody" }, 400, "INVALID_INPUT_DATA", "ValidationException");
  });

  it("400 for malformed JSON", async () => {
    const app = await createApp();
    await refused(app, '{"loginName": "x", ', 400, "INVALID_INPUT_DATA", "ValidationException");
  });

  it("415 for a text/plain body, and for no content type", async () => {
    const app = await createApp();
    const body = { loginName: "typed", password: PASSWORD };
    await refused(app, body, 415, "UNSUPPORTED_MEDIA_TYPE", "UnsupportedMediaTypeException", kiiHeaders(app, { "Content-Type": "text/plain" }));
    await refused(app, body, 415, "UNSUPPORTED_MEDIA_TYPE", "UnsupportedMediaTypeException", kiiHeaders(app));
  });

  it("413 for a body over 64 KiB", async () => {
    const app = await createApp();
    await refused(app, { loginName: "large", password: PASSWORD, displayName: "x".repeat(70_000) }, 413, "REQUEST_TOO_LARGE", "RequestEntityTooLargeException");
  });
});

describe("PASSWORD_TOO_SHORT", () => {
  it("400 with the app's minimumLength", async () => {
    const app = await createApp();
    const body = await refused(app, { loginName: "shorty", password: "1234567" }, 400, "PASSWORD_TOO_SHORT", "PasswordTooShortException");
    expect(body.minimumLength).toBe(8);
  });

  it("follows the app's policy", async () => {
    const app = await createApp({ passwordPolicy: { minLength: 12 } });
    const body = await refused(app, { loginName: "shorty", password: "elevenchars" }, 400, "PASSWORD_TOO_SHORT", "PasswordTooShortException");
    expect(body.minimumLength).toBe(12);
    await registerKiiUser(app, { loginName: "longer", password: "twelve chars" });
  });

  it("counts characters after NFKC, not bytes or UTF-16 units", async () => {
    const app = await createApp();
    // Seven emoji are 14 UTF-16 units and 28 bytes, but only 7 characters.
    await refused(app, { loginName: "emoji7", password: "😀😀😀😀😀😀😀" }, 400, "PASSWORD_TOO_SHORT", "PasswordTooShortException");
    await registerKiiUser(app, { loginName: "emoji8", password: "😀😀😀😀😀😀😀😀" });
  });
});

describe("app identification", () => {
  it("404 APP_NOT_FOUND for an unknown app", async () => {
    const app = await createApp();
    const res = await call("/api/apps/nosuchapp1/users", {
      method: "POST",
      headers: { "X-Kii-AppID": "nosuchapp1", "X-Kii-AppKey": app.appKey, "Content-Type": REGISTRATION },
      body: JSON.stringify({ loginName: "ghost", password: PASSWORD }),
    });
    const body = await expectKiiError(res, 404, "APP_NOT_FOUND", "AppNotFoundException");
    expect(body.appID).toBe("nosuchapp1");
  });

  it("401 UNAUTHORIZED for a wrong app key, creating nothing", async () => {
    const app = await createApp();
    await refused(app, { loginName: "wrongkey", password: PASSWORD }, 401, "UNAUTHORIZED", "UnauthorizedAccessException", {
      "X-Kii-AppID": app.appId,
      "X-Kii-AppKey": "0".repeat(32),
      "Content-Type": REGISTRATION,
    });
  });

  it("401 UNAUTHORIZED for a wrong key in Basic credentials", async () => {
    const app = await createApp();
    await refused(app, { loginName: "wrongbasic", password: PASSWORD }, 401, "UNAUTHORIZED", "UnauthorizedAccessException", {
      Authorization: `Basic ${btoa(`${app.appId}:wrong`)}`,
      "Content-Type": REGISTRATION,
    });
  });

  it("401 UNAUTHORIZED when the app is not identified at all", async () => {
    const app = await createApp();
    await refused(app, { loginName: "anonymous", password: PASSWORD }, 401, "UNAUTHORIZED", "UnauthorizedAccessException", { "Content-Type": REGISTRATION });
  });

  it("401 when the headers name another app than the path", async () => {
    const app = await createApp();
    const other = await createApp();
    await refused(app, { loginName: "crossapp", password: PASSWORD }, 401, "UNAUTHORIZED", "UnauthorizedAccessException", kiiHeaders(other, { "Content-Type": REGISTRATION }));
  });
});
