// Access tokens in the app's shard, stored as SHA-256 hashes: a database leak yields no usable
// token. Tokens are 256 random bits, so a fast hash is enough (no salt or stretching needed).
//
// A token reads `{appId}.{43 random base64url characters}`: the app (public anyway: it is in every
// Kii URL) says which shard to ask, through the app's row that the request loads anyway, so no
// table maps tokens to shards. Tokens issued before shards are the random part alone; see
// `tokenApp` and core/users.ts resolveToken for how they are still found.
import { sha256Base64url } from "../lib/digest";
import { randomToken } from "../lib/random";
import { andIf, type Database, purgeChunk, type Sql, sql, Statement } from "./db";
import { accessTokens } from "./schema";
import { passwordStillGood } from "./users";

/** A new token for the app: its id, then 256 random bits (the hash covers both). */
export const newToken = (appId: string) => `${appId}.${randomToken(32)}`;

/**
 * The app a token names, or null for a token from before shards (no dot: base64url has none).
 * Only a shape: whether the token is live is for the app's shard to say.
 */
export function tokenApp(token: string): string | null {
  const dot = token.lastIndexOf(".");
  return dot > 0 ? token.slice(0, dot) : null;
}

/** What a shard says of a token: its grant if it is live here, and the fence of its app here. */
export interface TokenCheck {
  grant: TokenGrant | null;
  fence: string | null;
}

export interface TokenGrant {
  appId: string;
  userId: string | null; // null: app admin
  expiresAt: number;
}

export class TokenStore {
  constructor(private readonly db: Database) {}

  async issue(grant: TokenGrant, now: number): Promise<string> {
    const token = newToken(grant.appId);
    await this.db.statement(accessTokens.insert([{ tokenHash: sha256Base64url(token), createdAt: now, ...grant }]));
    return token;
  }

  /**
   * Issues a user token only if, at the moment of the insert, the user is enabled, not locked by
   * an admin, and still has `passwordHash`. One statement, so a password change, a disable or a
   * lock that lands between the password check and this insert (and revokes the user's tokens)
   * cannot be outlived by it.
   * A statement, to run in the batch of the sign-in's other writes: the token, or null when it
   * was not issued.
   */
  issueForUserStatement(grant: TokenGrant & { userId: string }, passwordHash: string, now: number): Statement<string | null> {
    const token = newToken(grant.appId);
    return this.db
      .statement(sql`INSERT INTO access_tokens (token_hash, app_id, user_id, expires_at, created_at)
      SELECT ${sha256Base64url(token)}, ${grant.appId}, ${grant.userId}, ${grant.expiresAt}, ${now}
      WHERE ${passwordStillGood(grant.appId, grant.userId, passwordHash)}`)
      .map((result) => (result.meta.changes === 1 ? token : null));
  }

  /**
   * The live token's grant (null: none here), and the fence this shard holds for the token's app
   * (or, when the token is not here, for `appId`, the app the token names). A `moved` fence means
   * the app has left this shard: the caller read an old routing and must ask again. One query.
   */
  async resolve(token: string, now: number, appId: string | null = null): Promise<TokenCheck> {
    return this.resolveStatement(token, now, appId);
  }

  /** resolve() as a statement, to run in a batch. */
  resolveStatement(token: string, now: number, appId: string | null = null): Statement<TokenCheck> {
    const statement = this.db.rows<{ app_id: string | null; user_id: string | null; expires_at: number | null; fence: string | null }>(sql`
      SELECT t.app_id, t.user_id, t.expires_at,
        (SELECT state FROM app_fences WHERE app_fences.app_id = COALESCE(t.app_id, q.app)) AS fence
      FROM (SELECT ${appId} AS app) AS q
      LEFT JOIN access_tokens AS t ON t.token_hash = ${sha256Base64url(token)} AND t.expires_at > ${now}`);
    return new Statement(statement.bound, (result) => {
      const row = statement.read(result)[0];
      const grant = row?.app_id ? { appId: row.app_id, userId: row.user_id, expiresAt: row.expires_at! } : null;
      return { grant, fence: row?.fence ?? null };
    });
  }

  /**
   * The id of the user holding `token` in `appId`, if it is live: a sub-query, so that reads of
   * that user can join a batch with resolveStatement (one round trip, one transaction).
   */
  static userOf(token: string, now: number, appId: string): Sql {
    return sql`(SELECT user_id FROM access_tokens WHERE token_hash = ${sha256Base64url(token)} AND expires_at > ${now} AND app_id = ${appId})`;
  }

  /** The statement that revokes every token of a user, for use inside a batch; `onlyIf` guards it. */
  revokeUserStatement(appId: string, userId: string, onlyIf?: Sql) {
    return this.db.statement(sql`DELETE FROM access_tokens WHERE app_id = ${appId} AND user_id = ${userId}${andIf(onlyIf)}`);
  }

  /** Deletes up to `limit` expired tokens (the daily clean-up's chunk); answers how many. */
  purgeExpired(now: number, limit: number): Promise<number> {
    return purgeChunk(this.db, "access_tokens", "expires_at", now, limit);
  }
}
