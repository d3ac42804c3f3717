// Worker entry: HTTP, the delivery queue consumer, the daily clean-up, and the Durable Object classes.
import { app } from "./app";
import type { Env } from "./config/env";
import { deliverBatch } from "./delivery/consumer";
import { openDatabase } from "./storage/db";
import { VerificationStore } from "./storage/verification";
import { SessionStore } from "./storage/sessions";
import { TokenStore } from "./storage/tokens";

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
  // this only keeps the tables from growing.
  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    const db = openDatabase(env.DB);
    await Promise.all([new TokenStore(db).purgeExpired(Date.now()), new VerificationStore(db).purgeExpired(Date.now()), new SessionStore(db).purgeExpired(Date.now())]);
  },
} satisfies ExportedHandler<Env, unknown>;
