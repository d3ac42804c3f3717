import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { outboxStub } from "../../src/storage/outbox";
import { ADMIN_TOKEN, call } from "../helpers";

const message = (id: string, to: string, createdAt: string) => ({
  id,
  appId: "outboxapp1",
  channel: "email" as const,
  to,
  subject: `Subject ${id}`,
  text: `Text <${id}>`,
  html: `<p>${id}</p>`,
  template: "reset_link" as const,
  createdAt,
});

async function inProduction(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://latchkey.test${path}`), { ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "p".repeat(40) }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("dev outbox", () => {
  it("is empty until messages exist", async () => {
    const res = await call("/dev/outbox");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ messages: [] });
  });

  it("lists messages newest first, filters by recipient, and stores a redelivered message once", async () => {
    const outbox = outboxStub(env.OUTBOX);
    await outbox.put(message("m1", "Ann@Example.com", "2026-01-01T00:00:00.000Z"));
    await outbox.put(message("m2", "bob@example.com", "2026-01-01T00:00:01.000Z"));
    expect(await outbox.put(message("m2", "bob@example.com", "2026-01-01T00:00:01.000Z"))).toBe(false);
    const all = (await (await call("/dev/outbox")).json()) as { messages: { id: string }[] };
    expect(all.messages.map((m) => m.id)).toEqual(["m2", "m1"]);
    const ann = (await (await call("/dev/outbox?to=ann%40example.com")).json()) as { messages: { id: string; to: string }[] };
    expect(ann.messages).toHaveLength(1);
    expect(ann.messages[0]).toMatchObject({ id: "m1", to: "Ann@Example.com", channel: "email", template: "reset_link" });
  });

  it("shows an escaped HTML view for people", async () => {
    await outboxStub(env.OUTBOX).put(message("m3", "cat@example.com", "2026-01-01T00:00:02.000Z"));
    const res = await call("/dev/outbox?format=html");
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("cat@example.com");
    expect(html).toContain("Text &lt;m3&gt;");
    expect(html).not.toContain("Text <m3>");
  });

  it("takes remote addresses out of what the preview would load (img, srcset, link), keeping links", async () => {
    await outboxStub(env.OUTBOX).put({
      ...message("m5", "owl@example.com", "2026-01-01T00:00:04.000Z"),
      html: `<img src="https://tracker.example/p.png"><img srcset="https://a.example/1.png 1x, //b.example/2.png 2x"><link rel="stylesheet" href="https://c.example/s.css"><img src="data:image/png;base64,AAAA"><a href="https://ok.example/">ok</a>`,
    });
    const html = await (await call("/dev/outbox?format=html&to=owl%40example.com")).text();
    const srcdoc = /srcdoc="([^"]*)"/.exec(html)![1]!;
    expect(srcdoc).not.toContain("https://tracker.example");
    expect(srcdoc).not.toContain("https://a.example");
    expect(srcdoc).not.toContain("c.example/s.css");
    expect(srcdoc).not.toContain("//b.example");
    expect(srcdoc).toContain("data:image/png;base64,AAAA");
    expect(srcdoc).toContain("https://ok.example/");
  });

  it("shows links as links and previews the HTML part in a sandboxed frame under a strict CSP", async () => {
    await outboxStub(env.OUTBOX).put({
      ...message("m4", "dog@example.com", "2026-01-01T00:00:03.000Z"),
      text: "Open https://latchkey.test/reset/app/user/Tok_en-1. Then rest.",
      html: `<p>Hi</p><script>alert("x")</script><a href="https://latchkey.test/reset/app/user/Tok_en-1">go</a>`,
    });
    const res = await call("/dev/outbox?format=html&to=dog%40example.com");
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("script-src");
    const html = await res.text();
    // The sentence's full stop stays outside the link.
    expect(html).toContain('<a href="https://latchkey.test/reset/app/user/Tok_en-1" rel="noreferrer">https://latchkey.test/reset/app/user/Tok_en-1</a>. Then rest.');
    expect(html).toMatch(/<iframe sandbox="" srcdoc="[^"]*"/);
    const srcdoc = /srcdoc="([^"]*)"/.exec(html)![1]!;
    // The message's markup only ever appears escaped inside the attribute, behind its own CSP.
    expect(srcdoc).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(srcdoc).toContain("default-src &#39;none&#39;");
    expect(html).not.toContain("<script");
  });

  it("seeds the demo app once with the development credentials", async () => {
    const body = { appId: "demoapp1", appKey: "demo-app-key-0123456789abcdef", clientId: "demo-client-id", clientSecret: "demo-client-secret", name: "Demo" };
    const init = { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: body };
    const first = await call("/dev/seed", init);
    expect(first.status).toBe(201);
    const again = await call("/dev/seed", init);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { appId: string }).appId).toBe("demoapp1");
    expect((await call("/dev/seed", { ...init, headers: {} })).status).toBe(401);
  });

  it("does not exist in production", async () => {
    expect((await inProduction("/dev/outbox")).status).toBe(404);
    expect((await inProduction("/dev/outbox?format=html")).status).toBe(404);
  });

  it("refuses to run in production with the development admin token", async () => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request("http://latchkey.test/admin/apps/x"), { ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "dev-admin-token" }, ctx);
    expect(res.status).toBe(503);
  });
});
