// Helpers for the delivery tests: messages, a fetch interceptor that records what providers send,
// and a way to run the queue consumer over a hand-made batch and read what it acked or retried.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type MockInstance, vi } from "vitest";
import type { Env } from "../../src/config/env";
import { deliverBatch } from "../../src/delivery/consumer";
import type { DeadLetter, DeliveryMessage } from "../../src/delivery/message";
import type { SendContext } from "../../src/delivery/providers/http";

export const testEnv = env as unknown as Env;

let counter = 0;
export function deliveryMessage(fields: Partial<DeliveryMessage> = {}): DeliveryMessage {
  counter++;
  return {
    id: `msg_test_${Date.now().toString(36)}_${counter}`,
    appId: "noapp",
    channel: "email",
    to: "alice@example.com",
    template: "reset_pin",
    locale: "en",
    subject: "Your Demo reset code",
    text: "Your Demo password reset code is 482913. It expires in 10 minutes.",
    html: "<p>Your Demo password reset code is <strong>482913</strong>.</p>",
    createdAt: "2026-11-23T10:00:00.000Z",
    ...fields,
  };
}

export const NOW = Date.parse("2026-11-23T10:00:05.000Z");

export const sendContext = (fields: Partial<SendContext> = {}): SendContext => ({
  env: testEnv,
  development: false,
  now: () => NOW,
  timeoutMs: 5_000,
  ...fields,
});

/** What the code under test passed to fetch, as a Request, plus the signal it used. */
export interface Captured {
  request: Request;
  signal: AbortSignal | null | undefined;
  redirect: RequestInit["redirect"];
}

/**
 * Intercepts global fetch: `answer` decides each response (or throws, as a network error would);
 * every call is recorded. Restored by vi.restoreAllMocks().
 */
export function interceptFetch(answer: (request: Request, index: number) => Response | Promise<Response> = () => new Response("{}", { status: 200 })) {
  const calls: Captured[] = [];
  const spy: MockInstance<typeof fetch> = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    calls.push({ request: request.clone(), signal: init?.signal, redirect: init?.redirect });
    return answer(request, calls.length - 1);
  });
  return { calls, spy };
}

/** A stand-in for the DEAD_LETTERS producer binding that keeps what was sent. */
export function fakeDeadLetters(failWith?: Error) {
  const sent: DeadLetter[] = [];
  const queue = {
    async send(body: DeadLetter) {
      if (failWith) throw failWith;
      sent.push(structuredClone(body));
    },
    async sendBatch() {
      throw new Error("not used");
    },
  } as unknown as Queue<DeadLetter>;
  return { sent, queue };
}

export interface BatchRun {
  acked: string[];
  retried: string[];
  /** delaySeconds passed to retry(), per queue message id (the test batch does not record it). */
  delays: Record<string, number | undefined>;
}

/** Runs deliverBatch over one hand-made batch, as Queues would deliver it, and reports per message. */
export async function runBatch(
  bodies: unknown[],
  options: { attempts?: number; queue?: string; env?: Partial<Env> & Record<string, unknown> } = {},
): Promise<BatchRun> {
  const batch = createMessageBatch<unknown>(
    options.queue ?? "latchkey-delivery",
    bodies.map((body, i) => ({ id: `queue-msg-${i}`, timestamp: new Date(NOW), attempts: options.attempts ?? 1, body })),
  );
  const retrySpies = batch.messages.map((m) => vi.spyOn(m, "retry"));
  const ctx = createExecutionContext();
  await deliverBatch(batch, { ...testEnv, ...options.env } as Env);
  const result = await getQueueResult(batch, ctx);
  const delays: Record<string, number | undefined> = {};
  batch.messages.forEach((m, i) => {
    const call = retrySpies[i]!.mock.calls[0];
    if (call) delays[m.id] = call[0]?.delaySeconds;
  });
  return { acked: result.explicitAcks, retried: result.retryMessages.map((r) => r.msgId), delays };
}

/** Captures every console line written while `run` runs. */
export async function captureConsole<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) => vi.spyOn(console, level).mockImplementation(record));
  try {
    return { result: await run(), lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** A Standard Webhooks secret: whsec_ + base64 of 32 random bytes. */
export function webhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}
