// What travels through the delivery Queue. The rendered text carries the code or link, so a
// message body is never logged, and it rests on the queue (and on the dead-letter queue, after
// the last retry) only sealed with QUEUE_KEY: AES-256-GCM, lib/seal.ts. Storage keeps only
// hashes (docs/storage.md).

import type { EventType } from "../config/events";
import type { TemplateName } from "../i18n/messages";
import { seal, sealingKey, unseal } from "../lib/seal";

export type { TemplateName };
export type Channel = "email" | "sms";

export interface DeliveryMessage {
  /** Unique per message: the idempotency key where the provider supports one, else a correlation id. */
  id: string;
  appId: string;
  channel: Channel;
  to: string;
  template: TemplateName;
  locale: string;
  subject: string;
  text: string;
  html: string;
  createdAt: string; // RFC 3339
  /** The user the message is for, when there is one: a message for a user deleted since is dropped. */
  userId?: string;
}

/**
 * A security event on its way to the app's event webhook (core/events.ts builds it, docs/events.md
 * lists every type and field). It holds ids and facts, never a password, code, token or hash.
 * `id` is the webhook-id of every attempt, so receivers can drop repeats.
 */
export interface EventMessage {
  kind: "event";
  id: string;
  appId: string;
  type: EventType;
  /** RFC 3339: when the change happened (not when it is delivered). */
  timestamp: string;
  data: Record<string, unknown>;
}

export const isEventMessage = (body: unknown): body is EventMessage => {
  const m = body as Partial<EventMessage> | null;
  return typeof m === "object" && m !== null && m.kind === "event" && typeof m.id === "string" && typeof m.appId === "string" && typeof m.type === "string";
};

/** Why a message was given up on; added when the consumer dead-letters it itself. */
export interface DeliveryFailureRecord {
  reason: string;
  provider: string;
  status?: number;
  attempts: number;
}

/**
 * What the consumer puts on the dead-letter queue when a failure cannot be fixed by retrying:
 * enough to find and explain the message, and nothing of its content. Recipient, subject and
 * text carry the link or PIN, which storage never holds in clear (SPEC §8). Messages that Queues
 * itself moves there after the last retry still hold their full body, for as long as the
 * dead-letter consumer takes to log and ack them.
 */
export type DeadLetter =
  | (Pick<DeliveryMessage, "id" | "appId" | "channel" | "template" | "locale" | "createdAt"> & { failure?: DeliveryFailureRecord })
  /** An event that could not be delivered: named by id and type (its data holds nothing secret, but is not needed). */
  | (Pick<EventMessage, "kind" | "id" | "appId" | "type" | "timestamp"> & { failure?: DeliveryFailureRecord });

/** Enumeration protection's stand-in for a real send: sealed like one, dropped by the consumer. */
export interface Decoy {
  decoy: true;
}

/** The body of every message Latchkey puts on the delivery queue. */
export interface SealedEnvelope {
  v: 1;
  sealed: string;
}

const PURPOSE = "latchkey delivery queue v1";

export async function sealForQueue(queueKey: string, body: DeliveryMessage | EventMessage | Decoy): Promise<SealedEnvelope> {
  return { v: 1, sealed: await seal(await sealingKey(queueKey, PURPOSE), JSON.stringify(body)) };
}

const isEnvelope = (body: unknown): body is SealedEnvelope =>
  typeof body === "object" && body !== null && (body as SealedEnvelope).v === 1 && typeof (body as SealedEnvelope).sealed === "string";

/**
 * A queue body as the consumer reads it: an envelope opened (null when it was altered or sealed
 * with another key), anything else as it is (messages queued before sealing existed).
 */
export async function openFromQueue(queueKey: string, body: unknown): Promise<unknown> {
  if (!isEnvelope(body)) return body;
  const plain = await unseal(await sealingKey(queueKey, PURPOSE), body.sealed);
  if (plain === null) return null;
  try {
    return JSON.parse(plain) as unknown;
  } catch {
    return null;
  }
}
