// The consumer's side of security events: one signed POST per event (checked with the
// standardwebhooks package) at the fetch boundary, the same webhook-id on every attempt, retries
// with backoff, dead letters that name the event without its data, and events an app no longer
// wants dropped.
import { env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/config/env";
import { type EventMessage, sealForQueue } from "../../src/delivery/message";
import { createApp, type TestApp } from "../helpers";
import { captureConsole, fakeDeadLetters, interceptFetch, runBatch, webhookSecret } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const HOOK = "https://events.example.com/hook";

let n = 0;
function event(app: TestApp, fields: Partial<EventMessage> = {}): EventMessage {
  n++;
  return {
    kind: "event",
    id: `evt_test_${Date.now().toString(36)}_${n}`,
    appId: app.appId,
    type: "user.deleted",
    timestamp: "2026-11-23T10:00:00.000Z",
    data: { appId: app.appId, userId: "1234", actor: "admin", via: "kii", ip: null },
    ...fields,
  };
}

const sealed = (e: EventMessage) => sealForQueue(env.QUEUE_KEY!, e);
const headersOf = (r: Request) => Object.fromEntries(r.headers);

describe("an event for an app with settings.events", () => {
  it("is POSTed once, signed per Standard Webhooks, as {type, timestamp, data}, without following redirects", async () => {
    const secret = webhookSecret();
    const app = await createApp({ events: { url: HOOK, secret } });
    const e = event(app);
    const { calls } = interceptFetch(() => new Response(null, { status: 204 }));
    const run = await runBatch([await sealed(e)]);
    expect(run.acked).toEqual(["queue-msg-0"]);
    expect(calls).toHaveLength(1);
    const { request, redirect } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(HOOK);
    expect(redirect).toBe("manual");
    const headers = headersOf(request);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe(e.id);
    expect(Math.abs(Number(headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const body = await request.text();
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: e.type, timestamp: e.timestamp, data: e.data });
    // Another secret does not verify it.
    expect(() => new Webhook(webhookSecret()).verify(body, headers)).toThrow();
  });

  it("keeps its webhook-id across retries: a 503 is retried with backoff, then delivered", async () => {
    const secret = webhookSecret();
    const app = await createApp({ events: { url: HOOK, secret } });
    const body = await sealed(event(app));
    const { calls } = interceptFetch((_, i) => new Response(null, { status: i === 0 ? 503 : 200 }));
    const first = await runBatch([body], { attempts: 1 });
    expect(first.retried).toEqual(["queue-msg-0"]);
    expect(first.delays["queue-msg-0"]).toBeGreaterThanOrEqual(5);
    const second = await runBatch([body], { attempts: 2 });
    expect(second.acked).toEqual(["queue-msg-0"]);
    expect(calls).toHaveLength(2);
    const [a, b] = calls.map((c) => headersOf(c.request));
    expect(a!["webhook-id"]).toBe(b!["webhook-id"]);
    for (const c of calls) new Webhook(secret).verify(await c.request.text(), headersOf(c.request));
  });

  it("answered 4xx goes to the dead-letter queue named by id and type, without its data", async () => {
    const app = await createApp({ events: { url: HOOK, secret: webhookSecret() } });
    const e = event(app, { type: "password.changed" });
    interceptFetch(() => new Response("no", { status: 410 }));
    const dead = fakeDeadLetters();
    const run = await runBatch([await sealed(e)], { env: { DEAD_LETTERS: dead.queue } as Partial<Env> });
    expect(run.acked).toEqual(["queue-msg-0"]);
    expect(dead.sent).toEqual([
      { kind: "event", id: e.id, appId: app.appId, type: "password.changed", timestamp: e.timestamp, failure: { reason: "http_410", provider: "event_webhook", attempts: 1, status: 410 } },
    ]);
  });

  it("whose destination production refuses (loopback, set in development) is dead-lettered without a request", async () => {
    const app = await createApp({ events: { url: "http://127.0.0.1:9999/hook", secret: webhookSecret() } });
    const { calls } = interceptFetch();
    const dead = fakeDeadLetters();
    const production = { ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "p".repeat(40), DEAD_LETTERS: dead.queue };
    const run = await runBatch([await sealed(event(app))], { env: production as Partial<Env> });
    expect(run.acked).toEqual(["queue-msg-0"]);
    expect(calls).toHaveLength(0);
    expect(dead.sent[0]!.failure!.reason).toBe("webhook_destination_refused");
  });
});

describe("an event the app no longer wants", () => {
  it("is acked and dropped, with a line saying why, when events are off, the type is not listed, or the app is gone", async () => {
    const off = await createApp();
    const filtered = await createApp({ events: { url: HOOK, secret: webhookSecret(), types: ["user.created"] } });
    const { calls } = interceptFetch();
    const bodies = [await sealed(event(off)), await sealed(event(filtered)), await sealed(event({ appId: "goneapp1" } as TestApp))];
    const { result, lines } = await captureConsole(() => runBatch(bodies));
    expect(result.acked.sort()).toEqual(["queue-msg-0", "queue-msg-1", "queue-msg-2"]);
    expect(calls).toHaveLength(0);
    const outcomes = lines.map((l) => JSON.parse(l)).filter((l) => l.event === "delivery");
    expect(outcomes.map((o) => [o.appId, o.outcome, o.reason]).sort()).toEqual(
      [
        [off.appId, "dropped", "not_subscribed"],
        [filtered.appId, "dropped", "not_subscribed"],
        ["goneapp1", "dropped", "app_not_found"],
      ].sort(),
    );
    for (const o of outcomes) expect(o).toMatchObject({ provider: "event_webhook", type: "user.deleted" });
  });
});

describe("the dead-letter queue's consumer", () => {
  it("names an event moved there after the last retry by id and type", async () => {
    const app = await createApp();
    const e = event(app, { id: "evt_dead_1", type: "signin.failed" });
    const logged = await captureConsole(async () => runBatch([await sealed(e)], { queue: "latchkey-delivery-dlq" }));
    const line = JSON.parse(logged.lines.find((l) => l.includes("dead_letter"))!);
    expect(line).toMatchObject({ event: "dead_letter", id: "evt_dead_1", appId: app.appId, type: "signin.failed", reason: "retries_exhausted" });
    expect(line.channel).toBeUndefined();
  });
});
