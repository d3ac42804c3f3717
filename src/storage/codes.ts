// Reset codes: the hash in KV (with expirationTtl), the authority in D1 (password_resets).
//
// KV is eventually consistent (a write can take up to 60 s to reach other locations) and has no
// compare-and-delete, so it cannot by itself make a code single-use, latest-wins, or count
// failures. D1 has one primary and conditional updates, so it decides:
// - which code is current: password_resets.code_id, replaced by each new code and cleared by any
//   password change, so a newer code or a change supersedes every older code;
// - single use: a reset commits only through `UPDATE ... WHERE code_id = ?` inside the same
//   batch (transaction) as the new password, so of N racing requests exactly one changes a row;
// - attempts: failures counted in D1 per user, and not reset by a resend.
// KV holds only HMAC-SHA256(key = code_id, code). code_id is random and lives only in D1, so a
// copy of KV alone does not let anyone test PIN guesses offline. The KV key names a tag of the
// code_id: a stale KV read in another location finds no record (or an old one under another
// key), which we answer as "no code" without counting a failure against the user.
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { constantTimeEqual, hmacSha256, sha256Base64url } from "../lib/digest";
import { base64url } from "../lib/encoding";
import { randomToken } from "../lib/random";
import type { Database } from "./db";
import { passwordResets } from "./schema";

export type CodeKind = "email_link" | "sms_link" | "sms_pin" | "code";

export const MAX_FAILURES = 5;
/** Failures are remembered this long after the last one, across resends. */
export const FAILURE_MEMORY_MS = 60 * 60 * 1000;
const KV_MIN_TTL_SECONDS = 60;

interface KvRecord {
  hash: string;
  kind: CodeKind;
  expiresAt: number;
}

export type CodeCheck =
  | { status: "ok"; codeId: string; kind: CodeKind }
  /** A counted wrong guess; at 0 attempts left the code is dead. */
  | { status: "invalid"; attemptsLeft: number }
  | { status: "not_found" | "expired" | "exhausted" };

export type CodePeek = { status: "match" | "mismatch"; kind: CodeKind } | { status: "not_found" | "expired" | "exhausted" };

const kvKey = (appId: string, userId: string, codeId: string) => `reset:${appId}:${userId}:${sha256Base64url(codeId).slice(0, 22)}`;
const codeHash = (codeId: string, code: string) => base64url(hmacSha256(codeId, code));

export class ResetCodeStore {
  constructor(
    private readonly db: Database,
    private readonly kv: KVNamespace,
  ) {}

  /** Makes `code` the user's one current code; returns statements to run with it in one batch. */
  prepare(appId: string, userId: string, kind: CodeKind, code: string, ttlSeconds: number, now: number) {
    const codeId = randomToken(16);
    const expiresAt = now + ttlSeconds * 1000;
    const record: KvRecord = { hash: codeHash(codeId, code), kind, expiresAt };
    // KV and D1 are written at the same time (the caller awaits `stored` with its batch). If only
    // the KV record lands, D1 never names it, so it is unreachable and expires. If only D1 lands,
    // a completion finds no record, which is answered "no code" and not counted as a failure.
    const stored = this.kv.put(kvKey(appId, userId, codeId), JSON.stringify(record), {
      expirationTtl: Math.max(KV_MIN_TTL_SECONDS, ttlSeconds),
    });
    const forgetBefore = now - FAILURE_MEMORY_MS;
    const upsert = this.db
      .insert(passwordResets)
      .values({ userId, appId, codeId, expiresAt, failures: 0, failedAt: 0, updatedAt: now })
      .onConflictDoUpdate({
        target: passwordResets.userId,
        set: {
          codeId,
          expiresAt,
          updatedAt: now,
          // A resend keeps the count of recent wrong guesses; old ones are forgotten.
          failures: sql`CASE WHEN ${passwordResets.failedAt} > ${forgetBefore} THEN ${passwordResets.failures} ELSE 0 END`,
        },
      });
    return { codeId, expiresAt, statement: upsert, stored };
  }

  /** Checks a candidate code; a wrong guess against a live code counts as a failure. */
  async check(appId: string, userId: string, candidate: string, now: number, accept?: readonly CodeKind[]): Promise<CodeCheck> {
    const live = await this.live(appId, userId, now);
    if (!("record" in live)) return live;
    const { codeId, record } = live;
    // A route for one kind (Kii's PIN completion) must not let anyone burn a pending link with guesses.
    if (accept && !accept.includes(record.kind)) return { status: "not_found" };
    if (constantTimeEqual(codeHash(codeId, candidate), record.hash)) return { status: "ok", codeId: codeId, kind: record.kind };
    const failed = await this.db
      .update(passwordResets)
      .set({
        failures: sql`${passwordResets.failures} + 1`,
        failedAt: now,
        // The MAX_FAILURES-th wrong guess kills the code.
        codeId: sql`CASE WHEN ${passwordResets.failures} + 1 >= ${MAX_FAILURES} THEN NULL ELSE ${passwordResets.codeId} END`,
      })
      .where(and(eq(passwordResets.userId, userId), eq(passwordResets.codeId, codeId)))
      .returning({ failures: passwordResets.failures });
    // The guess that uses up the last attempt is still answered as a wrong code; only later
    // attempts find no live code.
    return { status: "invalid", attemptsLeft: Math.max(0, MAX_FAILURES - (failed[0]?.failures ?? MAX_FAILURES)) };
  }

  /**
   * Looks at a candidate without counting or consuming anything: opening a reset link (or a mail
   * scanner prefetching it) must not burn the code. `mismatch` carries the live code's kind so
   * the caller can avoid offering a free guessing oracle for short codes.
   */
  async peek(appId: string, userId: string, candidate: string, now: number): Promise<CodePeek> {
    const live = await this.live(appId, userId, now);
    if (!("record" in live)) return live;
    return { status: constantTimeEqual(codeHash(live.codeId, candidate), live.record.hash) ? "match" : "mismatch", kind: live.record.kind };
  }

  /** The user's live code: D1 says which one and whether it may still be tried, KV holds its hash. */
  private async live(appId: string, userId: string, now: number): Promise<{ codeId: string; record: KvRecord } | { status: "not_found" | "exhausted" | "expired" }> {
    const row = await this.db.select().from(passwordResets).where(eq(passwordResets.userId, userId)).get();
    if (!row || row.appId !== appId || !row.codeId) return { status: "not_found" };
    if (row.failures >= MAX_FAILURES) return { status: "exhausted" };
    if (row.expiresAt <= now) return { status: "expired" };
    const raw = await this.kv.get(kvKey(appId, userId, row.codeId));
    if (!raw) return { status: "not_found" };
    return { codeId: row.codeId, record: JSON.parse(raw) as KvRecord };
  }

  /** SQL true while `codeId` is still the user's live code: the guard for a consuming batch. */
  liveCondition(userId: string, codeId: string, now: number) {
    return sql`EXISTS (SELECT 1 FROM ${passwordResets} WHERE ${passwordResets.userId} = ${userId}
      AND ${passwordResets.codeId} = ${codeId} AND ${passwordResets.expiresAt} > ${now} AND ${passwordResets.failures} < ${MAX_FAILURES})`;
  }

  /** Consumes the code; put it last in the batch (it ends the condition the others test). */
  consumeStatement(userId: string, codeId: string, now: number) {
    return this.db
      .update(passwordResets)
      .set({ codeId: null, failures: 0, failedAt: 0, updatedAt: now })
      .where(
        and(
          eq(passwordResets.userId, userId),
          eq(passwordResets.codeId, codeId),
          gt(passwordResets.expiresAt, now),
          lt(passwordResets.failures, MAX_FAILURES),
        ),
      )
      .returning({ userId: passwordResets.userId });
  }

  /**
   * Enumeration protection: the KV and D1 writes of a real request, for a user who does not
   * exist or cannot be reset (disabled, no password, no verified address), so that the answer
   * takes about as long. Nothing it writes can ever verify.
   */
  async decoy(appId: string, now: number): Promise<void> {
    const codeId = randomToken(16);
    await Promise.all([
      this.kv.put(kvKey(appId, "decoy", codeId), JSON.stringify({ hash: "", kind: "code", expiresAt: now }), {
        expirationTtl: KV_MIN_TTL_SECONDS,
      }),
      this.db.batch([
        this.db.update(passwordResets).set({ updatedAt: now }).where(eq(passwordResets.userId, `decoy:${codeId}`)),
        this.db.update(passwordResets).set({ updatedAt: now }).where(eq(passwordResets.userId, `decoy:${codeId}`)),
      ]),
    ]);
  }

  async forget(appId: string, userId: string, codeId: string): Promise<void> {
    await this.kv.delete(kvKey(appId, userId, codeId));
  }
}
