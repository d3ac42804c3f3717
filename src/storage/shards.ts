// User-data shards: which D1 databases hold users, what a shard's stores are, and the SQL that
// moves an app from one shard to another. docs/storage.md ("Shards and moves") is the prose.
//
// The control database (binding DB) holds apps. Everything scoped to a user (the tables in
// USER_TABLES) lives in the shard its app's row names: binding USERS_{n}. Nothing joins across
// databases. Every database has the same schema (one migrations folder, `npm run migrate`), so a
// shard bound to the same database as DB (an upgraded one-database install) is a valid shard.
//
// Users reference their app with a foreign key (migration 0000), so a shard holds an *anchor* row
// in its own `apps` table for each app it serves: the app's id and nothing else of it (no key,
// no secret hash, no settings). Where the shard is the control database itself, the app's real row
// is the anchor and no other is written.
import type { Env } from "../config/env";
import { randomToken } from "../lib/random";
import { ResetCodeStore } from "./codes";
import { type Database, openDatabase } from "./db";
import { SignInGuardStore } from "./guards";
import { SessionStore } from "./sessions";
import { type TokenCheck, TokenStore } from "./tokens";
import { type User, UserStore } from "./users";
import { type Verification, VerificationStore } from "./verification";

export const SHARD_BINDING = /^USERS_(\d+)$/;

/**
 * Every migration the code needs, by the name D1 records it under (d1_migrations). A database
 * that lacks one is refused: /healthz names it and its apps answer 503 (core/shards.ts).
 * test/storage/schema.test.ts fails when this list and migrations/ disagree.
 */
export const REQUIRED_MIGRATIONS = [
  "0000_init.sql",
  "0001_per_app_user_ids.sql",
  "0002_lockout.sql",
  "0004_app_credential_rotation.sql",
  "0005_verification.sql",
  "0008_shards.sql",
] as const;

/** The message the fence triggers of migration 0008 abort a write with. */
export const FENCE_ERROR = "latchkey_app_moving";

/** Whether an error (or one it wraps) is a write refused by an app's fence. */
export function isFenceError(e: unknown): boolean {
  for (let cause = e, depth = 0; cause && depth < 5; depth++) {
    if (cause instanceof Error && cause.message.includes(FENCE_ERROR)) return true;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return false;
}

export interface ShardBinding {
  index: number;
  /** The binding's name, USERS_{index} (DB for the fallback of a configuration with no shards). */
  name: string;
  d1: D1Database;
}

/**
 * The shards this Worker is bound to: USERS_0, USERS_1, … up to the first gap. A configuration
 * from before shards (no USERS_0 at all) has one shard, the control database.
 */
export function shardBindings(env: Env): ShardBinding[] {
  const shards: ShardBinding[] = [];
  for (let index = 0; ; index++) {
    const d1 = env[`USERS_${index}`];
    if (!d1) break;
    shards.push({ index, name: `USERS_${index}`, d1 });
  }
  return shards.length > 0 ? shards : [{ index: 0, name: "DB", d1: env.DB }];
}

/** The stores over one shard's primary: everything that decides a security question reads here. */
export class ShardStores {
  readonly db: Database;
  readonly users: UserStore;
  readonly tokens: TokenStore;
  readonly guards: SignInGuardStore;
  readonly sessions: SessionStore;
  readonly codes: ResetCodeStore;
  readonly verifications: VerificationStore;

  constructor(
    readonly shard: ShardBinding,
    kv: KVNamespace,
  ) {
    // The plain binding, never a D1 session: without the Sessions API every query goes to the primary.
    this.db = openDatabase(shard.d1);
    this.users = new UserStore(this.db);
    this.tokens = new TokenStore(this.db);
    this.guards = new SignInGuardStore(this.db);
    this.sessions = new SessionStore(this.db);
    this.codes = new ResetCodeStore(this.db, kv);
    this.verifications = new VerificationStore(this.db);
  }

  /**
   * A token check (TokenStore.resolve) and, in the same batch, the token's user and that user's
   * pending address verifications: what "me" needs, in one round trip. The user and the rows are
   * those of the token's live grant in `appId`, read in the same transaction as the check.
   */
  async resolveWithUser(token: string, now: number, appId: string): Promise<TokenCheck & { user: User | null; verifications: Verification[] }> {
    const holder = TokenStore.userOf(token, now, appId);
    const [check, found, verifications] = await this.db.batch([
      this.tokens.resolveStatement(token, now, appId),
      this.users.byIdStatement(appId, holder),
      this.verifications.forUserStatement(appId, holder),
    ]);
    return { ...check, user: found[0] ?? null, verifications };
  }
}

/** Which required migrations a database has not recorded (all of them when it has no d1_migrations table). */
export async function missingMigrations(d1: D1Database): Promise<string[]> {
  let applied: Set<string>;
  try {
    const { results } = await d1.prepare("SELECT name FROM d1_migrations").all<{ name: string }>();
    applied = new Set(results.map((r) => r.name));
  } catch (e) {
    if (e instanceof Error && /no such table/i.test(e.message)) return [...REQUIRED_MIGRATIONS];
    throw e;
  }
  return REQUIRED_MIGRATIONS.filter((name) => !applied.has(name));
}

/**
 * How each user-scoped table is walked for one app: `order` is an index's columns after app_id
 * (rowid included where the index is not unique), so each page is one index range; `where`
 * narrows it (access tokens: user tokens, then app admin tokens, whose user_id is null).
 */
interface TableWalk {
  table: string;
  order: string[];
  where?: string;
}

/**
 * Every table that holds rows of an app's users, parents first (copy order; purge runs it
 * backwards). A table added to the schema must be listed here or in CONTROL_TABLES:
 * test/storage/schema.test.ts fails otherwise, since a move would leave its rows behind.
 */
export const USER_TABLES: readonly TableWalk[] = [
  { table: "users", order: ["id"] },
  { table: "access_tokens", order: ["user_id", "rowid"], where: "user_id IS NOT NULL" },
  { table: "access_tokens", order: ["rowid"], where: "user_id IS NULL" },
  { table: "password_resets", order: ["user_id"] },
  { table: "address_verifications", order: ["user_id", "channel"] },
  { table: "sign_in_guards", order: ["user_id"] },
  { table: "sessions", order: ["user_id", "rowid"] },
];

/** Tables that are not user-scoped: apps (control; anchors in shards) and the fences. */
export const CONTROL_TABLES = ["apps", "app_fences"] as const;

export const userTableNames = () => [...new Set(USER_TABLES.map((t) => t.table))];

const PAGE_ROWS = 200;
const PURGE_ROWS = 500;
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export type FenceState = "frozen" | "moved" | "purging";

/** The SQL of moving an app's rows between shards; core/shards.ts decides when each step runs. */
export class ShardData {
  constructor(readonly d1: D1Database) {}

  /** The app's anchor row, so that its users' foreign keys hold (a no-op where the real row is). */
  async ensureAnchor(appId: string, now: number): Promise<void> {
    await this.d1
      .prepare(
        `INSERT INTO apps (id, app_key, client_id, client_secret_hash, org_id, name, settings, created_at, changed_at)
         VALUES (?1, '', 'anchor:' || ?1, '', 'anchor:' || ?1, '', '{}', ?2, ?2) ON CONFLICT DO NOTHING`,
      )
      .bind(appId, now)
      .run();
  }

  /** Sets the app's fence here; returns the move id it carries (to recognise this database elsewhere). */
  async fence(appId: string, state: FenceState, now: number, moveId = randomToken(12)): Promise<string> {
    await this.d1
      .prepare(
        `INSERT INTO app_fences (app_id, state, move_id, since) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (app_id) DO UPDATE SET state = excluded.state, move_id = excluded.move_id, since = excluded.since`,
      )
      .bind(appId, state, moveId, now)
      .run();
    return moveId;
  }

  async unfence(appId: string): Promise<void> {
    await this.d1.prepare("DELETE FROM app_fences WHERE app_id = ?").bind(appId).run();
  }

  async fenceOf(appId: string): Promise<{ state: FenceState; moveId: string } | null> {
    const row = await this.d1.prepare("SELECT state, move_id FROM app_fences WHERE app_id = ?").bind(appId).first<{ state: FenceState; move_id: string }>();
    return row ? { state: row.state, moveId: row.move_id } : null;
  }

  /** Rows of the app per user-scoped table. */
  async counts(appId: string): Promise<Record<string, number>> {
    const tables = userTableNames();
    const results = await this.d1.batch(tables.map((t) => this.d1.prepare(`SELECT count(*) AS n FROM ${ident(t)} WHERE app_id = ?`).bind(appId)));
    return Object.fromEntries(tables.map((t, i) => [t, (results[i]!.results[0] as { n: number }).n]));
  }

  /** One page of a table's rows for the app, after `cursor` (the previous page's last `order` values). */
  async page(walk: TableWalk, appId: string, cursor: unknown[] | null): Promise<Record<string, unknown>[]> {
    const order = walk.order.map((c) => (c === "rowid" ? "rowid" : ident(c)));
    const conditions = ["app_id = ?"];
    const params: unknown[] = [appId];
    if (walk.where) conditions.push(walk.where);
    if (cursor) {
      conditions.push(`(${order.join(", ")}) > (${order.map(() => "?").join(", ")})`);
      params.push(...cursor);
    }
    const sql = `SELECT rowid AS __rowid, * FROM ${ident(walk.table)} WHERE ${conditions.join(" AND ")} ORDER BY ${order.join(", ")} LIMIT ${PAGE_ROWS}`;
    return (await this.d1.prepare(sql).bind(...params).all<Record<string, unknown>>()).results;
  }

  /**
   * Inserts copied rows (one JSON parameter, whatever their number: D1 binds at most 100
   * values). A row already here is skipped, so a copy can be run again. Users keep their rowid
   * (Kii's internalUserID) unless another app's user holds it here: those get a new one, and
   * their number is returned.
   */
  async insertCopies(table: string, rows: Record<string, unknown>[]): Promise<{ renumbered: number }> {
    if (rows.length === 0) return { renumbered: 0 };
    const columns = Object.keys(rows[0]!).filter((c) => c !== "__rowid");
    const json = JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))));
    const select = (cols: string[]) => cols.map((c) => `json_extract(j.value, '$.' || ${sqlString(JSON.stringify(c))})`).join(", ");
    const statements = [this.d1.prepare(`INSERT INTO ${ident(table)} (${columns.map(ident).join(", ")}) SELECT ${select(columns)} FROM json_each(?) AS j WHERE true ON CONFLICT DO NOTHING`).bind(json)];
    if (table === "users") {
      const rest = columns.filter((c) => c !== "internal_id");
      statements.push(
        this.d1
          .prepare(
            `INSERT INTO users (${rest.map(ident).join(", ")}) SELECT ${select(rest)} FROM json_each(?) AS j
             WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.app_id = json_extract(j.value, '$.app_id') AND u.id = json_extract(j.value, '$.id'))`,
          )
          .bind(json),
      );
    }
    const results = await this.d1.batch(statements);
    return { renumbered: results[1]?.meta.changes ?? 0 };
  }

  /**
   * Deletes the app's rows here, a few hundred at a time. Each batch lets itself through the fence
   * (state `purging`) and sets it back to `after` before it commits, so no other write gets in.
   * Then the anchor goes (never the control database's real row), and with `after` null the fence too.
   */
  async purge(appId: string, after: "moved" | null, now: number): Promise<number> {
    let deleted = 0;
    const moveId = (await this.fenceOf(appId))?.moveId ?? randomToken(12);
    const open = this.d1.prepare(
      `INSERT INTO app_fences (app_id, state, move_id, since) VALUES (?1, 'purging', ?2, ?3)
       ON CONFLICT (app_id) DO UPDATE SET state = 'purging'`,
    ).bind(appId, moveId, now);
    const close = this.d1.prepare("UPDATE app_fences SET state = 'moved' WHERE app_id = ?").bind(appId);
    for (const table of [...userTableNames()].reverse()) {
      for (;;) {
        const del = this.d1.prepare(`DELETE FROM ${ident(table)} WHERE rowid IN (SELECT rowid FROM ${ident(table)} WHERE app_id = ? LIMIT ${PURGE_ROWS})`).bind(appId);
        const [, result] = await this.d1.batch([open, del, close]);
        deleted += result!.meta.changes;
        if (result!.meta.changes < PURGE_ROWS) break;
      }
    }
    await this.d1.batch([open, this.d1.prepare("DELETE FROM apps WHERE id = ?1 AND client_id = 'anchor:' || ?1").bind(appId), close]);
    if (after === null) await this.unfence(appId);
    return deleted;
  }
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A shard's move primitives, for core/shards.ts. */
export const shardData = (d1: D1Database) => new ShardData(d1);
