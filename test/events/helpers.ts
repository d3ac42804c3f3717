// Helpers for the security event tests: requests through the Worker with a DELIVERY queue that
// keeps every body sent (then opened with QUEUE_KEY), every console line, and the consumer run
// over what was kept, with the webhook POSTs intercepted at the fetch boundary.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { expect, vi } from "vitest";
import { app as worker } from "../../src/app";
import { type EventMessage, isEventMessage, openFromQueue } from "../../src/delivery/message";
import { interceptFetch, runBatch, webhookSecret } from "../delivery/helpers";
import { ORIGIN } from "../helpers";

export const HOOK_URL = "https://events.example.com/latchkey";

export interface Harness {
  /** Like test/helpers.ts call(), through the Worker with the capturing queue; waits for ctx.waitUntil work. */
  call(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Every queue body so far, opened. */
  opened(): Promise<unknown[]>;
  /** The events queued so far, in order. */
  events(): Promise<EventMessage[]>;
  /** Delivers the queued email/SMS messages (to the dev outbox) and forgets them; events stay. */
  deliverMessages(): Promise<void>;
  /** Every console line so far. */
  lines: string[];
  /** Every console line that is a security event's, parsed. */
  eventLines(): Record<string, unknown>[];
  /** The raw (sealed) bodies, for scanning. */
  bodies: unknown[];
  /** How the queue was called, one entry per call with the number of bodies. */
  queueCalls: { method: "send" | "sendBatch"; count: number }[];
}

/** Spies on the console until vi.restoreAllMocks(); call it in the test, before the requests. */
export function harness(): Harness {
  const bodies: unknown[] = [];
  const queueCalls: Harness["queueCalls"] = [];
  const queue = {
    async send(body: unknown) {
      queueCalls.push({ method: "send", count: 1 });
      bodies.push(structuredClone(body));
    },
    async sendBatch(messages: Iterable<MessageSendRequest<unknown>>) {
      const list = [...messages];
      queueCalls.push({ method: "sendBatch", count: list.length });
      for (const m of list) bodies.push(structuredClone(m.body));
    },
  };
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  for (const level of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, level).mockImplementation(record);

  const opened = () => Promise.all(bodies.map((b) => openFromQueue(env.QUEUE_KEY!, b)));
  return {
    bodies,
    queueCalls,
    lines,
    async call(path, init = {}) {
      const headers = new Headers(init.headers);
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
      }
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(ORIGIN + path, { ...init, headers, body }), { ...env, DELIVERY: queue }, ctx);
      // Read first: a streamed answer (the bulk import) is written by work the context waits for.
      const buffered = new Response(res.body ? await res.arrayBuffer() : null, res);
      await waitOnExecutionContext(ctx);
      return buffered;
    },
    opened,
    async events() {
      return (await opened()).filter(isEventMessage);
    },
    async deliverMessages() {
      const open = await opened();
      const messages = bodies.filter((_, i) => !isEventMessage(open[i]));
      for (let i = bodies.length - 1; i >= 0; i--) if (!isEventMessage(open[i])) bodies.splice(i, 1);
      if (messages.length) await runBatch(messages);
    },
    eventLines() {
      return lines.flatMap((l) => {
        try {
          const parsed = JSON.parse(l) as Record<string, unknown>;
          return typeof parsed.event === "string" && /^[a-z]+\.[a-z_]+$/.test(parsed.event) ? [parsed] : [];
        } catch {
          return [];
        }
      });
    },
  };
}

export interface Delivered {
  request: Request;
  body: string;
  headers: Record<string, string>;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

/**
 * Runs the consumer over the queued events with the webhook answered 204 and returns each POST,
 * its signature checked with the standardwebhooks package against `secret`.
 */
export async function deliverEvents(h: Harness, secret: string): Promise<Delivered[]> {
  const open = await h.opened();
  const events = h.bodies.filter((_, i) => isEventMessage(open[i]));
  const { calls } = interceptFetch(() => new Response(null, { status: 204 }));
  const run = await runBatch(events);
  expect(run.acked).toHaveLength(events.length);
  const delivered: Delivered[] = [];
  for (const { request } of calls) {
    const body = await request.text();
    const headers = Object.fromEntries(request.headers);
    const payload = new Webhook(secret).verify(body, headers) as Delivered["payload"];
    delivered.push({ request, body, headers, payload });
  }
  return delivered;
}

export const eventSettings = (types: string[] | null = null) => ({ url: HOOK_URL, secret: webhookSecret(), types });
