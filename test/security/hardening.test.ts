// Rules that guard against state changes on bad settings, memory exhaustion by imported hashes,
// per-IP limits dodged by IPv6 address rotation, and ids one dialect could create but the other not name.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { formatPhc, parsePhc } from "../../src/core/passwords";
import { rateLimitAddress } from "../../src/lib/ip";
import { ADMIN_TOKEN, call, createApp, kiiHeaders } from "../helpers";
import { newUser, requestReset } from "../kii/password-helpers";
import { rest, zitadelApp } from "../zitadel/helpers";

const patch = (appId: string, settings: unknown) =>
  call(`/admin/apps/${appId}`, { method: "PATCH", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { settings } });

describe("stored settings", () => {
  it("refuses a reset URL template that would not render, naming the field, and keeps the old one", async () => {
    const app = await createApp({ resetUrlTemplate: "https://app.example/reset?c={{.Code}}" });
    for (const bad of ["https://app.example/r/{{.Foo}}", "https://app.example/r/{{ .Code"]) {
      const res = await patch(app.appId, { resetUrlTemplate: bad });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe("settings.resetUrlTemplate");
    }
    const stored = await env.DB.prepare("SELECT settings FROM apps WHERE id = ?").bind(app.appId).first<{ settings: string }>();
    expect(JSON.parse(stored!.settings).resetUrlTemplate).toBe("https://app.example/reset?c={{.Code}}");
  });

  it("keeps CORS origins in the form a browser sends them", async () => {
    const app = await createApp({ corsOrigins: ["https://shop.example/", "https://admin.example/some/path"] });
    expect(app.settings.corsOrigins).toEqual(["https://shop.example", "https://admin.example"]);
    const res = await call(`/api/apps/${app.appId}/users`, {
      method: "OPTIONS",
      headers: { Origin: "https://shop.example", "Access-Control-Request-Method": "POST" },
    });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://shop.example");
  });
});

describe("imported password hashes", () => {
  const salt = new Uint8Array(16);
  it("refuses parameters whose working memory would crowd an isolate (N=2^17, r=8: 128 MiB)", () => {
    expect(parsePhc(formatPhc({ logN: 17, r: 8, p: 1 }, false, salt, new Uint8Array(32)))).toBeNull();
    expect(parsePhc(formatPhc({ logN: 15, r: 8, p: 3 }, false, salt, new Uint8Array(32)))).not.toBeNull();
  });

  it("refuses a key of another length than the 32 bytes verification derives", () => {
    expect(parsePhc(formatPhc({ logN: 14, r: 8, p: 5 }, false, salt, new Uint8Array(64)))).toBeNull();
  });
});

describe("per-IP limits", () => {
  it("key an IPv6 address by its /64 and leave IPv4 as it is", () => {
    expect(rateLimitAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(rateLimitAddress("2001:0db8:0001:0002::9")).toBe("2001:db8:1:2::/64");
    expect(rateLimitAddress("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(rateLimitAddress("203.0.113.7")).toBe("203.0.113.7");
    expect(rateLimitAddress("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(rateLimitAddress("::1")).toBe("::1");
    expect(rateLimitAddress("not an address")).toBeNull();
  });

  it("count addresses of one /64 together", async () => {
    const app = await createApp({ rateLimits: { resetPerIp: { limit: 2, windowSeconds: 3600 } } });
    const user = await newUser(app);
    const from = (ip: string) => requestReset(app, user.userID, { headers: { "CF-Connecting-IP": ip } });
    expect((await from("2001:db8:7:7::1")).status).toBe(204);
    expect((await from("2001:db8:7:7:ffff::2")).status).toBe(204);
    expect((await from("2001:db8:7:7:1234:5678:9abc:def0")).status).toBe(429);
    expect((await from("2001:db8:7:8::1")).status).toBe(204);
  });
});

describe("user ids across dialects", () => {
  it("an id chosen through ZITADEL, with '@', is addressable on Kii paths", async () => {
    const app = await zitadelApp();
    const res = await rest("/users/human", {
      token: app.admin,
      json: { userId: "alice@corp", username: "alice-corp", profile: { givenName: "A", familyName: "C" }, email: { email: "alice@corp.example", isVerified: true }, password: { password: "Correct-horse-7" } },
    });
    expect(res.status).toBe(200);
    const me = await call(`/api/apps/${app.appId}/users/alice@corp`, { headers: kiiHeaders(app, { Authorization: `Bearer ${app.admin}` }) });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { userID: string }).userID).toBe("alice@corp");
  });

  it("refuses an id Kii could not name", async () => {
    const app = await zitadelApp();
    for (const userId of ["me", "a:b", "has space"]) {
      const res = await rest("/users/human", {
        token: app.admin,
        json: { userId, username: `u${Math.random().toString(36).slice(2, 8)}`, profile: { givenName: "A", familyName: "C" }, email: { email: `${Math.random().toString(36).slice(2)}@x.example` } },
      });
      expect(res.status).toBe(400);
    }
  });
});

describe("ZITADEL PasswordReset by a user's token", () => {
  it("is refused for another user only after the per-IP limit has counted it", async () => {
    const { addHuman } = await import("../zitadel/helpers");
    const { userToken } = await import("../helpers");
    const app = await zitadelApp({ rateLimits: { resetPerIp: { limit: 2, windowSeconds: 3600 } } });
    const prober = await addHuman(app);
    const victim = await addHuman(app);
    const token = await userToken(app, prober.username, "Correct-horse-7");
    const probe = () => rest(`/users/${victim.userId}/password_reset`, { token, json: {}, headers: { "CF-Connecting-IP": "198.51.100.4" } });
    expect((await probe()).status).toBe(403);
    expect((await probe()).status).toBe(403);
    expect((await probe()).status).toBe(429);
    // The user's own reset from another address still works.
    const own = await rest(`/users/${prober.userId}/password_reset`, { token, json: {}, headers: { "CF-Connecting-IP": "198.51.100.5" } });
    expect(own.status).toBe(200);
  });
});
