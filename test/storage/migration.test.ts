// Migration 0001 (per-app user ids) on a database that holds data: every row survives, with its
// rowid, and the new keys hold. D1 applies a migration as one batch with foreign keys enforced,
// which is what applyD1Migrations does here.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const migration = (prefix: string) => {
  const found = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(prefix));
  expect(found, prefix).toBeDefined();
  return found!;
};

async function applyMigration(prefix: string) {
  const m = migration(prefix);
  await env.DB.batch(m.queries.map((q) => env.DB.prepare(q)));
}

async function freshDatabaseAt0000() {
  // This file's D1 is its own: start again from nothing, then the first migration only.
  for (const table of ["access_tokens", "password_resets", "users", "apps", "d1_migrations"]) {
    await env.DB.prepare(`DROP TABLE IF EXISTS ${table}`).run();
  }
  await applyMigration("0000");
}

const all = async (sql: string) => (await env.DB.prepare(sql).all<Record<string, unknown>>()).results;

describe("migration 0001: user ids unique per app", () => {
  it("keeps every row, rowid and reference, and then allows one id in two apps", async () => {
    await freshDatabaseAt0000();
    const now = Date.now();
    const seed = [
      `INSERT INTO apps VALUES ('appone001', 'k1', 'c1', 'h1', '101', 'one', '{}', ${now}, ${now})`,
      `INSERT INTO apps VALUES ('apptwo002', 'k2', 'c2', 'h2', '102', 'two', '{}', ${now}, ${now})`,
      `INSERT INTO users (internal_id, id, app_id, login_name, login_name_key, password_hash, created_at, changed_at)
         VALUES (7, 'u1', 'appone001', 'Ann', 'ann', 'h', ${now}, ${now}), (9, 'u2', 'apptwo002', 'Bob', 'bob', 'h', ${now}, ${now})`,
      `INSERT INTO access_tokens VALUES ('t1', 'appone001', 'u1', ${now + 1000}, ${now}), ('t2', 'apptwo002', NULL, ${now + 1000}, ${now}),
         ('t3', 'apptwo002', 'u2', ${now + 1000}, ${now})`,
      `INSERT INTO password_resets VALUES ('u1', 'appone001', 'code1', ${now + 1000}, 2, ${now}, ${now})`,
    ];
    for (const s of seed) await env.DB.prepare(s).run();

    await applyMigration("0001");

    expect(await all("SELECT internal_id, id, app_id, login_name FROM users ORDER BY internal_id")).toEqual([
      { internal_id: 7, id: "u1", app_id: "appone001", login_name: "Ann" },
      { internal_id: 9, id: "u2", app_id: "apptwo002", login_name: "Bob" },
    ]);
    expect(await all("SELECT token_hash, app_id, user_id FROM access_tokens ORDER BY token_hash")).toEqual([
      { token_hash: "t1", app_id: "appone001", user_id: "u1" },
      { token_hash: "t2", app_id: "apptwo002", user_id: null },
      { token_hash: "t3", app_id: "apptwo002", user_id: "u2" },
    ]);
    expect(await all("SELECT user_id, app_id, code_id, failures FROM password_resets")).toEqual([
      { user_id: "u1", app_id: "appone001", code_id: "code1", failures: 2 },
    ]);
    expect(await all("PRAGMA foreign_key_check")).toEqual([]);

    // The same id in another app is now a different user; in the same app it is still refused.
    await env.DB.prepare(`INSERT INTO users (id, app_id, created_at, changed_at) VALUES ('u1', 'apptwo002', ${now}, ${now})`).run();
    await expect(env.DB.prepare(`INSERT INTO users (id, app_id, created_at, changed_at) VALUES ('u1', 'appone001', ${now}, ${now})`).run()).rejects.toThrow(
      /UNIQUE/,
    );
    // A token or reset row must name a user of its own app.
    await expect(env.DB.prepare(`INSERT INTO access_tokens VALUES ('t4', 'appone001', 'u2', ${now}, ${now})`).run()).rejects.toThrow(/FOREIGN KEY/);
    await expect(env.DB.prepare(`INSERT INTO password_resets (user_id, app_id) VALUES ('u2', 'appone001')`).run()).rejects.toThrow(/FOREIGN KEY/);
    // Deleting a user takes its tokens and reset state with it, and only its own.
    await env.DB.prepare("DELETE FROM users WHERE app_id = 'appone001' AND id = 'u1'").run();
    expect(await all("SELECT token_hash FROM access_tokens ORDER BY token_hash")).toEqual([{ token_hash: "t2" }, { token_hash: "t3" }]);
    expect(await all("SELECT user_id FROM password_resets")).toEqual([]);
    // New rowids continue after the old ones.
    const { meta } = await env.DB.prepare(`INSERT INTO users (id, app_id, created_at, changed_at) VALUES ('u3', 'appone001', ${now}, ${now})`).run();
    expect(meta.last_row_id).toBeGreaterThan(9);
  });
});
