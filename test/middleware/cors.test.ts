import { describe, expect, it } from "vitest";
import { call, createApp, kiiHeaders } from "../helpers";

const preflight = (path: string, origin: string) =>
  call(path, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-kii-appid" } });

describe("CORS", () => {
  it("answers a preflight for an origin the app lists, naming the Kii and Connect headers", async () => {
    const app = await createApp({ corsOrigins: ["https://shop.example"] });
    const res = await preflight(`/api/apps/${app.appId}/users`, "https://shop.example");
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://shop.example");
    expect(res.headers.get("Access-Control-Allow-Headers")).toContain("X-Kii-AppID");
    expect(res.headers.get("Access-Control-Allow-Headers")).toContain("Connect-Protocol-Version");
  });

  it("refuses a preflight from an origin the app does not list, even if another app lists it", async () => {
    const listed = await createApp({ corsOrigins: ["https://other.example"] });
    const app = await createApp({ corsOrigins: ["https://shop.example"] });
    const res = await preflight(`/api/apps/${app.appId}/users`, "https://other.example");
    expect(res.status).toBe(403);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(listed.appId).not.toBe(app.appId);
  });

  it("adds Allow-Origin to a real response only for a listed origin", async () => {
    const app = await createApp({ corsOrigins: ["https://shop.example"] });
    const body = { loginName: "cors-user", password: "long enough pw" };
    const ok = await call(`/api/apps/${app.appId}/users`, { method: "POST", headers: kiiHeaders(app, { Origin: "https://shop.example" }), json: body });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://shop.example");
    expect(ok.headers.get("Access-Control-Expose-Headers")).toContain("Location");
    const evil = await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Origin: "https://evil.example" }) });
    expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(evil.headers.get("Vary")).toContain("Origin");
  });

  it("allows the shared token endpoint for an origin some app lists, and no other", async () => {
    await createApp({ corsOrigins: ["https://spa.example"] });
    expect((await preflight("/api/oauth2/token", "https://spa.example")).status).toBe(204);
    expect((await preflight("/api/oauth2/token", "https://nobody.example")).status).toBe(403);
  });

  it("never adds CORS headers to the operator API", async () => {
    await createApp({ corsOrigins: ["https://shop.example"] });
    const res = await call("/admin/apps/nosuchapp1", { headers: { Origin: "https://shop.example", Authorization: "Bearer test-admin-token" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});
