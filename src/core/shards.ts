// Shards as the product sees them: which shard a new app goes to, whether a shard may serve
// (its schema is not behind the code), and moving an app to another shard without losing a
// write. The SQL lives in storage/shards.ts; docs/storage.md ("Shards and moves") is the prose.
import { logEvent } from "../lib/log";
import { forgetApp } from "../storage/app-cache";
import type { App } from "../storage/apps";
import { isFenceError, missingMigrations, shardData, USER_TABLES } from "../storage/shards";
import { CoreError } from "./errors";
import type { Services } from "./services";

/** How long a client should wait before retrying a write refused during a move. */
export const MOVE_RETRY_AFTER_SECONDS = 5;
/** A shard found behind is asked again after this long, so that migrating it is enough to end the 503s. */
const BEHIND_RECHECK_MS = 10_000;

/**
 * Schema checks, per binding name, kept for the isolate's life once a database is up to date.
 * Only answers are kept, never a check under way (storage/app-cache.ts says why).
 */
const schemaChecks = new Map<string, { missing: string[]; at: number }>();

/** Forgets every schema check (tests that put a shard behind and back). */
export function forgetSchemaChecks(): void {
  schemaChecks.clear();
}

/** The migrations a database lacks, checked at most once per isolate when it has them all. */
export async function schemaGaps(name: string, d1: D1Database, now = Date.now()): Promise<string[]> {
  const known = schemaChecks.get(name);
  if (known && (known.missing.length === 0 || now - known.at < BEHIND_RECHECK_MS)) return known.missing;
  const missing = await missingMigrations(d1);
  schemaChecks.set(name, { missing, at: now });
  return missing;
}

export const behindMessage = (name: string, missing: readonly string[]) =>
  `${name}'s schema is behind this Worker (missing ${missing.join(", ")}): run npm run migrate -- --remote`;

function behind(name: string, missing: readonly string[]): CoreError {
  return new CoreError("unavailable", `This app's data is not available right now (${behindMessage(name, missing)})`, { retryAfterSeconds: 60, shard: name });
}

/** Refuses to serve from a control database whose schema is behind the code. */
export async function ensureControlReady(svc: Services): Promise<void> {
  const missing = await schemaGaps("DB", svc.env.DB);
  if (missing.length > 0) throw behind("DB", missing);
}

/** Refuses to serve an app whose shard is unbound or behind the code (a 503 in each dialect). */
export async function ensureShardReady(svc: Services, app: Pick<App, "shard">): Promise<void> {
  const binding = svc.shards[app.shard];
  if (!binding) throw new CoreError("unavailable", `This app's data is not available right now (shard USERS_${app.shard} is not bound to this Worker)`, { retryAfterSeconds: 60, shard: `USERS_${app.shard}` });
  const missing = await schemaGaps(binding.name, binding.d1);
  if (missing.length > 0) throw behind(binding.name, missing);
}

/**
 * The core's reading of an error from below: a CoreError as it is, a write refused by a move's
 * fence as `unavailable` with a short Retry-After, anything else null (a 500 for the face).
 */
export function coreErrorOf(e: unknown): CoreError | null {
  if (e instanceof CoreError) return e;
  if (isFenceError(e)) {
    // This isolate may have cached the app's routing from before a move: read it afresh next time.
    forgetApp();
    return appMoving();
  }
  return null;
}

/** The answer while an app's rows are being moved: temporary, retry in a few seconds. */
export const appMoving = () =>
  new CoreError("unavailable", "This app is being moved; writes are paused for a few seconds, retry shortly", { retryAfterSeconds: MOVE_RETRY_AFTER_SECONDS });

/**
 * Where a new app goes: the shard the operator names, else the shard holding the fewest apps
 * (ties: the lowest index), among shards whose schema is up to date. Apps, not users, are
 * counted: one grouped read of the control database, where counting users would read every user
 * row of every shard. A tenant that grows large is moved by hand (moveApp).
 */
export async function placeApp(svc: Services, requested?: number): Promise<number> {
  if (requested !== undefined) {
    if (!svc.shards[requested]) {
      throw new CoreError("invalid_input", `No shard ${requested}: this Worker has ${svc.shards.length} (0 to ${svc.shards.length - 1})`, { field: "shard" });
    }
    await ensureShardReady(svc, { shard: requested });
    return requested;
  }
  const [counts, gaps] = await Promise.all([svc.apps.appsPerShard(), Promise.all(svc.shards.map((s) => schemaGaps(s.name, s.d1).catch(() => ["unreachable"])))]);
  let best: number | null = null;
  for (const shard of svc.shards) {
    if (gaps[shard.index]!.length > 0) continue;
    if (best === null || (counts.get(shard.index) ?? 0) < (counts.get(best) ?? 0)) best = shard.index;
  }
  if (best === null) throw behind(svc.shards[0]!.name, gaps[0]!);
  return best;
}

/** Prepares a shard for a new app: clears what a deleted app of the same id left, then anchors it. */
export async function anchorApp(svc: Services, app: Pick<App, "id" | "shard">): Promise<void> {
  const data = shardData(svc.shardAt(app.shard).shard.d1);
  if (await data.fenceOf(app.id)) await data.purge(app.id, null, svc.now());
  await data.ensureAnchor(app.id, svc.now());
}

/** Deletes everything of an app in its shard (after its control row is gone), leaving a fence. */
export async function purgeApp(svc: Services, app: Pick<App, "id" | "shard">): Promise<void> {
  const binding = svc.shards[app.shard];
  if (!binding) return;
  const data = shardData(binding.d1);
  await data.fence(app.id, "moved", svc.now());
  await data.purge(app.id, "moved", svc.now());
}

export interface MoveResult {
  appId: string;
  from: number;
  to: number;
  routingVersion: number;
  /** Rows copied, per table. */
  copied: Record<string, number>;
  /** Users whose internalUserID was taken in the target by another app's user, and got a new one. */
  renumbered: number;
  /** Rows deleted from the source after the switch. */
  purged: number;
}

export interface MoveOptions {
  /** Wait this long between the switch and deleting the source's rows (replicas catch up meanwhile). */
  settleMs?: number;
}

/**
 * Moves an app's users to another shard:
 * 1. the control row records the move (`moving_to`): a second move of the app is refused;
 * 2. the source shard fences the app (`frozen`): from that commit on, triggers refuse every write
 *    to its rows there, so what is copied next cannot change; reads go on; writes answer 503;
 * 3. the target is cleared of anything an earlier attempt left, anchored, and the rows are copied
 *    page by page (idempotent inserts); counts must then agree table by table;
 * 4. the source fence becomes `moved` and the control row switches: shard = target, routing
 *    version + 1, moving_to cleared. A request that read the old routing from a replica finds the
 *    `moved` fence when it resolves a token and asks the primary again; its writes are refused;
 * 5. after `settleMs`, the source's rows are deleted; the fence stays, refusing stale writes.
 * Reset codes lose nothing: their hash lives in KV (not per shard) and their D1 row is copied.
 * `target` = the app's current shard cancels an unfinished move; the move it names resumes one.
 */
export async function moveApp(svc: Services, appId: string, target: number, options: MoveOptions = {}): Promise<MoveResult | { appId: string; cancelled: true; shard: number }> {
  const app = await svc.apps.getPrimary(appId);
  if (!app) throw new CoreError("app_not_found", `No app with id ${appId}`, { field: "appId" });
  if (!svc.shards[target]) throw new CoreError("invalid_input", `No shard ${target}: this Worker has ${svc.shards.length} (0 to ${svc.shards.length - 1})`, { field: "shard" });
  const source = shardData(svc.shardAt(app.shard).shard.d1);
  if (target === app.shard) {
    if (app.movingTo === null) throw new CoreError("state_conflict", `The app is already on shard ${target}`, { field: "shard" });
    await source.unfence(app.id);
    await svc.apps.cancelMove(app.id);
    logEvent("app_move_cancelled", { appId: app.id, shard: app.shard });
    return { appId: app.id, cancelled: true, shard: app.shard };
  }
  if (app.movingTo !== null && app.movingTo !== target) {
    throw new CoreError("state_conflict", `A move to shard ${app.movingTo} is unfinished: move to ${app.movingTo} again to resume it, or to ${app.shard} to cancel it`, { field: "shard" });
  }
  await Promise.all([ensureShardReady(svc, app), ensureShardReady(svc, { shard: target })]);
  const now = svc.now();
  if (!(await svc.apps.beginMove(app.id, app.shard, target, app.routingVersion, now))) throw new CoreError("state_conflict", "The app moved or began moving meanwhile", { field: "shard" });
  const to = shardData(svc.shardAt(target).shard.d1);
  const moveId = await source.fence(app.id, "frozen", now);
  logEvent("app_move_started", { appId: app.id, from: app.shard, to: target });
  let renumbered = 0;
  let copied: Record<string, number>;
  try {
    if ((await to.fenceOf(app.id))?.moveId === moveId) {
      throw new CoreError("invalid_input", `USERS_${target} and USERS_${app.shard} are bound to the same database: nothing to move`, { field: "shard" });
    }
    await to.purge(app.id, null, now);
    await to.ensureAnchor(app.id, now);
    for (const walk of USER_TABLES) {
      let cursor: unknown[] | null = null;
      for (;;) {
        const rows = await source.page(walk, app.id, cursor);
        if (rows.length === 0) break;
        renumbered += (await to.insertCopies(walk.table, rows)).renumbered;
        const last = rows.at(-1)!;
        cursor = walk.order.map((c) => (c === "rowid" ? last.__rowid : last[c]));
      }
    }
    const [before, after] = await Promise.all([source.counts(app.id), to.counts(app.id)]);
    const differs = Object.keys(before).filter((t) => before[t] !== after[t]);
    if (differs.length > 0) throw new Error(`copy incomplete: ${differs.map((t) => `${t} ${after[t]}/${before[t]}`).join(", ")}`);
    copied = before;
  } catch (e) {
    // The app stays where it was, writable again; what reached the target is cleared by the next attempt.
    await source.unfence(app.id);
    await svc.apps.cancelMove(app.id);
    logEvent("app_move_failed", { appId: app.id, from: app.shard, to: target });
    throw e;
  }
  await source.fence(app.id, "moved", svc.now(), moveId);
  const routingVersion = await svc.apps.finishMove(app.id, target, app.routingVersion);
  if (routingVersion === null) {
    await source.unfence(app.id);
    throw new CoreError("state_conflict", "The move was cancelled meanwhile", { field: "shard" });
  }
  logEvent("app_moved", { appId: app.id, from: app.shard, to: target, routingVersion });
  if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  const purged = await source.purge(app.id, "moved", svc.now());
  return { appId: app.id, from: app.shard, to: target, routingVersion, copied, renumbered, purged };
}
