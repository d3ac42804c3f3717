// Worker entry: HTTP, the delivery queue consumer, the daily clean-up, and the Durable Object classes.
import { app } from "./app";
import type { Env } from "./config/env";
import { deliverBatch } from "./delivery/consumer";
import { shardBindings, ShardStores } from "./storage/shards";

export { RateLimiter } from "./storage/limiter";
export { DevOutbox } from "./storage/outbox";

export default {
  fetch: app.fetch,
  // Both the delivery queue and its dead-letter queue; deliverBatch tells them apart by name and
  // acks or retries each message itself.
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    await deliverBatch(batch, env);
  },
  // The cron trigger in wrangler.toml: expired access tokens and sessions are refused anyway;
  // this only keeps the tables from growing, in every shard. A shard's failure does not stop the others.
  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    const now = Date.now();
    const results = await Promise.allSettled(
      shardBindings(env).flatMap((binding) => {
        const shard = new ShardStores(binding, env.CODES);
        return [shard.tokens.purgeExpired(now), shard.verifications.purgeExpired(now), shard.sessions.purgeExpired(now)];
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  },
} satisfies ExportedHandler<Env, unknown>;
