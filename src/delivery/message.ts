// What travels through the delivery Queue. The rendered text carries the code or link, so a
// message body is never logged; storage keeps only hashes (docs/storage.md).

export type Channel = "email" | "sms";
export type TemplateName = "reset_link" | "reset_pin" | "reset_code" | "password_changed";

export interface DeliveryMessage {
  /** Unique per message; the idempotency key every provider attempt carries. */
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
 * What the dead-letter queue holds: the message as it was, plus `failure` when the consumer sent
 * it there (a permanent failure). Messages Queues moves there after the last retry have none.
 */
export type DeadLetter = DeliveryMessage & { failure?: DeliveryFailureRecord };
