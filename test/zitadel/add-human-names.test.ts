// Issue 9 item 7: AddHumanUser refuses control characters and bidirectional overrides in names
// and usernames (InvalidArgument, nothing stored), with ZITADEL's length limit on each field.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { unique } from "../kii/password-helpers";
import { call, everyShard } from "../helpers";
import { expectOk, expectZitadelError, rest, type ZitadelApp, zitadelApp } from "./helpers";

let shared: Promise<ZitadelApp> | undefined;
const app = () => (shared ??= zitadelApp());

const usersOf = async (appId: string) => (await everyShard.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(appId).first<number>("n"))!;

function human(overrides: { username?: string; profile?: Record<string, string> } = {}) {
  const username = overrides.username ?? unique("names");
  return {
    username,
    profile: { givenName: "Ada", familyName: "Lovelace", ...overrides.profile },
    email: { email: `${unique("names")}@example.com`, isVerified: true },
  };
}

const UNSAFE: [string, string][] = [
  ["CR", "\r"],
  ["LF", "\n"],
  ["NUL", "\0"],
  ["ESC", "\x1b"],
  ["TAB", "\t"],
  ["DEL", "\x7f"],
  ["C1 NEL", "\u0085"],
  ["C1 CSI", "\u009b"],
  ["LRE U+202A", "\u202a"],
  ["RLO U+202E", "\u202e"],
  ["LRI U+2066", "\u2066"],
  ["PDI U+2069", "\u2069"],
  ["a lone surrogate", "\ud800"],
];

const NAME_FIELDS = ["givenName", "familyName", "displayName", "nickName"] as const;

describe("control characters", () => {
  for (const field of NAME_FIELDS) {
    it.each(UNSAFE)(`profile.${field} with %s is InvalidArgument and stores nothing`, async (_, char) => {
      const a = await app();
      const before = await usersOf(a.appId);
      const res = await rest("/users/human", { token: a.admin, json: human({ profile: { [field]: `Ada${char}Evil` } }) });
      const body = await expectZitadelError(res, 400, 3, "LATCHKEY-INPUT");
      // (protobuf-es already refuses a lone surrogate while decoding, with its own words.)
      if (char !== "\ud800") expect(body.details[0]!.message).toContain(`profile.${field}`);
      expect(await usersOf(a.appId)).toBe(before);
    });
  }

  it.each(UNSAFE)("username with %s is InvalidArgument and stores nothing", async (_, char) => {
    const a = await app();
    const before = await usersOf(a.appId);
    await expectZitadelError(await rest("/users/human", { token: a.admin, json: human({ username: `ada${char}x` }) }), 400, 3, "LATCHKEY-INPUT");
    expect(await usersOf(a.appId)).toBe(before);
  });

  it("is refused over Connect too", async () => {
    const a = await app();
    const res = await call("/zitadel.user.v2.UserService/AddHumanUser", {
      method: "POST",
      headers: { Authorization: `Bearer ${a.admin}`, "Content-Type": "application/json" },
      body: JSON.stringify(human({ profile: { givenName: "Ada\u202eevil" } })),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("keeps letters of every script, combining marks and emoji joiners", async () => {
    const a = await app();
    const res = await rest("/users/human", {
      token: a.admin,
      json: human({ profile: { givenName: "Zoë 山田", familyName: "O'Brien-Nguyễn", displayName: "👩‍💻 Ada", nickName: "ﻋﻠﻲ" } }),
    });
    await expectOk(res);
  });
});

describe("ZITADEL's length limits", () => {
  it.each([
    ["givenName", 200],
    ["familyName", 200],
    ["displayName", 200],
    ["nickName", 200],
  ] as const)("profile.%s takes %i characters and refuses one more", async (field, max) => {
    const a = await app();
    await expectOk(await rest("/users/human", { token: a.admin, json: human({ profile: { [field]: "é".repeat(max) } }) }));
    const before = await usersOf(a.appId);
    await expectZitadelError(await rest("/users/human", { token: a.admin, json: human({ profile: { [field]: "é".repeat(max + 1) } }) }), 400, 3, "LATCHKEY-INPUT");
    expect(await usersOf(a.appId)).toBe(before);
  });

  it("refuses an empty givenName or familyName", async () => {
    const a = await app();
    await expectZitadelError(await rest("/users/human", { token: a.admin, json: human({ profile: { givenName: "" } }) }), 400, 3, "LATCHKEY-INPUT");
    await expectZitadelError(await rest("/users/human", { token: a.admin, json: human({ profile: { familyName: "" } }) }), 400, 3, "LATCHKEY-INPUT");
  });

  it("refuses a username over 200 characters", async () => {
    const a = await app();
    await expectZitadelError(await rest("/users/human", { token: a.admin, json: human({ username: "a".repeat(201) }) }), 400, 3, "LATCHKEY-INPUT");
  });

  it("refuses a preferredLanguage over 10 characters", async () => {
    const a = await app();
    await expectZitadelError(await rest("/users/human", { token: a.admin, json: human({ profile: { preferredLanguage: "en-verylongtag" } }) }), 400, 3, "LATCHKEY-INPUT");
  });
});
