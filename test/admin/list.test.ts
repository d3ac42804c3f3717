// GET /admin/apps: every app, a page at a time in id order, secrets masked, behind the admin token.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createApp } from "../helpers";

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
interface Page {
  apps: { appId: string; settings: { delivery: { email: { apiKey?: string } | null } } }[];
  next: string | null;
}
const list = async (query = "") => {
  const res = await call(`/admin/apps${query}`, { headers: auth });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
};

describe("GET /admin/apps", () => {
  it("pages through every app in id order, each exactly once", async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await createApp()).appId);
    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(`?limit=2${next ? `&after=${next}` : ""}`);
      expect(page.apps.length).toBeLessThanOrEqual(2);
      seen.push(...page.apps.map((a) => a.appId));
      next = page.next;
      pages++;
    } while (next && pages < 20);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of created) expect(seen).toContain(id);
    expect((await list("?limit=100")).next).toBeNull();
  });

  it("masks delivery secrets and shows no client secret", async () => {
    const app = await createApp({ delivery: { email: { provider: "resend", apiKey: "re_live_0123456789abcdefWXYZ", from: "no-reply@example.com" } } });
    const text = JSON.stringify(await list("?limit=100"));
    expect(text).toContain(app.appId);
    expect(text).not.toContain("re_live_0123456789abcdefWXYZ");
    expect(text).not.toContain(app.clientSecret);
  });

  it("refuses a bad limit, naming the field", async () => {
    const res = await call("/admin/apps?limit=1000", { headers: auth });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request", field: "limit" });
  });

  it("needs the admin token", async () => {
    expect((await call("/admin/apps")).status).toBe(401);
  });
});
