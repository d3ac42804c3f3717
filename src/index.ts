// Worker entry: HTTP, the delivery queue consumer, and the Durable Object classes.
import { app } from "./app";
import type { Env } from "./config";
import { deliverBatch } from "./delivery/consumer";

export { RateLimiter } from "./storage/limiter";
export { DevOutbox } from "./web/outbox-store";

export default {
  fetch: app.fetch,
  // Both the delivery queue and its dead-letter queue; deliverBatch tells them apart by name and
  // acks or retries each message itself.
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    await deliverBatch(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
