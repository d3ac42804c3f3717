// The drizzle schema (src/storage/schema.ts) types every query; the SQL in migrations/ is what D1
// really has. Both are edited by hand, so this test holds them together: every table, column,
// NOT NULL and primary key the schema declares exists in the migrated database, and nothing more —
// in the control database and in each shard, which all take the same migrations.
import { env } from "cloudflare:test";
import { is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/storage/schema";
import { CONTROL_TABLES, REQUIRED_MIGRATIONS, userTableNames } from "../../src/storage/shards";

interface ColumnInfo {
  name: string;
  notnull: number;
  pk: number;
}

const tables: SQLiteTable[] = Object.values(schema as Record<string, unknown>).filter((t): t is SQLiteTable => is(t, SQLiteTable));

// One folder of migrations goes to every database (npm run migrate): the control database and
// each shard have the same schema, which the checks below compare with schema.ts in each.
const databases = () => ({ DB: env.DB, USERS_0: env.USERS_0!, USERS_1: env.USERS_1! });

describe("migrations across databases", () => {
  it("the Worker requires exactly the migrations in migrations/ (add a new one to REQUIRED_MIGRATIONS)", () => {
    expect([...REQUIRED_MIGRATIONS]).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
  });

  for (const [name, db] of Object.entries({ DB: () => env.DB, USERS_0: () => env.USERS_0!, USERS_1: () => env.USERS_1! })) {
    it(`${name} has recorded every one of them, and carries the fence triggers`, async () => {
      const { results } = await db().prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
      expect(results.map((r) => r.name)).toEqual([...REQUIRED_MIGRATIONS]);
      const triggers = await db().prepare("SELECT tbl_name AS t, count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_fence_%' GROUP BY tbl_name").all<{ t: string; n: number }>();
      expect(Object.fromEntries(triggers.results.map((r) => [r.t, r.n]))).toEqual(Object.fromEntries(userTableNames().map((t) => [t, 3])));
    });
  }

  it("every table is either user-scoped (moved with its app, fenced) or the control plane's", () => {
    const all = tables.map((t) => getTableConfig(t).name).sort();
    expect([...userTableNames(), ...CONTROL_TABLES].sort()).toEqual(all);
    for (const name of userTableNames()) expect(getTableConfig(tables.find((t) => getTableConfig(t).name === name)!).columns.map((c) => c.name)).toContain("app_id");
  });

  it("a fenced app's rows refuse every write, and the fence's purging state lets its own batch through", async () => {
    const db = env.USERS_1!;
    const now = Date.now();
    await db.batch([
      db.prepare("INSERT INTO apps (id, app_key, client_id, client_secret_hash, org_id, name, settings, created_at, changed_at) VALUES ('fenced01', '', 'anchor:fenced01', '', 'anchor:fenced01', '', '{}', 1, 1)"),
      db.prepare(`INSERT INTO users (id, app_id, created_at, changed_at) VALUES ('u1', 'fenced01', ${now}, ${now})`),
      db.prepare(`INSERT INTO app_fences (app_id, state, move_id, since) VALUES ('fenced01', 'frozen', 'm', ${now})`),
    ]);
    await expect(db.prepare(`INSERT INTO users (id, app_id, created_at, changed_at) VALUES ('u2', 'fenced01', ${now}, ${now})`).run()).rejects.toThrow(/latchkey_app_moving/);
    await expect(db.prepare("UPDATE users SET disabled = 1 WHERE app_id = 'fenced01'").run()).rejects.toThrow(/latchkey_app_moving/);
    await expect(db.prepare(`INSERT INTO sessions (id, app_id, user_id, token_hash, user_checked_at, created_at, changed_at) VALUES ('s', 'fenced01', 'u1', 'h', 1, 1, 1)`).run()).rejects.toThrow(/latchkey_app_moving/);
    await expect(db.prepare("DELETE FROM users WHERE app_id = 'fenced01'").run()).rejects.toThrow(/latchkey_app_moving/);
    const [, deleted] = await db.batch([
      db.prepare("UPDATE app_fences SET state = 'purging' WHERE app_id = 'fenced01'"),
      db.prepare("DELETE FROM users WHERE app_id = 'fenced01'"),
      db.prepare("UPDATE app_fences SET state = 'moved' WHERE app_id = 'fenced01'"),
    ]);
    expect(deleted!.meta.changes).toBe(1);
    await expect(db.prepare(`INSERT INTO users (id, app_id, created_at, changed_at) VALUES ('u3', 'fenced01', ${now}, ${now})`).run()).rejects.toThrow(/latchkey_app_moving/);
  });
});

describe("schema.ts and the migrations", () => {
  it("declare the same tables, in every database", async () => {
    for (const [name, db] of Object.entries(databases())) {
      const { results } = await db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'")
        .all<{ name: string }>();
      expect(results.map((r) => r.name).sort(), name).toEqual(tables.map((t) => getTableConfig(t).name).sort());
    }
  });

  for (const table of tables) {
    const config = getTableConfig(table);
    it(`agree on ${config.name}'s columns, NOT NULLs and primary key, in every database`, async () => {
      const compositePk = config.primaryKeys.flatMap((k) => k.columns.map((c) => c.name));
      const declared = Object.fromEntries(config.columns.map((c) => [c.name, { notNull: c.notNull || c.primary || compositePk.includes(c.name), pk: c.primary || compositePk.includes(c.name) }]));
      for (const [name, db] of Object.entries(databases())) {
        const { results } = await db.prepare(`PRAGMA table_info(${JSON.stringify(config.name)})`).all<ColumnInfo>();
        const inDb = Object.fromEntries(results.map((c) => [c.name, { notNull: c.notnull === 1 || c.pk > 0, pk: c.pk > 0 }]));
        expect(inDb, name).toEqual(declared);
      }
    });
  }
});
