import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = ReturnType<typeof openDatabase>;

export const openDatabase = (d1: D1Database) => drizzle(d1, { schema });

/**
 * One chunk of the daily clean-up: deletes at most `limit` rows of `table` whose `column` is
 * before `before`, and answers how many went. Chunks keep each statement far from D1's query time
 * limit on a large shard. Rows of an app with a move fence are left for another day: the fence's
 * triggers would abort the whole statement, and a move copies or purges those rows itself.
 */
export async function purgeChunk(db: Database, table: string, column: string, before: number, limit: number): Promise<number> {
  const result = await db.run(
    sql`DELETE FROM ${sql.identifier(table)} WHERE rowid IN (SELECT rowid FROM ${sql.identifier(table)} WHERE ${sql.identifier(column)} < ${before} AND app_id NOT IN (SELECT app_id FROM app_fences) LIMIT ${limit})`,
  );
  return result.meta.changes ?? 0;
}
