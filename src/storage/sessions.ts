// ZITADEL sessions in the app's shard. Tokens are `{appId}.{256 random bits}` stored as SHA-256,
// as access tokens are (tokens.ts); every change draws a new token and is conditional on the old
// one, so a token works once per change.
import { and, eq, inArray, type SQL } from "drizzle-orm";
import { constantTimeEqual, sha256Base64url } from "../lib/digest";
import { type Database, purgeChunk } from "./db";
import { sessions } from "./schema";
import { newToken } from "./tokens";

export type SessionRow = typeof sessions.$inferSelect;

export class SessionStore {
  constructor(private readonly db: Database) {}

  async create(row: Omit<SessionRow, "tokenHash" | "sequence">): Promise<{ session: SessionRow; token: string }> {
    const token = newToken(row.appId);
    const session = { ...row, tokenHash: sha256Base64url(token), sequence: 1 };
    await this.db.insert(sessions).values(session);
    return { session, token };
  }

  async get(appId: string, id: string): Promise<SessionRow | null> {
    return (await this.db.select().from(sessions).where(and(eq(sessions.appId, appId), eq(sessions.id, id))).get()) ?? null;
  }

  tokenMatches(session: SessionRow, token: string): boolean {
    return constantTimeEqual(sha256Base64url(token), session.tokenHash);
  }

  /** Applies a change and draws a new token, only if the session still has `session.tokenHash`. */
  async update(session: SessionRow, change: { passwordCheckedAt?: number; expiresAt?: number | null }, now: number): Promise<{ session: SessionRow; token: string } | null> {
    const token = newToken(session.appId);
    const rows = await this.db
      .update(sessions)
      .set({ ...change, tokenHash: sha256Base64url(token), sequence: session.sequence + 1, changedAt: now })
      .where(and(eq(sessions.appId, session.appId), eq(sessions.id, session.id), eq(sessions.tokenHash, session.tokenHash)))
      .returning();
    return rows[0] ? { session: rows[0], token } : null;
  }

  async delete(appId: string, id: string): Promise<void> {
    await this.db.delete(sessions).where(and(eq(sessions.appId, appId), eq(sessions.id, id)));
  }

  /** Sessions of the app, optionally only these ids and/or this user's, newest first. */
  async list(appId: string, filter: { ids?: string[]; userId?: string }, limit: number): Promise<SessionRow[]> {
    const where: (SQL | undefined)[] = [eq(sessions.appId, appId)];
    if (filter.ids) where.push(inArray(sessions.id, filter.ids));
    if (filter.userId !== undefined) where.push(eq(sessions.userId, filter.userId));
    return this.db.select().from(sessions).where(and(...where)).orderBy(sessions.createdAt).limit(limit).all();
  }

  /** Deletes up to `limit` expired sessions (the daily clean-up's chunk); answers how many. */
  purgeExpired(now: number, limit: number): Promise<number> {
    return purgeChunk(this.db, "sessions", "expires_at", now, limit);
  }

  /** Every session of a user, for the batches that change a password, disable, lock or delete. */
  revokeUserStatement(appId: string, userId: string) {
    return this.db.delete(sessions).where(and(eq(sessions.appId, appId), eq(sessions.userId, userId)));
  }
}
