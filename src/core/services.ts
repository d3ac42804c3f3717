// Everything a core operation needs, built once per request from the Worker's bindings, before
// the request's app is known. The control plane (apps) is here directly; the user-scoped stores
// are per shard, reached with `svc.shard(app)` once the app's row has named its shard.
import { type Env } from "../config/env";
import { readRuntimeConfig, type RuntimeConfig } from "../config/runtime";
import { Notifier } from "../delivery/notifier";
import { type App, AppStore } from "../storage/apps";
import { openDatabase } from "../storage/db";
import { Limits } from "../storage/limiter";
import { type ShardBinding, shardBindings, ShardStores } from "../storage/shards";
import { CoreError } from "./errors";
import type { EventOrigin } from "./events";
import { PasswordHasher } from "./passwords";

export type { ShardStores };

export interface Services {
  env: Env;
  config: RuntimeConfig;
  /** Apps, from the control database: requests read through a D1 session (a replica may answer). */
  apps: AppStore;
  /** The shards this Worker is bound to, USERS_0 first. */
  shards: readonly ShardBinding[];
  /** The stores of the shard that holds the app's users, on that shard's primary. */
  shard(app: Pick<App, "id" | "shard">): ShardStores;
  /** The stores of one shard by its index (placement, moves, the daily clean-up). */
  shardAt(index: number): ShardStores;
  limits: Limits;
  notifier: Notifier;
  hasher: PasswordHasher;
  now: () => number;
  /** Work to finish after the response (ctx.waitUntil). */
  defer: (work: Promise<unknown>) => void;
  /** Where the request came from, for security events (core/events.ts); the entry fills it in. */
  origin: EventOrigin;
}

/**
 * A D1 session whose first query may go to any replica ("first-unconstrained"); the later ones
 * see at least what it saw. Drizzle needs only prepare() and batch(), which a session has.
 */
const readReplica = (d1: D1Database): D1Database =>
  typeof d1.withSession === "function" ? (d1.withSession("first-unconstrained") as unknown as D1Database) : d1;

export function createServices(env: Env, defer: (work: Promise<unknown>) => void = () => {}, origin: EventOrigin = { via: null, ip: null }): Services {
  const config = readRuntimeConfig(env);
  // Control-plane reads (which app, its settings, its shard) may come from a nearby replica: the
  // Sessions API is the only way D1 serves reads from one. Writes, and the operator's reads, go to
  // the primary. Nothing that decides a security question is read here.
  const apps = new AppStore(openDatabase(env.DB), openDatabase(readReplica(env.DB)));
  const shards = shardBindings(env);
  const opened = new Map<number, ShardStores>();
  const shardAt = (index: number): ShardStores => {
    let stores = opened.get(index);
    if (!stores) {
      const binding = shards[index];
      if (!binding) throw new CoreError("unavailable", `Shard USERS_${index} is not bound to this Worker`, { retryAfterSeconds: 60, shard: `USERS_${index}` });
      opened.set(index, (stores = new ShardStores(binding, env.CODES)));
    }
    return stores;
  };
  return {
    env,
    config,
    apps,
    shards,
    shard: (app) => shardAt(app.shard),
    shardAt,
    limits: new Limits(env.LIMITER),
    notifier: new Notifier(env.DELIVERY, config.queueKey),
    hasher: new PasswordHasher({ pepper: config.pepper }),
    now: () => Date.now(),
    defer,
    origin,
  };
}
