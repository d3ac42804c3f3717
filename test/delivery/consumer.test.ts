// The queue consumer: per-message ack and retry, backoff, Retry-After, dead letters, the
// provider each message resolves to, and what its log lines leave out.
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffSeconds } from "../../src/delivery/consumer";
import type { DeliveryMessage } from "../../src/delivery/message";
import { createApp, registerKiiUser, type TestApp } from "../helpers";
import { captureConsole, deliveryMessage, fakeDeadLetters, interceptFetch, runBatch, webhookSecret } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const HOOK = "https://hooks.example.com/latchkey";

async function webhookApp(secret = webhookSecret()): Promise<{ app: TestApp; secret: string }> {
  const app = await createApp({ delivery: { email: { provider: "webhook", url: HOOK, secret }, sms: { provider: "webhook", url: HOOK, secret } } });
  return { app, secret };
}

const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe("retries", () => {
  it("delivers exactly once, with one id, when the provider is down for the first attempts", async () => {
    const { app, secret } = await webhookApp();
    const accepted: string[] = [];
    const seenIds: string[] = [];
    const { calls } = interceptFetch((request, index) => {
      seenIds.push(request.headers.get("webhook-id")!);
      if (index < 3) return new Response("down", { status: 503 });
      accepted.push(request.headers.get("webhook-id")!);
      return new Response(null, { status: 204 });
    });
    const message = deliveryMessage({ appId: app.appId });
    const outcomes: string[] = [];
    // Queues redelivers a retried message with attempts + 1; stop once it is acked.
    for (let attempt = 1; attempt <= 6; attempt++) {
      const run = await runBatch([message], { attempts: attempt });
      if (run.acked.includes("queue-msg-0")) {
        outcomes.push("acked");
        break;
      }
      expect(run.retried).toEqual(["queue-msg-0"]);
      outcomes.push("retried");
    }
    expect(outcomes).toEqual(["retried", "retried", "retried", "acked"]);
    expect(calls).toHaveLength(4);
    expect(new Set(seenIds)).toEqual(new Set([message.id]));
    expect(accepted).toEqual([message.id]);
    // Every attempt is signed afresh and verifies.
    for (const { request } of calls) new Webhook(secret).verify(await request.text(), Object.fromEntries(request.headers));
  });

  it("retries network errors and timeouts", async () => {
    const { app } = await webhookApp();
    interceptFetch((_, index) => {
      throw index === 0 ? new TypeError("Network connection lost.") : new DOMException("timed out", "TimeoutError");
    });
    const first = await runBatch([deliveryMessage({ appId: app.appId })]);
    const second = await runBatch([deliveryMessage({ appId: app.appId })]);
    expect([first.retried, second.retried]).toEqual([["queue-msg-0"], ["queue-msg-0"]]);
    expect([first.acked, second.acked]).toEqual([[], []]);
  });

  it("honours Retry-After of a 429 in delaySeconds", async () => {
    const { app } = await webhookApp();
    interceptFetch(() => new Response("slow down", { status: 429, headers: { "Retry-After": "137" } }));
    const run = await runBatch([deliveryMessage({ appId: app.appId })]);
    expect(run.retried).toEqual(["queue-msg-0"]);
    expect(run.delays["queue-msg-0"]).toBe(137);
  });

  it("backs off exponentially with jitter when the provider gives no Retry-After", async () => {
    const { app } = await webhookApp();
    interceptFetch(() => new Response("oops", { status: 500 }));
    const delays: number[] = [];
    for (const attempts of [1, 2, 3, 4, 5]) {
      const run = await runBatch([deliveryMessage({ appId: app.appId })], { attempts });
      delays.push(run.delays["queue-msg-0"]!);
    }
    delays.forEach((d, i) => {
      const ceiling = 10 * 2 ** i;
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    });
  });

  it("spreads the backoff between half and all of the ceiling, capped at 15 minutes", () => {
    expect([backoffSeconds(1, () => 0), backoffSeconds(1, () => 1)]).toEqual([5, 10]);
    expect([backoffSeconds(4, () => 0), backoffSeconds(4, () => 1)]).toEqual([40, 80]);
    expect(backoffSeconds(30, () => 1)).toBe(900);
  });
});

describe("dead letters", () => {
  it("sends a provider 400 straight to the dead-letter queue and acks it", async () => {
    const { app } = await webhookApp();
    interceptFetch(() => new Response("bad request", { status: 400 }));
    const deadLetters = fakeDeadLetters();
    const message = deliveryMessage({ appId: app.appId });
    const run = await runBatch([message], { env: { DEAD_LETTERS: deadLetters.queue } });
    expect(run).toMatchObject({ acked: ["queue-msg-0"], retried: [] });
    const { id, appId, channel, template, locale, createdAt } = message;
    // Metadata only: the recipient, subject and text (which hold the link or PIN) stay out.
    expect(deadLetters.sent).toEqual([{ id, appId, channel, template, locale, createdAt, failure: { reason: "http_400", provider: "webhook", status: 400, attempts: 1 } }]);
  });

  it("retries instead of losing the message when the dead-letter queue cannot take it", async () => {
    const { app } = await webhookApp();
    interceptFetch(() => new Response("bad request", { status: 400 }));
    const run = await runBatch([deliveryMessage({ appId: app.appId })], { env: { DEAD_LETTERS: fakeDeadLetters(new Error("queue unavailable")).queue } });
    expect(run).toMatchObject({ acked: [], retried: ["queue-msg-0"] });
  });

  it("drops, without calling the provider, a message for a user deleted since it was queued (issue 10)", async () => {
    const { app } = await webhookApp();
    const live = await registerKiiUser(app, { loginName: "still-here", password: "long enough pw" });
    const { calls } = interceptFetch(() => new Response(null, { status: 204 }));
    const { result: run, lines: logged } = await captureConsole(() =>
      runBatch([deliveryMessage({ appId: app.appId, userId: "deleted-user" }), deliveryMessage({ appId: app.appId, userId: live.userID })]),
    );
    expect(run.acked).toEqual(["queue-msg-0", "queue-msg-1"]);
    expect(run.retried).toEqual([]);
    expect(calls).toHaveLength(1);
    const lines = parse(logged).filter((l) => l.event === "delivery");
    expect(lines.map((l) => [l.outcome, l.reason ?? null])).toEqual(expect.arrayContaining([["dropped", "user_deleted"], ["delivered", null]]));
  });

  it("checks a whole batch's users at once, per app, past one query's 99 ids, and drops only the deleted ones", async () => {
    const [{ app: first }, { app: second }] = await Promise.all([webhookApp(), webhookApp()]);
    const [a, b] = await Promise.all([
      registerKiiUser(first, { loginName: "batch-a", password: "long enough pw" }),
      registerKiiUser(second, { loginName: "batch-b", password: "long enough pw" }),
    ]);
    const { calls } = interceptFetch(() => new Response(null, { status: 204 }));
    // 120 messages for users who never existed (more ids than one query binds), one for a live user
    // of each app, and one for the first app's user sent as if from the second app (ids are per app).
    const gone = Array.from({ length: 120 }, (_, i) => deliveryMessage({ appId: i % 2 ? first.appId : second.appId, userId: `gone-${i}` }));
    const kept = [deliveryMessage({ appId: first.appId, userId: a.userID }), deliveryMessage({ appId: second.appId, userId: b.userID })];
    const elsewhere = deliveryMessage({ appId: second.appId, userId: a.userID });
    const { result: run, lines: logged } = await captureConsole(() => runBatch([...gone.slice(0, 60), kept[0], elsewhere, ...gone.slice(60), kept[1]]));
    expect(run.acked).toHaveLength(123);
    expect(run.retried).toEqual([]);
    const delivered = await Promise.all(calls.map(async ({ request }) => (JSON.parse(await request.text()) as { id: string }).id));
    expect(delivered.sort()).toEqual(kept.map((m) => m.id).sort());
    const lines = parse(logged).filter((l) => l.event === "delivery");
    expect(lines.filter((l) => l.reason === "user_deleted")).toHaveLength(121);
  });

  it("dead-letters a message whose app no longer exists", async () => {
    const deadLetters = fakeDeadLetters();
    const run = await runBatch([deliveryMessage({ appId: "deletedapp" })], { env: { DEAD_LETTERS: deadLetters.queue } });
    expect(run.acked).toEqual(["queue-msg-0"]);
    expect(deadLetters.sent[0]!.failure?.reason).toBe("app_not_found");
  });

  it("logs each dead-letter queue message as one line without its content, and acks it", async () => {
    const message = deliveryMessage({ appId: "someapp" });
    const { result, lines } = await captureConsole(() =>
      runBatch([{ ...message, failure: { reason: "http_400", provider: "resend", status: 400, attempts: 1 } }, deliveryMessage({ appId: "otherapp" })], {
        queue: "latchkey-delivery-dlq",
      }),
    );
    expect(result.acked).toEqual(["queue-msg-0", "queue-msg-1"]);
    expect(parse(lines)).toEqual([
      expect.objectContaining({ event: "dead_letter", id: message.id, appId: "someapp", reason: "http_400", provider: "resend", status: 400 }),
      expect.objectContaining({ event: "dead_letter", appId: "otherapp", reason: "retries_exhausted" }),
    ]);
    expect(lines.join("\n")).not.toContain("482913");
  });
});

describe("a batch", () => {
  it("loses nothing when one message in the middle fails: the others are acked, the failed one retried", async () => {
    const { app } = await webhookApp();
    const messages = [1, 2, 3].map(() => deliveryMessage({ appId: app.appId }));
    const { calls } = interceptFetch((request) =>
      request.headers.get("webhook-id") === messages[1]!.id ? new Response("down", { status: 502 }) : new Response(null, { status: 200 }),
    );
    const run = await runBatch(messages);
    expect(run.acked.sort()).toEqual(["queue-msg-0", "queue-msg-2"]);
    expect(run.retried).toEqual(["queue-msg-1"]);
    expect(calls).toHaveLength(3);
  });

  it("keeps going past a message that throws where nothing was expected to, and past a malformed one", async () => {
    const { app } = await webhookApp();
    const messages: unknown[] = [deliveryMessage({ appId: app.appId }), "not a delivery message", deliveryMessage({ appId: app.appId }), deliveryMessage({ appId: app.appId })];
    interceptFetch((request) => {
      if (request.headers.get("webhook-id") === (messages[2] as DeliveryMessage).id) throw new RangeError("unexpected");
      return new Response(null, { status: 200 });
    });
    const run = await runBatch(messages);
    expect(run.acked.sort()).toEqual(["queue-msg-0", "queue-msg-1", "queue-msg-3"]);
    expect(run.retried).toEqual(["queue-msg-2"]);
  });
});

describe("choosing the provider", () => {
  const production = { ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: undefined };

  it("uses the development outbox when nothing is configured in development", async () => {
    const app = await createApp();
    const fetchSpy = interceptFetch();
    const message = deliveryMessage({ appId: app.appId, to: `outbox-${Date.now()}@example.com` });
    const { lines } = await captureConsole(() => runBatch([message]));
    expect(fetchSpy.calls).toHaveLength(0);
    expect(parse(lines)).toEqual([expect.objectContaining({ outcome: "delivered", provider: "outbox", id: message.id })]);
  });

  it("dead-letters with a clear reason in production when no provider is configured", async () => {
    const app = await createApp();
    const deadLetters = fakeDeadLetters();
    const { result, lines } = await captureConsole(() =>
      runBatch([deliveryMessage({ appId: app.appId })], { env: { ...production, DEAD_LETTERS: deadLetters.queue } }),
    );
    expect(result.acked).toEqual(["queue-msg-0"]);
    expect(deadLetters.sent[0]!.failure?.reason).toBe("no_provider:set settings.delivery.email or DELIVERY_EMAIL");
    expect(parse(lines)).toEqual([expect.objectContaining({ outcome: "dead_letter", provider: "none", reason: deadLetters.sent[0]!.failure?.reason })]);
  });

  it("falls back to the environment's DELIVERY_EMAIL for an app with no provider", async () => {
    const app = await createApp();
    const { calls } = interceptFetch(() => Response.json({ id: "re-1" }));
    const DELIVERY_EMAIL = JSON.stringify({ provider: "resend", apiKey: "re_env_key", from: "no-reply@example.com" });
    const run = await runBatch([deliveryMessage({ appId: app.appId })], { env: { ...production, DELIVERY_EMAIL } });
    expect(run.acked).toEqual(["queue-msg-0"]);
    expect(calls[0]!.request.url).toBe("https://api.resend.com/emails");
    expect(calls[0]!.request.headers.get("Authorization")).toBe("Bearer re_env_key");
  });

  it("prefers the app's own settings to the environment's default", async () => {
    const { app } = await webhookApp();
    const { calls } = interceptFetch(() => new Response(null, { status: 200 }));
    const DELIVERY_EMAIL = JSON.stringify({ provider: "resend", apiKey: "re_env_key", from: "no-reply@example.com" });
    await runBatch([deliveryMessage({ appId: app.appId })], { env: { ...production, DELIVERY_EMAIL } });
    expect(calls.map((c) => c.request.url)).toEqual([HOOK]);
  });

  it("dead-letters, naming the variable and field but not the value, when DELIVERY_SMS is invalid", async () => {
    const app = await createApp();
    const deadLetters = fakeDeadLetters();
    const DELIVERY_SMS = JSON.stringify({ provider: "twilio", accountSid: "nope", authToken: "super-secret-token", from: "+15005550006" });
    const { lines } = await captureConsole(() =>
      runBatch([deliveryMessage({ appId: app.appId, channel: "sms", to: "+819012345678" })], { env: { ...production, DELIVERY_SMS, DEAD_LETTERS: deadLetters.queue } }),
    );
    expect(deadLetters.sent[0]!.failure?.reason).toBe("invalid_environment_default:DELIVERY_SMS.accountSid");
    expect(lines.join("\n")).not.toContain("super-secret-token");
  });

  it("uses the sms settings for an SMS and the email settings for an email", async () => {
    const twilio = { provider: "twilio", accountSid: `AC${"ab".repeat(16)}`, authToken: "tw-token", from: "+15005550006" };
    const app = await createApp({ delivery: { email: { provider: "webhook", url: HOOK, secret: webhookSecret() }, sms: twilio } });
    const { calls } = interceptFetch(() => Response.json({ sid: "SM1" }, { status: 201 }));
    await runBatch([deliveryMessage({ appId: app.appId, channel: "sms", to: "+819012345678" }), deliveryMessage({ appId: app.appId })]);
    expect(calls.map((c) => c.request.url).sort()).toEqual([HOOK, `https://api.twilio.com/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`].sort());
  });
});

describe("log lines", () => {
  it("are one JSON line per outcome and never carry the code, link, subject, address or secrets", async () => {
    const secret = webhookSecret();
    const { app } = await webhookApp(secret);
    const link = "https://latchkey.test/reset/app/user/S3cr3tL1nkC0de";
    const messages = [
      deliveryMessage({ appId: app.appId, template: "reset_link", text: `Open ${link}`, html: `<a href="${link}">reset</a>` }),
      deliveryMessage({ appId: app.appId }),
      deliveryMessage({ appId: app.appId }),
    ];
    interceptFetch((_, index) => (index === 0 ? new Response(null, { status: 200 }) : index === 1 ? new Response("x", { status: 503 }) : new Response("no", { status: 400 })));
    const { lines } = await captureConsole(() => runBatch(messages, { env: { DEAD_LETTERS: fakeDeadLetters().queue } }));
    const parsed = parse(lines);
    expect(parsed.map((l) => l.outcome).sort()).toEqual(["dead_letter", "delivered", "retry"]);
    for (const line of parsed) {
      expect(Object.keys(line).sort()).toEqual(expect.arrayContaining(["appId", "attempt", "channel", "id", "outcome", "provider"]));
    }
    const all = lines.join("\n");
    for (const secretPart of ["S3cr3tL1nkC0de", "482913", "alice@example.com", "Your Demo reset code", secret.slice(6)]) expect(all).not.toContain(secretPart);
  });
});

describe("enumeration-protection decoys", () => {
  it("acks a decoy message without calling any provider or writing a log line", async () => {
    const { app } = await webhookApp();
    const { calls } = interceptFetch();
    const { result: run, lines } = await captureConsole(() => runBatch([{ decoy: true }, deliveryMessage({ appId: app.appId })]));
    expect(run.acked).toEqual(["queue-msg-0", "queue-msg-1"]);
    expect(calls).toHaveLength(1);
    expect(parse(lines).map((l) => l.id)).toEqual([expect.stringMatching(/^msg_/)]);
  });
});
