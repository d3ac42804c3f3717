// What travels through the delivery Queue. The rendered text carries the code or link, so a
// message body is never logged; storage keeps only hashes (docs/storage.md).

import type { TemplateName } from "../i18n/messages";

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
}

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
export type DeadLetter = Pick<DeliveryMessage, "id" | "appId" | "channel" | "template" | "locale" | "createdAt"> & {
  failure?: DeliveryFailureRecord;
};
