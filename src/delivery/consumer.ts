// The delivery Queue's consumer. Delivery is at-least-once: a message may arrive twice, so every
// provider call carries the message id as its idempotency key.
import { type Env, readRuntimeConfig } from "../config";
import type { DeliveryMessage } from "./message";
import { sendToOutbox } from "./providers/outbox";

export async function deliverBatch(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  const config = readRuntimeConfig(env);
  for (const message of batch.messages) {
    const m = message.body;
    try {
      if (!config.development) throw new Error("no delivery provider is configured");
      await sendToOutbox(env, m);
      message.ack();
      console.log(JSON.stringify({ level: "info", event: "delivered", id: m.id, appId: m.appId, channel: m.channel, provider: "outbox", attempt: message.attempts }));
    } catch (e) {
      console.error(JSON.stringify({ level: "error", event: "delivery_failed", id: m.id, appId: m.appId, channel: m.channel, attempt: message.attempts, error: String(e) }));
      message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts) });
    }
  }
}
