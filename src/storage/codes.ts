// Reset codes: the hash in KV (with expirationTtl), the authority in D1 (password_resets).
//
// KV is eventually consistent (a write can take up to 60 s to reach other locations) and has no
// compare-and-delete, so it cannot by itself make a code single-use, latest-wins, or count
// failures. D1 has one primary and conditional updates, so it decides:
// - which code is current: password_resets.code_id, replaced by each new code and cleared by any
//   password change, so a newer code or a change supersedes every older code;
// - single use: a reset commits only through `UPDATE ... WHERE code_id = ?` inside the same
//   batch (transaction) as the new password, so of N racing requests exactly one changes a row;
// - attempts: reserved in D1 per user before each comparison (so parallel guesses cannot outrun
//   the limit), and not reset by a resend.
// KV holds only HMAC-SHA256(key = code_id, code). code_id is random and lives only in D1, so a
// copy of KV alone does not let anyone test PIN guesses offline. The KV key names a tag of the
// code_id: a stale KV read in another location finds no record (or an old one under another
// key), which we answer as "no code" without counting a failure against the user.
import { constantTimeEqual, hmacSha256, sha256Base64url } from "../lib/digest";
import { base64url } from "../lib/encoding";
import { randomToken } from "../lib/random";
import { type Database, sql } from "./db";
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

export type CodeCurrent = { status: "live"; kind: CodeKind; codeId: string } | { status: "not_found" | "expired" | "exhausted" };

export type CodePeek =
  | { status: "match" | "mismatch"; kind: CodeKind; codeId: string }
  | { status: "not_found" | "expired" | "exhausted" };

const kvKey = (appId: string, userId: string, codeId: string) => `reset:${appId}:${userId}:${sha256Base64url(codeId).slice(0, 22)}`;
const codeHash = (codeId: string, code: string) => base64url(hmacSha256(codeId, code));

/**
 * A public name for one code, put into hosted links next to a short code, so that the page can
 * tell a link for an older code from a guess without comparing (or counting) anything. Derived
 * from code_id with its own label, so it is not the KV key's tag and says nothing of the HMAC key.
 */
export const linkTag = (codeId: string) => sha256Base64url(`link:${codeId}`).slice(0, 16);

/** A fresh code_id, drawn before `prepare` when the caller needs the code's link tag. */
export const newCodeId = () => randomToken(16);

export class ResetCodeStore {
  constructor(
    private readonly db: Database,
    private readonly kv: KVNamespace,
  ) {}

  /** Makes `code` the user's one current code; returns statements to run with it in one batch. */
  prepare(appId: string, userId: string, kind: CodeKind, code: string, ttlSeconds: number, now: number, codeId = newCodeId()) {
    const expiresAt = now + ttlSeconds * 1000;
    const record: KvRecord = { hash: codeHash(codeId, code), kind, expiresAt };
    // KV and D1 are written at the same time (the caller awaits `stored` with its batch). If only
    // the KV record lands, D1 never names it, so it is unreachable and expires. If only D1 lands,
    // a completion finds no record, which is answered "no code" and not counted as a failure.
    const stored = this.kv.put(kvKey(appId, userId, codeId), JSON.stringify(record), {
      expirationTtl: Math.max(KV_MIN_TTL_SECONDS, ttlSeconds),
    });
    const forgetBefore = now - FAILURE_MEMORY_MS;
    // A resend keeps the count of recent wrong guesses; old ones are forgotten.
    const upsert = this.db.statement(
      sql`INSERT INTO password_resets (user_id, app_id, code_id, expires_at, failures, failed_at, updated_at) VALUES (${userId}, ${appId}, ${codeId}, ${expiresAt}, 0, 0, ${now})
        ON CONFLICT (app_id, user_id) DO UPDATE SET code_id = ${codeId}, expires_at = ${expiresAt}, updated_at = ${now},
          failures = CASE WHEN password_resets.failed_at > ${forgetBefore} THEN password_resets.failures ELSE 0 END`,
    );
    return { codeId, expiresAt, statement: upsert, stored };
  }

  /**
   * Checks a candidate code. The attempt is reserved in D1 *before* the comparison, with one
   * conditional update that succeeds only while fewer than MAX_FAILURES attempts were made: however
   * many guesses race, from however many locations, at most MAX_FAILURES are ever compared. A
   * guess that finds no attempt left is not compared at all, so its answer cannot depend on it.
   * An "ok" holds a reserved attempt: the caller consumes the code (which clears the count) or,
   * if it refuses the change for another reason, gives the attempt back with `refund`.
   * `expectCodeId` (the hosted page, which knows which code its link was for) makes any other
   * live code count as none, so a link for an older code never costs the current one an attempt.
   */
  async check(
    appId: string,
    userId: string,
    candidate: string,
    now: number,
    options: { accept?: readonly CodeKind[] | undefined; expectCodeId?: string | undefined } = {},
  ): Promise<CodeCheck> {
    const live = await this.live(appId, userId, now);
    if (!("record" in live)) return live;
    const { codeId, record } = live;
    if (options.expectCodeId !== undefined && options.expectCodeId !== codeId) return { status: "not_found" };
    // A route for one kind (Kii's PIN completion) must not let anyone burn a pending link with guesses.
    if (options.accept && !options.accept.includes(record.kind)) return { status: "not_found" };
    const reserved = await this.db.rows<{ failures: number }>(
      sql`UPDATE password_resets SET failures = failures + 1, failed_at = ${now}
        WHERE app_id = ${appId} AND user_id = ${userId} AND code_id = ${codeId} AND expires_at > ${now} AND failures < ${MAX_FAILURES}
        RETURNING failures`,
    );
    if (reserved.length !== 1) {
      // Lost the race for an attempt (or the code changed meanwhile): say why, as any later request would.
      const after = await this.live(appId, userId, now);
      return "record" in after ? (after.codeId === codeId ? { status: "exhausted" } : { status: "not_found" }) : after;
    }
    if (constantTimeEqual(codeHash(codeId, candidate), record.hash)) return { status: "ok", codeId, kind: record.kind };
    // The guess that uses up the last attempt is still answered as a wrong code; later ones find
    // the code exhausted. The code_id stays: a right guess holding an earlier attempt may still
    // be on its way to consume it, and must not be told "used" (that would confirm it was right).
    return { status: "invalid", attemptsLeft: Math.max(0, MAX_FAILURES - reserved[0]!.failures) };
  }

  /** Gives back the attempt an "ok" check reserved, when the change was refused for another reason. */
  async refund(appId: string, userId: string, codeId: string): Promise<void> {
    await this.db.statement(sql`UPDATE password_resets SET failures = MAX(failures - 1, 0) WHERE app_id = ${appId} AND user_id = ${userId} AND code_id = ${codeId}`);
  }

  /**
   * Looks at a candidate without counting or consuming anything: opening a reset link (or a mail
   * scanner prefetching it) must not burn the code. `mismatch` carries the live code's kind and id
   * so the caller can avoid offering a free guessing oracle for short codes.
   */
  async peek(appId: string, userId: string, candidate: string, now: number): Promise<CodePeek> {
    const live = await this.live(appId, userId, now);
    if (!("record" in live)) return live;
    const match = constantTimeEqual(codeHash(live.codeId, candidate), live.record.hash);
    return { status: match ? "match" : "mismatch", kind: live.record.kind, codeId: live.codeId };
  }

  /**
   * Which code is live (its id and kind), comparing nothing: the hosted page checks a link's tag
   * against it before it has, or compares, any code.
   */
  async current(appId: string, userId: string, now: number): Promise<CodeCurrent> {
    const live = await this.live(appId, userId, now);
    if (!("record" in live)) return live;
    return { status: "live", kind: live.record.kind, codeId: live.codeId };
  }

  /** The user's live code: D1 says which one and whether it may still be tried, KV holds its hash. */
  private async live(appId: string, userId: string, now: number): Promise<{ codeId: string; record: KvRecord } | { status: "not_found" | "exhausted" | "expired" }> {
    const row = await this.db.first(sql`SELECT ${passwordResets.all} FROM password_resets WHERE app_id = ${appId} AND user_id = ${userId}`, passwordResets.row);
    if (!row || !row.codeId) return { status: "not_found" };
    if (row.failures >= MAX_FAILURES) return { status: "exhausted" };
    if (row.expiresAt <= now) return { status: "expired" };
    const raw = await this.kv.get(kvKey(appId, userId, row.codeId));
    if (!raw) return { status: "not_found" };
    return { codeId: row.codeId, record: JSON.parse(raw) as KvRecord };
  }

  /**
   * SQL true while `codeId` is still the user's live code: the guard for a consuming batch. It
   * does not look at the count: only a request that reserved an attempt and matched gets here,
   * and the attempt it holds may be the last one.
   */
  liveCondition(appId: string, userId: string, codeId: string, now: number) {
    return sql`EXISTS (SELECT 1 FROM password_resets WHERE app_id = ${appId} AND user_id = ${userId} AND code_id = ${codeId} AND expires_at > ${now})`;
  }

  /** Consumes the code; put it last in the batch (it ends the condition the others test). */
  consumeStatement(appId: string, userId: string, codeId: string, now: number) {
    return this.db.rows<{ userId: string }>(
      sql`UPDATE password_resets SET code_id = NULL, failures = 0, failed_at = 0, updated_at = ${now}
        WHERE app_id = ${appId} AND user_id = ${userId} AND code_id = ${codeId} AND expires_at > ${now} RETURNING user_id AS "userId"`,
    );
  }

  /**
   * Enumeration protection: the KV and D1 writes of a real request, for a user who does not
   * exist or cannot be reset (disabled, no password, no verified address), so that the answer
   * takes about as long. Nothing it writes can ever verify.
   */
  async decoy(appId: string, now: number): Promise<void> {
    const codeId = randomToken(16);
    const decoyWrite = () => this.db.statement(sql`UPDATE password_resets SET updated_at = ${now} WHERE app_id = ${appId} AND user_id = ${`decoy:${codeId}`}`);
    await Promise.all([
      this.kv.put(kvKey(appId, "decoy", codeId), JSON.stringify({ hash: "", kind: "code", expiresAt: now }), {
        expirationTtl: KV_MIN_TTL_SECONDS,
      }),
      this.db.batch([decoyWrite(), decoyWrite()]),
    ]);
  }

  async forget(appId: string, userId: string, codeId: string): Promise<void> {
    await this.kv.delete(kvKey(appId, userId, codeId));
  }
}
