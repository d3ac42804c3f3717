// Worker entry: HTTP, the delivery queue consumer, the daily clean-up, and the Durable Object classes.
import { app } from "./app";
import type { Env } from "./config/env";
import { deliverBatch } from "./delivery/consumer";
import { shardBindings, ShardStores } from "./storage/shards";

/** Rows one clean-up statement deletes at most. */
const PURGE_CHUNK = 1000;

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
  // this only keeps the tables from growing, in every shard, in chunks. A shard's failure does
  // not stop the others; what a day's query budget leaves is taken the next day.
  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    const now = Date.now();
    const bindings = shardBindings(env);
    // One invocation may send about 1,000 queries (docs/scaling.md): each shard and table gets
    // an equal share of 900, at least one chunk.
    const chunksEach = Math.max(1, Math.floor(900 / (bindings.length * 3)));
    const drain = async (purge: (limit: number) => Promise<number>) => {
      for (let i = 0; i < chunksEach; i++) if ((await purge(PURGE_CHUNK)) < PURGE_CHUNK) return;
    };
    const results = await Promise.allSettled(
      bindings.map(async (binding) => {
        const shard = new ShardStores(binding, env.CODES);
        await drain((n) => shard.tokens.purgeExpired(now, n));
        await drain((n) => shard.verifications.purgeExpired(now, n));
        await drain((n) => shard.sessions.purgeExpired(now, n));
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  },
} satisfies ExportedHandler<Env, unknown>;
