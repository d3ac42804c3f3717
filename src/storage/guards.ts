// The per-account sign-in guard in D1 (table sign_in_guards, docs/storage.md). Every password
// check first reserves an attempt with one conditional upsert; D1 runs statements one at a time
// on the primary, so however many checks race, no more than the policy's number are reserved.
import { andIf, type Database, type Sql, sql } from "./db";
import { type SignInGuardRow, signInGuards } from "./schema";

export type SignInGuard = SignInGuardRow;

const theGuard = (appId: string, userId: string) => sql`app_id = ${appId} AND user_id = ${userId}`;

export interface AttemptRule {
  maxAttempts: number;
  /** A reservation made longer ago than this no longer counts (failures decay). */
  decayMs: number;
}

export interface LockRule {
  lockMs: number;
  maxLockMs: number;
}

export interface Reservation {
  /** This check's place in the current run of attempts (1 = first). */
  attempt: number;
}

export class SignInGuardStore {
  constructor(private readonly db: Database) {}

  async get(appId: string, userId: string): Promise<SignInGuard | null> {
    return this.db.first(sql`SELECT ${signInGuards.all} FROM sign_in_guards WHERE ${theGuard(appId, userId)}`, signInGuards.row);
  }

  /**
   * Reserves one password check, or null when the account is locked or its attempts are used up.
   * One statement: the read of the count and its increment cannot interleave with another check.
   */
  async reserve(appId: string, userId: string, rule: AttemptRule, now: number): Promise<Reservation | null> {
    const decayStart = now - rule.decayMs;
    const rows = await this.db.rows<{ attempts: number }>(sql`
      INSERT INTO sign_in_guards (app_id, user_id, attempts, last_attempt_at) VALUES (${appId}, ${userId}, 1, ${now})
      ON CONFLICT (app_id, user_id) DO UPDATE SET
        attempts = CASE WHEN last_attempt_at <= ${decayStart} THEN 1 ELSE attempts + 1 END,
        last_attempt_at = ${now}
      WHERE admin_locked = 0 AND locked_until <= ${now} AND (attempts < ${rule.maxAttempts} OR last_attempt_at <= ${decayStart})
      RETURNING attempts`);
    const row = rows[0];
    return row ? { attempt: row.attempts } : null;
  }

  /**
   * Locks the account after the check that used up the last attempt failed: each lock in a row
   * lasts twice as long as the one before, up to the cap. Returns the lock's end if this call locked it.
   */
  async lock(appId: string, userId: string, rule: LockRule, now: number): Promise<number | null> {
    const rows = await this.db.rows<{ locked_until: number }>(sql`
      UPDATE sign_in_guards SET
        attempts = 0,
        locked_until = ${now} + MIN(${rule.lockMs} * (1 << MIN(lock_count, 30)), ${rule.maxLockMs}),
        lock_count = lock_count + 1
      WHERE app_id = ${appId} AND user_id = ${userId} AND locked_until <= ${now}
      RETURNING locked_until`);
    return rows[0]?.locked_until ?? null;
  }

  /**
   * Ends an automatic lock and forgets failures (a completed reset, a new password, a correct
   * password: core/users.ts acceptPassword); an admin's lock stays. `onlyIf` guards it.
   */
  clearStatement(appId: string, userId: string, onlyIf?: Sql) {
    return this.db.statement(sql`UPDATE sign_in_guards SET attempts = 0, locked_until = 0, lock_count = 0 WHERE ${theGuard(appId, userId)}${andIf(onlyIf)}`);
  }

  /** An admin's lock (ZITADEL LockUser): holds until an admin unlocks. */
  adminLockStatement(appId: string, userId: string) {
    return this.db.statement(
      sql`INSERT INTO sign_in_guards (app_id, user_id, admin_locked) VALUES (${appId}, ${userId}, 1) ON CONFLICT (app_id, user_id) DO UPDATE SET admin_locked = 1`,
    );
  }

  /** Ends every lock, automatic or an admin's, and forgets failures (ZITADEL UnlockUser). */
  deleteStatement(appId: string, userId: string) {
    return this.db.statement(sql`DELETE FROM sign_in_guards WHERE ${theGuard(appId, userId)}`);
  }
}
