// Worker entry: HTTP, the delivery queue consumer, and the Durable Object classes.
import { app } from "./app";
import type { Env } from "./config";
import { deliverBatch } from "./delivery/consumer";
import type { DeliveryMessage } from "./delivery/message";

export { RateLimiter } from "./storage/limiter";
export { DevOutbox } from "./web/outbox-store";

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
    await deliverBatch(batch, env);
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
