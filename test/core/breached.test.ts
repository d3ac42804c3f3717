// The optional breached-password check, against Have I Been Pwned's range API intercepted at the
// fetch boundary.
import { sha1 } from "@noble/hashes/legacy.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PWNED_RANGE_URL } from "../../src/core/breached";
import { call, createApp, expectKiiError, kiiHeaders, type TestApp } from "../helpers";
import { completeReset, newUser, requestPin } from "../kii/password-helpers";

afterEach(() => vi.restoreAllMocks());

const BREACHED = "password123456";
const hex = (s: string) => bytesToHex(sha1(new TextEncoder().encode(s))).toUpperCase();

/** Answers range queries like the real API: the suffixes under a prefix, plus padding rows. */
function fakePwned(known: string[], fail?: () => Response | never) {
  const requests: Request[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(PWNED_RANGE_URL)) return real(input, init);
    requests.push(request);
    if (fail) return fail();
    const prefix = request.url.slice(PWNED_RANGE_URL.length);
    const rows = known.map(hex).filter((h) => h.startsWith(prefix)).map((h) => `${h.slice(5)}:42`);
    rows.push(`${"0".repeat(35)}:0`, `${hex("padding only").slice(5)}:0`);
    return new Response(rows.join("\r\n"));
  });
  return requests;
}

const register = (app: TestApp, loginName: string, password: string) =>
  call(`/api/apps/${app.appId}/users`, { method: "POST", headers: kiiHeaders(app), json: { loginName, password } });

describe("breached-password check", () => {
  it("sends only the first five hex digits of the SHA-1, with padding asked for", async () => {
    const requests = fakePwned([BREACHED]);
    const app = await createApp({ passwordPolicy: { breachedPasswordCheck: true } });
    await register(app, "checked-user", "a fine unbreached password");
    expect(requests).toHaveLength(1);
    expect(requests[0]!.method).toBe("GET");
    expect(requests[0]!.url).toBe(PWNED_RANGE_URL + hex("a fine unbreached password").slice(0, 5));
    expect(requests[0]!.headers.get("Add-Padding")).toBe("true");
  });

  it("refuses a breached password with the dialect's policy error and stores nothing", async () => {
    fakePwned([BREACHED]);
    const app = await createApp({ passwordPolicy: { breachedPasswordCheck: true } });
    const body = await expectKiiError(await register(app, "breached-user", BREACHED), 400, "INVALID_INPUT_DATA", "ValidationException");
    expect(body.message).toMatch(/breach/);
    // The login name is still free: nothing was stored.
    expect((await register(app, "breached-user", "another fine password")).status).toBe(201);
  });

  it("ignores padding rows, whose count is 0", async () => {
    fakePwned([]);
    const app = await createApp({ passwordPolicy: { breachedPasswordCheck: true } });
    expect((await register(app, "padded-user", "padding only")).status).toBe(201);
  });

  it("fails open with one log line, without the password, when the API is unavailable", async () => {
    fakePwned([BREACHED], () => new Response("down", { status: 503 }));
    const warn = vi.spyOn(console, "warn");
    const app = await createApp({ passwordPolicy: { breachedPasswordCheck: true } });
    expect((await register(app, "open-user", BREACHED)).status).toBe(201);
    const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("breached_password_check_skipped"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(BREACHED);
    expect(lines[0]).not.toContain(hex(BREACHED).slice(5));
  });

  it("is off by default: no request leaves the Worker", async () => {
    const requests = fakePwned([BREACHED]);
    const app = await createApp();
    expect((await register(app, "default-user", BREACHED)).status).toBe(201);
    expect(requests).toHaveLength(0);
  });

  it("runs before a reset code is consumed, so a breached password never burns a valid PIN", async () => {
    fakePwned([BREACHED]);
    const app = await createApp({ passwordPolicy: { breachedPasswordCheck: true } });
    const user = await newUser(app);
    const pin = await requestPin(app, user);
    await expectKiiError(await completeReset(app, user.userID, { pinCode: pin, newPassword: BREACHED }), 400, "INVALID_INPUT_DATA");
    expect((await completeReset(app, user.userID, { pinCode: pin, newPassword: "an unbreached new password" })).status).toBe(204);
  });
});
