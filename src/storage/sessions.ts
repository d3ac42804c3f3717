// ZITADEL sessions in the app's shard. Tokens are `{appId}.{256 random bits}` stored as SHA-256,
// as access tokens are (tokens.ts); every change draws a new token and is conditional on the old
// one, so a token works once per change.
import { constantTimeEqual, sha256Base64url } from "../lib/digest";
import { andIf, type Database, inList, purgeChunk, raw, type Sql, sql, type Statement } from "./db";
import { type SessionRow, sessions } from "./schema";
import { newToken } from "./tokens";

export type { SessionRow };

const theSession = (appId: string, id: string) => sql`app_id = ${appId} AND id = ${id}`;

export class SessionStore {
  constructor(private readonly db: Database) {}

  /**
   * A new session and its token, as a statement (awaited alone, or in a password check's batch);
   * with `condition`, only while it holds (null otherwise).
   */
  createStatement(row: Omit<SessionRow, "tokenHash" | "sequence">, condition?: Sql): Statement<{ session: SessionRow; token: string } | null> {
    const token = newToken(row.appId);
    const session = { ...row, tokenHash: sha256Base64url(token), sequence: 1 };
    const insert = condition ? sessions.insertIf(session, condition) : sessions.insert([session]);
    return this.db.statement(insert).map((result) => (result.meta.changes === 1 ? { session, token } : null));
  }

  async get(appId: string, id: string): Promise<SessionRow | null> {
    return this.db.first(sql`SELECT ${sessions.all} FROM sessions WHERE ${theSession(appId, id)}`, sessions.row);
  }

  tokenMatches(session: SessionRow, token: string): boolean {
    return constantTimeEqual(sha256Base64url(token), session.tokenHash);
  }

  /**
   * Applies a change and draws a new token, only if the session still has `session.tokenHash`
   * and `condition`, when given, holds (null otherwise); a statement, awaited alone or in a
   * password check's batch.
   */
  updateStatement(
    session: SessionRow,
    change: { passwordCheckedAt?: number; expiresAt?: number | null },
    now: number,
    condition?: Sql,
  ): Statement<{ session: SessionRow; token: string } | null> {
    const token = newToken(session.appId);
    return this.db
      .rows(
        sql`UPDATE sessions SET ${sessions.set({ ...change, tokenHash: sha256Base64url(token), sequence: session.sequence + 1, changedAt: now })}
        WHERE ${theSession(session.appId, session.id)} AND token_hash = ${session.tokenHash}${andIf(condition)} RETURNING ${sessions.all}`,
        sessions.row,
      )
      .map((rows) => (rows[0] ? { session: rows[0], token } : null));
  }

  async delete(appId: string, id: string): Promise<void> {
    await this.db.statement(sql`DELETE FROM sessions WHERE ${theSession(appId, id)}`);
  }

  /** Sessions of the app, optionally only these ids and/or this user's, newest first. */
  async list(appId: string, filter: { ids?: string[]; userId?: string }, limit: number): Promise<SessionRow[]> {
    const ids = filter.ids ? (filter.ids.length ? sql` AND id IN ${inList(filter.ids)}` : raw(" AND false")) : raw("");
    const user = filter.userId !== undefined ? sql` AND user_id = ${filter.userId}` : raw("");
    return this.db.rows(sql`SELECT ${sessions.all} FROM sessions WHERE app_id = ${appId}${ids}${user} ORDER BY created_at LIMIT ${limit}`, sessions.row);
  }

  /** Deletes up to `limit` expired sessions (the daily clean-up's chunk); answers how many. */
  purgeExpired(now: number, limit: number): Promise<number> {
    return purgeChunk(this.db, "sessions", "expires_at", now, limit);
  }

  /** Every session of a user, for the batches that change a password, disable, lock or delete. */
  revokeUserStatement(appId: string, userId: string) {
    return this.db.statement(sql`DELETE FROM sessions WHERE app_id = ${appId} AND user_id = ${userId}`);
  }
}
