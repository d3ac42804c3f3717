// The Worker's bindings and variables, as wrangler.toml declares them. This file only names types:
// it is the one file every floor may import (scripts/check-layers.mjs), and it may name the types
// of the bindings' classes wherever they live, as wrangler's generated declarations would.
import type { DeadLetter, SealedEnvelope } from "../delivery/message";
import type { RateLimiter } from "../storage/limiter";
import type { DevOutbox } from "../storage/outbox";

export interface Env {
  /** The control database: apps, their settings and which shard holds each app's users. */
  DB: D1Database;
  /** User-data shards USERS_0 … USERS_n (storage/shards.ts); without any, DB serves as the one shard. */
  [shard: `USERS_${number}`]: D1Database | undefined;
  CODES: KVNamespace;
  LIMITER: DurableObjectNamespace<RateLimiter>;
  OUTBOX: DurableObjectNamespace<DevOutbox>;
  /** Every body is a DeliveryMessage (or a decoy) sealed with QUEUE_KEY (delivery/message.ts). */
  DELIVERY: Queue<SealedEnvelope>;
  /** Producer for the dead-letter queue: permanent delivery failures go there at once. */
  DEAD_LETTERS?: Queue<DeadLetter>;
  /** Default email / SMS provider for apps that set none: JSON shaped like settings.delivery.email / .sms (a secret). */
  DELIVERY_EMAIL?: string;
  DELIVERY_SMS?: string;
  ENVIRONMENT?: string;
  ADMIN_TOKEN?: string;
  PASSWORD_PEPPER?: string;
  /** Secret that keys AES-GCM encryption of delivery-queue messages (config/runtime.ts). */
  QUEUE_KEY?: string;
  /** Public origin for links in messages, e.g. https://auth.example.com; required (config/runtime.ts). */
  PUBLIC_URL?: string;
  /** D1 calls one bulk import request may make before it pauses (config/runtime.ts; default 900, ~40 on Workers Free). */
  IMPORT_D1_QUERY_BUDGET?: string | number;
}
