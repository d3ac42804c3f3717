// src/storage/schema.ts names each table's columns (the SQL that every store writes uses them);
// the SQL in migrations/ is what D1 really has. Both are edited by hand, so this test holds them
// together: every table and column schema.ts names exists in the migrated database, and nothing
// more; booleans are integers and JSON is text; the defaults an INSERT fills in are the
// migration's — in the control database and in each shard, which all take the same migrations.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AppStore } from "../../src/storage/apps";
import { openDatabase, Table } from "../../src/storage/db";
import * as schema from "../../src/storage/schema";
import { CONTROL_TABLES, REQUIRED_MIGRATIONS, userTableNames } from "../../src/storage/shards";
import { UserStore } from "../../src/storage/users";
import { createApp, shardOf } from "../helpers";

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

const tables = Object.values(schema as Record<string, unknown>).filter((t): t is Table<Record<string, unknown>> => t instanceof Table);

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
    const all = tables.map((t) => t.name).sort();
    expect([...userTableNames(), ...CONTROL_TABLES].sort()).toEqual(all);
    for (const name of userTableNames()) expect(Object.values(tables.find((t) => t.name === name)!.columns)).toContain("app_id");
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
    expect(tables.length).toBeGreaterThanOrEqual(8);
    for (const [name, db] of Object.entries(databases())) {
      const { results } = await db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'")
        .all<{ name: string }>();
      expect(results.map((r) => r.name).sort(), name).toEqual(tables.map((t) => t.name).sort());
    }
  });

  for (const table of tables) {
    it(`agree on ${table.name}'s columns, their kinds and the defaults an INSERT fills in, in every database`, async () => {
      const declared = Object.values(table.columns);
      expect(new Set(declared).size, "a column named twice").toBe(declared.length);
      for (const [name, db] of Object.entries(databases())) {
        const { results } = await db.prepare(`PRAGMA table_info(${JSON.stringify(table.name)})`).all<ColumnInfo>();
        const inDb = new Map(results.map((c) => [c.name, c]));
        expect([...inDb.keys()].sort(), name).toEqual([...declared].sort());
        for (const [field, kind] of Object.entries(table.kinds)) {
          expect(inDb.get(table.columns[field]!)!.type.toLowerCase(), `${name}: ${table.name}.${field}`).toBe(kind === "bool" ? "integer" : "text");
        }
        for (const [field, value] of Object.entries(table.defaults)) {
          const column = inDb.get(table.columns[field]!)!;
          // Migrations spell a boolean default `false` (SQLite stores 0) and a number as itself.
          const expected = typeof value === "boolean" ? [String(value), String(Number(value))] : [String(value)];
          expect(expected, `${name}: ${table.name}.${field} default`).toContain(column.dflt_value);
          expect(column.notnull, `${name}: ${table.name}.${field} NOT NULL`).toBe(1);
        }
        // The select list every read uses runs as is.
        await db.prepare(`SELECT ${table.all.text} FROM ${table.name} LIMIT 0`).all();
      }
    });
  }

  it("a user row reads back with its booleans as booleans, and an INSERT fills in what the row leaves out", async () => {
    const app = await createApp();
    const users = new UserStore(openDatabase(await shardOf(app)));
    const inserted = await users.insertStatement({ id: "typed", appId: app.appId, loginName: "typed", loginNameKey: "typed", createdAt: 5, changedAt: 6 });
    const user = (await users.byId(app.appId, "typed"))!;
    // What the insert returns is the row as a later read sees it.
    expect(inserted).toEqual([user]);
    expect(user).toMatchObject({ id: "typed", appId: app.appId, loginName: "typed", email: null, emailVerified: false, phoneVerified: false, changeRequired: false, disabled: false, sequence: 1, createdAt: 5, changedAt: 6 });
    expect(typeof user.internalId).toBe("number");
    await users.setDisabledStatement(app.appId, "typed", true, 7);
    expect((await users.byId(app.appId, "typed"))!).toMatchObject({ disabled: true, sequence: 2, changedAt: 7 });
    expect(Object.keys(user).sort()).toEqual(Object.keys(schema.users.columns).sort());
  });

  it("an app row reads back with its settings parsed", async () => {
    const app = await createApp();
    const stored = (await new AppStore(openDatabase(env.DB)).getPrimary(app.appId))!;
    expect(typeof stored.settings).toBe("object");
    expect(stored.settings.corsOrigins).toBeInstanceOf(Array);
    expect(stored).toMatchObject({ id: app.appId, movingTo: null, routingVersion: 1 });
  });
});
