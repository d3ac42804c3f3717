// Users in D1. Look-ups by login name and address use lower-cased key columns so that
// uniqueness and sign-in ignore case while the stored value keeps what the user typed.
import { andIf, type Database, inList, join, raw, type Sql, sql } from "./db";
import { type NewUserRow, type UserRow, users } from "./schema";

export type User = UserRow;
export type NewUser = NewUserRow;

export type UserField = "loginName" | "emailAddress" | "phoneNumber";

export const loginNameKey = (name: string) => name.normalize("NFKC").toLowerCase();
export const emailKey = (email: string) => email.toLowerCase();

/** The user (app, id) of a WHERE clause. */
const theUser = (appId: string, id: string) => sql`app_id = ${appId} AND id = ${id}`;

/** UserStore.passwordStillGoodCondition, for the stores whose writes it guards (tokens.ts). */
export const passwordStillGood = (appId: string, userId: string, passwordHash: string) =>
  sql`EXISTS (SELECT 1 FROM users WHERE app_id = ${appId} AND id = ${userId} AND disabled = 0 AND password_hash = ${passwordHash})
    AND NOT EXISTS (SELECT 1 FROM sign_in_guards WHERE app_id = ${appId} AND user_id = ${userId} AND admin_locked = 1)`;

export class UserStore {
  constructor(private readonly db: Database) {}

  private one(where: Sql): Promise<User | null> {
    return this.db.first(sql`SELECT ${users.all} FROM users WHERE ${where}`, users.row);
  }

  byId(appId: string, id: string): Promise<User | null> {
    return this.one(theUser(appId, id));
  }

  /** The user whose id `id` (a sub-query) names, as a statement for a batch: its one row or none. */
  byIdStatement(appId: string, id: Sql) {
    return this.db.rows(sql`SELECT ${users.all} FROM users WHERE app_id = ${appId} AND id = ${id}`, users.row);
  }

  /** Which of these ids (at most 99: D1 binds 100 parameters) are the app's users. */
  async existing(appId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.rows<{ id: string }>(sql`SELECT id FROM users WHERE app_id = ${appId} AND id IN ${inList(ids)}`);
    return new Set(rows.map((r) => r.id));
  }

  byLoginName(appId: string, name: string): Promise<User | null> {
    return this.one(sql`app_id = ${appId} AND login_name_key = ${loginNameKey(name)}`);
  }

  byEmail(appId: string, email: string, verifiedOnly: boolean): Promise<User | null> {
    return this.one(sql`app_id = ${appId} AND email_key = ${emailKey(email)}${raw(verifiedOnly ? " AND email_verified = 1" : "")}`);
  }

  byPhone(appId: string, phone: string, verifiedOnly: boolean): Promise<User | null> {
    return this.one(sql`app_id = ${appId} AND phone = ${phone}${raw(verifiedOnly ? " AND phone_verified = 1" : "")}`);
  }

  /** Which of the unique fields of `user` another user of the same app already holds, if any. */
  async conflict(user: Pick<NewUser, "appId" | "id" | "loginNameKey" | "emailKey" | "phone">): Promise<UserField | "userId" | null> {
    // Ids are unique per app: another app's users are never looked at, so an id taken there is free here.
    const rows = await this.db.rows<{ id: string; loginNameKey: string | null; emailKey: string | null; phone: string | null }>(
      sql`SELECT id, login_name_key AS "loginNameKey", email_key AS "emailKey", phone FROM users
        WHERE app_id = ${user.appId} AND (id = ${user.id} OR login_name_key = ${user.loginNameKey ?? null}
          OR email_key = ${user.emailKey ?? null} OR phone = ${user.phone ?? null}) LIMIT 4`,
    );
    for (const row of rows) if (row.id === user.id) return "userId";
    for (const row of rows) {
      if (user.loginNameKey && row.loginNameKey === user.loginNameKey) return "loginName";
      if (user.emailKey && row.emailKey === user.emailKey) return "emailAddress";
      if (user.phone && row.phone === user.phone) return "phoneNumber";
    }
    return null;
  }

  /**
   * The insert of a new user, answering its row as stored. An id, login name, email or phone
   * the app's users already hold fails it, and the batch it is in, with a UNIQUE constraint error.
   */
  insertStatement(user: NewUser) {
    return this.db.rows(sql`${users.insert([user], "internalId")} RETURNING ${users.all}`, users.row);
  }

  /**
   * Statement that sets a new password hash: bumps the event sequence, and (with the statements
   * beside it in a batch) revokes tokens and kills any reset code. `onlyIf` makes it conditional.
   */
  setPasswordStatement(user: Pick<User, "appId" | "id">, hash: string, changeRequired: boolean, now: number, onlyIf?: Sql) {
    return this.db.rows<{ sequence: number }>(
      sql`UPDATE users SET password_hash = ${hash}, change_required = ${changeRequired}, password_changed_at = ${now}, changed_at = ${now}, sequence = sequence + 1
        WHERE ${theUser(user.appId, user.id)}${andIf(onlyIf)} RETURNING sequence`,
    );
  }

  /**
   * SQL true while the user is enabled, not locked by an admin, and still has the hash a password
   * was just checked against: the guard for what a correct password earns (a token, a session).
   * Each of those changes removes the user's tokens and sessions; one that lands while the
   * password is compared must not be followed by a token or session it never saw.
   */
  passwordStillGoodCondition(appId: string, userId: string, passwordHash: string) {
    return passwordStillGood(appId, userId, passwordHash);
  }

  /**
   * SQL true while the user still has `passwordHash` (null: no password): the guard for a write
   * that was decided on the hash it read, so that a change landing in between is not overwritten.
   */
  hashUnchangedCondition(appId: string, userId: string, passwordHash: string | null) {
    return sql`EXISTS (SELECT 1 FROM users WHERE app_id = ${appId} AND id = ${userId} AND password_hash IS ${passwordHash})`;
  }

  /** Upgrades a hash made with old parameters; not a change the user made, so no new sequence. */
  rehashStatement(appId: string, userId: string, oldHash: string, newHash: string) {
    return this.db.statement(sql`UPDATE users SET password_hash = ${newHash} WHERE ${theUser(appId, userId)} AND password_hash = ${oldHash}`);
  }

  /**
   * The app's users holding any of these ids, login-name keys or email keys (bulk import). D1
   * binds at most 100 parameters: callers keep the three lists to 33 entries together at most.
   */
  async findForImport(appId: string, ids: string[], loginNameKeys: string[], emailKeys: string[]): Promise<User[]> {
    const any = [
      ids.length ? sql`id IN ${inList(ids)}` : undefined,
      loginNameKeys.length ? sql`login_name_key IN ${inList(loginNameKeys)}` : undefined,
      emailKeys.length ? sql`email_key IN ${inList(emailKeys)}` : undefined,
    ].filter((x) => x !== undefined);
    if (any.length === 0) return [];
    return this.db.rows(sql`SELECT ${users.all} FROM users WHERE app_id = ${appId} AND (${join(any, " OR ")})`, users.row);
  }

  /** One INSERT of several users that skips any row whose id, login name, email or phone is taken. */
  insertManyStatement(rows: NewUser[]) {
    return this.db.rows<{ id: string }>(sql`${users.insert(rows, "internalId")} ON CONFLICT DO NOTHING RETURNING id`);
  }

  /** Overwrites an imported user's fields (bulk import rerun): a change event with a new sequence. */
  importUpdateStatement(appId: string, userId: string, fields: Partial<NewUser>, now: number) {
    return this.db.rows<{ id: string }>(
      sql`UPDATE users SET ${users.set({ ...fields, changedAt: now })}, sequence = sequence + 1 WHERE ${theUser(appId, userId)} RETURNING id`,
    );
  }

  /** A change event without other changes (a reset code was issued): ZITADEL's details.sequence. */
  bumpSequenceStatement(appId: string, userId: string, now: number) {
    return this.db.rows<{ sequence: number }>(sql`UPDATE users SET changed_at = ${now}, sequence = sequence + 1 WHERE ${theUser(appId, userId)} RETURNING sequence`);
  }

  setDisabledStatement(appId: string, userId: string, disabled: boolean, now: number) {
    return this.db.rows<{ sequence: number }>(
      sql`UPDATE users SET disabled = ${disabled}, changed_at = ${now}, sequence = sequence + 1 WHERE ${theUser(appId, userId)} RETURNING sequence`,
    );
  }

  /** Deletes the user row, which frees its login name, email and phone (for a batch with the rest). */
  deleteStatement(appId: string, userId: string) {
    return this.db.statement(sql`DELETE FROM users WHERE ${theUser(appId, userId)}`);
  }

  /** Deletes the user's reset-code row (the KV half can then never verify and expires by itself). */
  deleteResetStatement(appId: string, userId: string) {
    return this.db.statement(sql`DELETE FROM password_resets WHERE app_id = ${appId} AND user_id = ${userId}`);
  }

  /** Kills the user's reset code, for batches that change the password another way; `onlyIf` guards it. */
  clearResetStatement(appId: string, userId: string, now: number, onlyIf?: Sql) {
    return this.db.statement(sql`UPDATE password_resets SET code_id = NULL, updated_at = ${now} WHERE app_id = ${appId} AND user_id = ${userId}${andIf(onlyIf)}`);
  }
}
