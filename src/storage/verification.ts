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
import { and, eq, gt, isNotNull, lt, sql } from "drizzle-orm";
import { constantTimeEqual, hmacSha256Base64url } from "../lib/digest";
import { randomToken } from "../lib/random";
import { type Database, purgeChunk } from "./db";
import { addressVerifications, users } from "./schema";
import { emailKey } from "./users";

export type AddressChannel = "email" | "phone";
export type VerificationKind = "link" | "code" | "pin";
export type Verification = typeof addressVerifications.$inferSelect;

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
    return and(eq(addressVerifications.appId, appId), eq(addressVerifications.userId, userId), eq(addressVerifications.channel, channel));
  }

  async get(appId: string, userId: string, channel: AddressChannel): Promise<Verification | null> {
    return (await this.db.select().from(addressVerifications).where(this.key(appId, userId, channel)).get()) ?? null;
  }

  async forUser(appId: string, userId: string): Promise<Verification[]> {
    return this.db
      .select()
      .from(addressVerifications)
      .where(and(eq(addressVerifications.appId, appId), eq(addressVerifications.userId, userId)))
      .all();
  }

  /** Makes `code` the one current code for `address`; run it in a batch with the user's change. */
  issueStatement(appId: string, userId: string, channel: AddressChannel, address: string, kind: VerificationKind, code: string, ttlSeconds: number, now: number) {
    const codeId = randomToken(16);
    const expiresAt = now + ttlSeconds * 1000;
    const forgetBefore = now - VERIFY_FAILURE_MEMORY_MS;
    return this.db
      .insert(addressVerifications)
      .values({ appId, userId, channel, address, codeId, codeHash: codeHash(codeId, code), kind, expiresAt, failures: 0, failedAt: 0, updatedAt: now })
      .onConflictDoUpdate({
        target: [addressVerifications.appId, addressVerifications.userId, addressVerifications.channel],
        set: {
          address,
          codeId,
          codeHash: codeHash(codeId, code),
          kind,
          expiresAt,
          updatedAt: now,
          // A resend keeps the count of recent wrong guesses: requesting codes buys no guesses.
          failures: sql`CASE WHEN ${addressVerifications.failedAt} > ${forgetBefore} THEN ${addressVerifications.failures} ELSE 0 END`,
        },
      });
  }

  /**
   * Reserves one attempt against the live code, then compares. The reservation is atomic on
   * D1's primary, so no more than MAX_VERIFY_FAILURES candidates are ever compared per code
   * however many arrive at once.
   */
  async check(appId: string, userId: string, channel: AddressChannel, candidate: string, now: number): Promise<VerificationCheck> {
    const reserved = await this.db
      .update(addressVerifications)
      .set({ failures: sql`${addressVerifications.failures} + 1`, failedAt: now })
      .where(
        and(
          this.key(appId, userId, channel),
          isNotNull(addressVerifications.codeId),
          lt(addressVerifications.failures, MAX_VERIFY_FAILURES),
          gt(addressVerifications.expiresAt, now),
        ),
      )
      .returning({ codeId: addressVerifications.codeId, codeHash: addressVerifications.codeHash, address: addressVerifications.address, failures: addressVerifications.failures });
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
    return sql`EXISTS (SELECT 1 FROM ${addressVerifications} WHERE ${addressVerifications.appId} = ${appId}
      AND ${addressVerifications.userId} = ${userId} AND ${addressVerifications.channel} = ${channel}
      AND ${addressVerifications.codeId} = ${codeId})`;
  }

  /** Ends the verification once it succeeded; put it last in the batch (it ends the guard). */
  consumeStatement(appId: string, userId: string, channel: AddressChannel, codeId: string) {
    return this.db
      .delete(addressVerifications)
      .where(and(this.key(appId, userId, channel), eq(addressVerifications.codeId, codeId)))
      .returning({ userId: addressVerifications.userId });
  }

  /** Drops any pending verification (the address was set verified, removed, or replaced). */
  clearStatement(appId: string, userId: string, channel: AddressChannel) {
    return this.db.delete(addressVerifications).where(this.key(appId, userId, channel));
  }

  /**
   * Sets the user's address of `channel` (verified or not) as one change event. `onlyIf` makes
   * it conditional (on a live code). Returns the new sequence.
   */
  setAddressStatement(appId: string, userId: string, channel: AddressChannel, address: string | null, verified: boolean, now: number, onlyIf?: ReturnType<typeof sql>) {
    const fields =
      channel === "email"
        ? { email: address, emailKey: address === null ? null : emailKey(address), emailVerified: verified }
        : { phone: address, phoneVerified: verified };
    return this.db
      .update(users)
      .set({ ...fields, changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(and(eq(users.appId, appId), eq(users.id, userId), onlyIf))
      .returning({ sequence: users.sequence });
  }

  /** A change event without other changes (a code was issued): ZITADEL's details.sequence. */
  bumpStatement(appId: string, userId: string, now: number) {
    return this.db
      .update(users)
      .set({ changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(and(eq(users.appId, appId), eq(users.id, userId)))
      .returning({ sequence: users.sequence });
  }

  /** Whether another user of the app holds `address` (verified or not). */
  async addressTaken(appId: string, userId: string, channel: AddressChannel, address: string): Promise<boolean> {
    const match = channel === "email" ? eq(users.emailKey, emailKey(address)) : eq(users.phone, address);
    const row = await this.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.appId, appId), match, sql`${users.id} <> ${userId}`))
      .get();
    return row !== undefined;
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
    await this.db
      .update(addressVerifications)
      .set({ updatedAt: now })
      .where(this.key(appId, `decoy:${randomToken(8)}`, "email"));
  }
}
