// No live code rests on the queue in clear: every delivery-queue body is the message sealed with
// QUEUE_KEY (AES-256-GCM), decoys included, and the consumer opens it. QUEUE_KEY is required, and
// production refuses npm start's development value.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app as worker } from "../../src/app";
import { ConfigError, DEV_QUEUE_KEY, readRuntimeConfig } from "../../src/config/runtime";
import { openFromQueue, sealForQueue } from "../../src/delivery/message";
import { captureConsole, deliveryMessage, runBatch } from "../delivery/helpers";
import { createApp, kiiHeaders, type TestApp } from "../helpers";
import { linkIn, newUser, outbox, pinIn } from "../kii/password-helpers";

/** A DELIVERY binding that keeps what would have gone on the queue. */
function capturingQueue() {
  const bodies: unknown[] = [];
  const queue = {
    async send(body: unknown) {
      bodies.push(structuredClone(body));
    },
    async sendBatch() {
      throw new Error("not used");
    },
  };
  return { bodies, queue };
}

async function resetCapturing(app: TestApp, id: string, json?: unknown) {
  const { bodies, queue } = capturingQueue();
  const ctx = createExecutionContext();
  const headers: Record<string, string> = kiiHeaders(app);
  if (json) headers["Content-Type"] = "application/vnd.kii.ResetPasswordRequest+json";
  const res = await worker.fetch(
    new Request(`http://latchkey.test/api/apps/${app.appId}/users/${id}/password/request-reset`, { method: "POST", headers, body: json ? JSON.stringify(json) : null }),
    { ...env, DELIVERY: queue },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  expect(res.status, await res.clone().text()).toBe(204);
  return bodies;
}

describe("delivery queue bodies", () => {
  it("hold an email reset link only sealed, and the consumer delivers it", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const bodies = await resetCapturing(app, `EMAIL:${user.email}`);
    expect(bodies).toHaveLength(1);
    const text = JSON.stringify(bodies[0]);
    expect(Object.keys(bodies[0] as object).sort()).toEqual(["sealed", "v"]);
    for (const clear of [user.email, "/reset/", app.appId, "reset_link", "password"]) expect(text).not.toContain(clear);

    const run = await runBatch(bodies);
    expect(run.acked).toEqual(["queue-msg-0"]);
    const [delivered] = await outbox(user.email);
    expect(linkIn(delivered!).userId).toBe(user.userID);
  });

  it("hold an SMS PIN only sealed", async () => {
    const app = await createApp();
    const user = await newUser(app);
    const bodies = await resetCapturing(app, user.userID, { notificationMethod: "SMS", smsResetMethod: "PIN" });
    await runBatch(bodies);
    const pin = pinIn((await outbox(user.phone))[0]!);
    expect(JSON.stringify(bodies)).not.toContain(pin);
    expect(JSON.stringify(bodies)).not.toContain(user.phone);
  });

  it("seal enumeration protection's decoys like real messages", async () => {
    const app = await createApp({ enumerationProtection: true });
    const bodies = await resetCapturing(app, "EMAIL:nobody-here@example.com");
    expect(bodies).toHaveLength(1);
    expect(Object.keys(bodies[0] as object).sort()).toEqual(["sealed", "v"]);
    expect(JSON.stringify(bodies[0])).not.toContain("decoy");
  });

  it("use a fresh IV each time: one message sealed twice differs", async () => {
    const message = deliveryMessage();
    const [a, b] = await Promise.all([sealForQueue(env.QUEUE_KEY!, message), sealForQueue(env.QUEUE_KEY!, message)]);
    expect(a.sealed).not.toBe(b.sealed);
    expect(await openFromQueue(env.QUEUE_KEY!, a)).toEqual(message);
  });

  it("that were altered or sealed with another key are dropped, logged without content", async () => {
    const message = deliveryMessage({ to: "victim@example.com" });
    const sealed = await sealForQueue(env.QUEUE_KEY!, message);
    const flipped = { ...sealed, sealed: sealed.sealed.slice(0, 20) + (sealed.sealed[20] === "A" ? "B" : "A") + sealed.sealed.slice(21) };
    const otherKey = await sealForQueue("another-queue-key-0123456789abcdef0123456789", message);
    const { result, lines } = await captureConsole(() => runBatch([flipped, otherKey]));
    expect(result.acked.sort()).toEqual(["queue-msg-0", "queue-msg-1"]);
    expect(lines.filter((l) => l.includes("unreadable_message"))).toHaveLength(2);
    expect(lines.join("\n")).not.toContain("victim@example.com");
    expect(await outbox("victim@example.com")).toEqual([]);
  });

  it("moved to the dead-letter queue are named in its log line, and their text is not", async () => {
    const message = deliveryMessage({ id: "msg_dead", appId: "deadapp1" });
    const sealed = await sealForQueue(env.QUEUE_KEY!, message);
    const logged = await captureConsole(() => runBatch([sealed], { queue: "latchkey-delivery-dlq" }));
    const line = logged.lines.find((l) => l.includes("dead_letter"))!;
    expect(JSON.parse(line)).toMatchObject({ event: "dead_letter", id: "msg_dead", appId: "deadapp1", reason: "retries_exhausted" });
    expect(line).not.toContain(message.text);
    expect(line).not.toContain(message.to);
  });
});

describe("QUEUE_KEY", () => {
  const production = { ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: "k".repeat(40) };

  it("is required in production", () => {
    expect(() => readRuntimeConfig({ ...env, ...production, QUEUE_KEY: undefined })).toThrow(ConfigError);
    expect(() => readRuntimeConfig({ ...env, ...production, QUEUE_KEY: "short" })).toThrow(ConfigError);
  });

  it("may not be npm start's development value in production", () => {
    expect(() => readRuntimeConfig({ ...env, ...production, QUEUE_KEY: DEV_QUEUE_KEY })).toThrow(ConfigError);
    expect(readRuntimeConfig({ ...env, ENVIRONMENT: "development", QUEUE_KEY: DEV_QUEUE_KEY }).queueKey).toBe(DEV_QUEUE_KEY);
  });

  it("accepts a real secret in production", () => {
    expect(readRuntimeConfig({ ...env, ...production, QUEUE_KEY: "r".repeat(44) }).queueKey).toBe("r".repeat(44));
  });
});
