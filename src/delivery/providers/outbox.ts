// Development provider: the message lands in the dev outbox (GET /dev/outbox) instead of a mailbox.
import type { Env } from "../../config/env";
import { outboxStub } from "../../storage/outbox";
import type { DeliveryMessage } from "../message";

export async function sendToOutbox(env: Env, message: DeliveryMessage): Promise<void> {
  const { id, appId, channel, to, subject, text, html, template, createdAt } = message;
  await outboxStub(env.OUTBOX).put({ id, appId, channel, to, subject, text, html, template, createdAt });
}
