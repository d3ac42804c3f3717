// GET /healthz: D1, KV, the limiter Durable Object and the delivery Queue, each checked with a
// timeout; 503 names which one failed and nothing else.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { HEALTH_TIMEOUT_MS } from "../../src/core/health";
import { ADMIN_TOKEN, call } from "../helpers";

async function healthWith(bindings: Record<string, unknown>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request("http://latchkey.test/healthz"), { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const SECRET_WORDS = ["SELECT", ADMIN_TOKEN, "password", "D1_ERROR"];

describe("GET /healthz", () => {
  it("answers 200 with every check ok, uncached", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as { status: string; checks: Record<string, { result: string; ms: number }> };
    expect(body.status).toBe("ok");
    expect(Object.keys(body.checks).sort()).toEqual(["d1", "kv", "limiter", "queue"]);
    for (const check of Object.values(body.checks)) expect(check).toEqual({ result: "ok", ms: expect.any(Number) });
  });

  it("answers 503 naming the binding that throws, without its error text", async () => {
    const res = await healthWith({
      DB: { prepare: () => ({ first: async () => { throw new Error(`D1_ERROR: SELECT password FROM users ${ADMIN_TOKEN}`); } }) },
    });
    expect(res.status).toBe(503);
    const text = await res.text();
    const body = JSON.parse(text) as { status: string; checks: Record<string, { result: string }> };
    expect(body.status).toBe("fail");
    expect(body.checks.d1!.result).toBe("error");
    expect(body.checks.kv!.result).toBe("ok");
    expect(body.checks.limiter!.result).toBe("ok");
    expect(body.checks.queue!.result).toBe("ok");
    for (const word of SECRET_WORDS) expect(text).not.toContain(word);
  });

  it("reports a binding that hangs as a timeout, within the time limit", async () => {
    const start = Date.now();
    const res = await healthWith({
      CODES: { get: () => new Promise(() => {}) },
      DELIVERY: { send: async () => { throw new Error("queue gone"); } },
    });
    expect(Date.now() - start).toBeLessThan(HEALTH_TIMEOUT_MS + 1_000);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: Record<string, { result: string }> };
    expect(body.checks.kv!.result).toBe("timeout");
    expect(body.checks.queue!.result).toBe("error");
    expect(body.checks.d1!.result).toBe("ok");
  });

  it("reports the limiter Durable Object when it fails", async () => {
    const broken = { idFromName: () => ({}), get: () => ({ ping: async () => { throw new Error("object exploded"); } }) };
    const res = await healthWith({ LIMITER: broken });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: Record<string, { result: string }> };
    expect(body.checks.limiter!.result).toBe("error");
  });
});
