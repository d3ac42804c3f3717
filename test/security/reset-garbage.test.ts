// SPEC §8: every malformed input to the reset routes gets a Kii-shaped 4xx, never a 5xx, and
// changes nothing (the password still works; the pending code and its failure count are intact).
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, type TestApp } from "../helpers";
import { completeReset, newUser, PASSWORD, requestPin, requestReset, resetRow, signInStatus, type TestUser } from "../kii/password-helpers";

const RUNS = 25;

async function expectKiiShaped4xx(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/vnd\.kii\.\w+Exception\+json$/);
  const body = JSON.parse(text) as { errorCode?: unknown; message?: unknown };
  expect(typeof body.errorCode).toBe("string");
  expect(typeof body.message).toBe("string");
}

const contentTypes = fc.constantFrom(
  "application/json",
  "application/vnd.kii.ResetPasswordRequest+json",
  "application/vnd.kii.CompletePasswordResetRequest+json",
  "text/plain",
  "application/x-www-form-urlencoded",
);

/** Text that is JSON of any shape, or not JSON at all; never empty (an empty body is a valid request). */
const garbageText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ minLength: 1, maxLength: 200 }),
  fc.record({ notificationMethod: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), smsResetMethod: fc.oneof(fc.string(), fc.boolean()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ pinCode: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null)), newPassword: fc.oneof(fc.string({ maxLength: 7 }), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
);

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Bodies the reset request route must refuse (a valid ResetPasswordRequest is filtered out). */
const isValidResetBody = (text: string, type: string) => {
  if (text.trim() === "") return true;
  const v = parse(text) as { notificationMethod?: unknown; smsResetMethod?: unknown } | undefined;
  if (!/json/.test(type) || typeof v !== "object" || v === null || Array.isArray(v)) return false;
  if (v.notificationMethod === "EMAIL") return v.smsResetMethod === undefined;
  return v.notificationMethod === "SMS" && (v.smsResetMethod === undefined || v.smsResetMethod === "URL" || v.smsResetMethod === "PIN");
};

/** A completion that would really test a code (6-digit PIN and an acceptable password) is not garbage. */
const isRealAttempt = (text: string) => {
  const v = parse(text) as { pinCode?: unknown; newPassword?: unknown } | undefined;
  return typeof v === "object" && v !== null && typeof v.pinCode === "string" && /^\d{6}$/.test(v.pinCode) && typeof v.newPassword === "string" && [...v.newPassword.normalize("NFKC")].length >= 8;
};

describe("garbage in, Kii-shaped 4xx out, nothing changed", () => {
  let app: TestApp;
  let user: TestUser;
  let pending: Awaited<ReturnType<typeof resetRow>>;

  beforeAll(async () => {
    app = await createApp({ rateLimits: { resetPerAddress: { limit: 10_000, windowSeconds: 60 }, resetPerIp: { limit: 10_000, windowSeconds: 60 } } });
    user = await newUser(app);
    await requestPin(app, user);
    pending = await resetRow(user.userID);
    expect(pending?.code_id).toBeTruthy();
  });

  const unchanged = async () => {
    expect(await resetRow(user.userID)).toEqual(pending);
    expect(await signInStatus(app, user.loginName, PASSWORD)).toBe(200);
  };

  it("refuses garbage reset-request bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        garbageText,
        contentTypes,
        async (text, type) => {
          fc.pre(!isValidResetBody(text, type));
          await expectKiiShaped4xx(await requestReset(app, user.userID, { body: text, contentType: type }));
        },
      ),
      { numRuns: RUNS },
    );
    await unchanged();
  });

  it("refuses garbage complete-reset bodies", async () => {
    await fc.assert(
      fc.asyncProperty(garbageText, contentTypes, async (text, type) => {
        fc.pre(!(isRealAttempt(text) && /json/.test(type)));
        const res = await completeReset(app, user.userID, text, { "Content-Type": type });
        await expectKiiShaped4xx(res);
      }),
      { numRuns: RUNS },
    );
    await unchanged();
  });

  it("refuses garbage user identifiers in both routes", async () => {
    const known = [user.userID, user.loginName, user.email, user.phone, "me"].map((s) => s.toLowerCase());
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 60 }),
          fc.tuple(fc.constantFrom("EMAIL:", "PHONE:", "LOGIN_NAME:", "FOO:", ":", ""), fc.string({ maxLength: 60 })).map(([a, b]) => a + b),
        ),
        async (id) => {
          const value = id.slice(id.indexOf(":") + 1).toLowerCase();
          fc.pre(!known.includes(value) && !known.includes(id.toLowerCase()));
          // Dot segments would be resolved by URL parsing into another route.
          fc.pre(id !== "." && id !== "..");
          const segment = encodeURIComponent(id);
          await expectKiiShaped4xx(await requestReset(app, segment));
          await expectKiiShaped4xx(await completeReset(app, segment, { pinCode: "123456", newPassword: "long enough password" }));
        },
      ),
      { numRuns: RUNS },
    );
    await unchanged();
  });
});
