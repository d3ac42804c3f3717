// The drizzle schema (src/storage/schema.ts) types every query; the SQL in migrations/ is what D1
// really has. Both are edited by hand, so this test holds them together: every table, column,
// NOT NULL and primary key the schema declares exists in the migrated database, and nothing more.
import { env } from "cloudflare:test";
import { is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/storage/schema";

interface ColumnInfo {
  name: string;
  notnull: number;
  pk: number;
}

const tables: SQLiteTable[] = Object.values(schema as Record<string, unknown>).filter((t): t is SQLiteTable => is(t, SQLiteTable));

describe("schema.ts and the migrations", () => {
  it("declare the same tables", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
    ).all<{ name: string }>();
    expect(results.map((r) => r.name).sort()).toEqual(tables.map((t) => getTableConfig(t).name).sort());
  });

  for (const table of tables) {
    const config = getTableConfig(table);
    it(`agree on ${config.name}'s columns, NOT NULLs and primary key`, async () => {
      const { results } = await env.DB.prepare(`PRAGMA table_info(${JSON.stringify(config.name)})`).all<ColumnInfo>();
      const inDb = Object.fromEntries(results.map((c) => [c.name, { notNull: c.notnull === 1 || c.pk > 0, pk: c.pk > 0 }]));
      const compositePk = config.primaryKeys.flatMap((k) => k.columns.map((c) => c.name));
      const declared = Object.fromEntries(config.columns.map((c) => [c.name, { notNull: c.notNull || c.primary || compositePk.includes(c.name), pk: c.primary || compositePk.includes(c.name) }]));
      expect(inDb).toEqual(declared);
    });
  }
});
