// Address-verification codes, all in D1 (address_verifications), one row per user and channel.
//
// The row says which address awaits verification, which code is current (code_id; a new code
// replaces it, so the newest code wins), until when, and how many guesses were made. Unlike
// reset codes, the hash lives in the same row: the code, its attempts and its use are then
// decided by one strongly consistent primary, and nothing depends on KV's propagation.
//
// Attempts are reserved before a code is compared: `reserve` is one conditional
// `UPDATE ... SET failures = failures + 1 WHERE failures < 5 ... RETURNING`, so of any number of
// parallel guesses at most five ever see the hash. A right guess then consumes the code and
// forgets the count in the same batch that changes the user's address.
import { constantTimeEqual, hmacSha256Base64url } from "../lib/digest";
import { randomToken } from "../lib/random";
import { andIf, type Database, purgeChunk, type Sql, sql } from "./db";
import { type AddressVerificationRow, addressVerifications } from "./schema";
import { emailKey } from "./users";

export type AddressChannel = "email" | "phone";
export type VerificationKind = "link" | "code" | "pin";
export type Verification = AddressVerificationRow;

export const MAX_VERIFY_FAILURES = 5;
/** Wrong guesses are remembered this long after the last one, across resends (as for resets). */
export const VERIFY_FAILURE_MEMORY_MS = 60 * 60 * 1000;

export type VerificationCheck =
  | { status: "ok"; codeId: string; address: string }
  /** A counted wrong guess; at 0 attempts left the code is dead. */
  | { status: "invalid"; attemptsLeft: number }
  | { status: "not_found" | "expired" | "exhausted" };

const codeHash = (codeId: string, code: string) => hmacSha256Base64url(codeId, code);

export class VerificationStore {
  constructor(private readonly db: Database) {}

  private key(appId: string, userId: string, channel: AddressChannel) {
    return sql`app_id = ${appId} AND user_id = ${userId} AND channel = ${channel}`;
  }

  get(appId: string, userId: string, channel: AddressChannel): Promise<Verification | null> {
    return this.db.first(sql`SELECT ${addressVerifications.all} FROM address_verifications WHERE ${this.key(appId, userId, channel)}`, addressVerifications.row);
  }

  async forUser(appId: string, userId: string): Promise<Verification[]> {
    return this.forUserStatement(appId, sql`${userId}`);
  }

  /** forUser as a statement for a batch; `userId` may be a sub-query. */
  forUserStatement(appId: string, userId: Sql) {
    return this.db.rows(sql`SELECT ${addressVerifications.all} FROM address_verifications WHERE app_id = ${appId} AND user_id = ${userId}`, addressVerifications.row);
  }

  /** Makes `code` the one current code for `address`; run it in a batch with the user's change. */
  issueStatement(appId: string, userId: string, channel: AddressChannel, address: string, kind: VerificationKind, code: string, ttlSeconds: number, now: number) {
    const codeId = randomToken(16);
    const expiresAt = now + ttlSeconds * 1000;
    const forgetBefore = now - VERIFY_FAILURE_MEMORY_MS;
    const hash = codeHash(codeId, code);
    // A resend keeps the count of recent wrong guesses: requesting codes buys no guesses.
    return this.db.statement(
      sql`INSERT INTO address_verifications (app_id, user_id, channel, address, code_id, code_hash, kind, expires_at, failures, failed_at, updated_at)
        VALUES (${appId}, ${userId}, ${channel}, ${address}, ${codeId}, ${hash}, ${kind}, ${expiresAt}, 0, 0, ${now})
        ON CONFLICT (app_id, user_id, channel) DO UPDATE SET address = ${address}, code_id = ${codeId}, code_hash = ${hash}, kind = ${kind},
          expires_at = ${expiresAt}, updated_at = ${now},
          failures = CASE WHEN address_verifications.failed_at > ${forgetBefore} THEN address_verifications.failures ELSE 0 END`,
    );
  }

  /**
   * Reserves one attempt against the live code, then compares. The reservation is atomic on
   * D1's primary, so no more than MAX_VERIFY_FAILURES candidates are ever compared per code
   * however many arrive at once.
   */
  async check(appId: string, userId: string, channel: AddressChannel, candidate: string, now: number): Promise<VerificationCheck> {
    const reserved = await this.db.rows<{ codeId: string | null; codeHash: string | null; address: string; failures: number }>(
      sql`UPDATE address_verifications SET failures = failures + 1, failed_at = ${now}
        WHERE ${this.key(appId, userId, channel)} AND code_id IS NOT NULL AND failures < ${MAX_VERIFY_FAILURES} AND expires_at > ${now}
        RETURNING code_id AS "codeId", code_hash AS "codeHash", address, failures`,
    );
    const row = reserved[0];
    if (!row?.codeId || !row.codeHash) {
      const current = await this.get(appId, userId, channel);
      if (!current?.codeId) return { status: "not_found" };
      if (current.failures >= MAX_VERIFY_FAILURES) return { status: "exhausted" };
      return { status: "expired" };
    }
    if (constantTimeEqual(codeHash(row.codeId, candidate), row.codeHash)) return { status: "ok", codeId: row.codeId, address: row.address };
    return { status: "invalid", attemptsLeft: Math.max(0, MAX_VERIFY_FAILURES - row.failures) };
  }

  /** SQL true while `codeId` is still the current code: the guard of the batch that uses it. */
  liveCondition(appId: string, userId: string, channel: AddressChannel, codeId: string) {
    return sql`EXISTS (SELECT 1 FROM address_verifications WHERE ${this.key(appId, userId, channel)} AND code_id = ${codeId})`;
  }

  /** Ends the verification once it succeeded; put it last in the batch (it ends the guard). */
  consumeStatement(appId: string, userId: string, channel: AddressChannel, codeId: string) {
    return this.db.rows<{ userId: string }>(
      sql`DELETE FROM address_verifications WHERE ${this.key(appId, userId, channel)} AND code_id = ${codeId} RETURNING user_id AS "userId"`,
    );
  }

  /** Drops any pending verification (the address was set verified, removed, or replaced). */
  clearStatement(appId: string, userId: string, channel: AddressChannel) {
    return this.db.statement(sql`DELETE FROM address_verifications WHERE ${this.key(appId, userId, channel)}`);
  }

  /**
   * Sets the user's address of `channel` (verified or not) as one change event. `onlyIf` makes
   * it conditional (on a live code). Returns the new sequence.
   */
  setAddressStatement(appId: string, userId: string, channel: AddressChannel, address: string | null, verified: boolean, now: number, onlyIf?: Sql) {
    const fields =
      channel === "email"
        ? sql`email = ${address}, email_key = ${address === null ? null : emailKey(address)}, email_verified = ${verified}`
        : sql`phone = ${address}, phone_verified = ${verified}`;
    return this.db.rows<{ sequence: number }>(
      sql`UPDATE users SET ${fields}, changed_at = ${now}, sequence = sequence + 1 WHERE app_id = ${appId} AND id = ${userId}${andIf(onlyIf)} RETURNING sequence`,
    );
  }

  /** A change event without other changes (a code was issued): ZITADEL's details.sequence. */
  bumpStatement(appId: string, userId: string, now: number) {
    return this.db.rows<{ sequence: number }>(sql`UPDATE users SET changed_at = ${now}, sequence = sequence + 1 WHERE app_id = ${appId} AND id = ${userId} RETURNING sequence`);
  }

  /** Whether another user of the app holds `address` (verified or not). */
  async addressTaken(appId: string, userId: string, channel: AddressChannel, address: string): Promise<boolean> {
    const match = channel === "email" ? sql`email_key = ${emailKey(address)}` : sql`phone = ${address}`;
    const row = await this.db.first(sql`SELECT id FROM users WHERE app_id = ${appId} AND ${match} AND id <> ${userId}`);
    return row !== null;
  }

  /**
   * Forgets verifications whose code expired over a day ago (the daily cron). An unverified
   * current address can still be sent a new code; an abandoned pending change is dropped.
   */
  purgeExpired(now: number, limit: number): Promise<number> {
    return purgeChunk(this.db, "address_verifications", "expires_at", now - 86_400_000, limit);
  }

  /**
   * Enumeration protection: a D1 write of the same shape as issuing a code, for a user who does
   * not exist or cannot be sent one, so that the answer takes about as long. It changes no row.
   */
  async decoy(appId: string, now: number): Promise<void> {
    await this.db.statement(sql`UPDATE address_verifications SET updated_at = ${now} WHERE ${this.key(appId, `decoy:${randomToken(8)}`, "email")}`);
  }
}
