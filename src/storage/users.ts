// Users in D1. Look-ups by login name and address use lower-cased key columns so that
// uniqueness and sign-in ignore case while the stored value keeps what the user typed.
import { and, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "./db";
import { passwordResets, users } from "./schema";

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

export type UserField = "loginName" | "emailAddress" | "phoneNumber";

export const loginNameKey = (name: string) => name.normalize("NFKC").toLowerCase();
export const emailKey = (email: string) => email.toLowerCase();

export class UserStore {
  constructor(private readonly db: Database) {}

  async byId(appId: string, id: string): Promise<User | null> {
    return (await this.db.select().from(users).where(and(eq(users.appId, appId), eq(users.id, id))).get()) ?? null;
  }

  async byLoginName(appId: string, name: string): Promise<User | null> {
    const row = await this.db
      .select()
      .from(users)
      .where(and(eq(users.appId, appId), eq(users.loginNameKey, loginNameKey(name))))
      .get();
    return row ?? null;
  }

  async byEmail(appId: string, email: string, verifiedOnly: boolean): Promise<User | null> {
    const where = [eq(users.appId, appId), eq(users.emailKey, emailKey(email))];
    if (verifiedOnly) where.push(eq(users.emailVerified, true));
    return (await this.db.select().from(users).where(and(...where)).get()) ?? null;
  }

  async byPhone(appId: string, phone: string, verifiedOnly: boolean): Promise<User | null> {
    const where = [eq(users.appId, appId), eq(users.phone, phone)];
    if (verifiedOnly) where.push(eq(users.phoneVerified, true));
    return (await this.db.select().from(users).where(and(...where)).get()) ?? null;
  }

  /** Which of the unique fields of `user` another user of the same app already holds, if any. */
  async conflict(user: Pick<NewUser, "appId" | "id" | "loginNameKey" | "emailKey" | "phone">): Promise<UserField | "userId" | null> {
    // Ids are unique per app: another app's users are never looked at, so an id taken there is free here.
    const rows = await this.db
      .select({ id: users.id, loginNameKey: users.loginNameKey, emailKey: users.emailKey, phone: users.phone })
      .from(users)
      .where(
        sql`${users.appId} = ${user.appId} AND (${users.id} = ${user.id} OR ${users.loginNameKey} = ${user.loginNameKey ?? null}
          OR ${users.emailKey} = ${user.emailKey ?? null} OR ${users.phone} = ${user.phone ?? null})`,
      )
      .limit(4);
    for (const row of rows) if (row.id === user.id) return "userId";
    for (const row of rows) {
      if (user.loginNameKey && row.loginNameKey === user.loginNameKey) return "loginName";
      if (user.emailKey && row.emailKey === user.emailKey) return "emailAddress";
      if (user.phone && row.phone === user.phone) return "phoneNumber";
    }
    return null;
  }

  /** Inserts the user; false when a unique field (id, login name, email, phone) of the app was taken meanwhile. */
  async insert(user: NewUser): Promise<boolean> {
    const rows = await this.db.insert(users).values(user).onConflictDoNothing().returning({ id: users.id });
    return rows.length === 1;
  }

  /**
   * Statement that sets a new password hash: bumps the event sequence, and (with the statements
   * beside it in a batch) revokes tokens and kills any reset code. `onlyIf` makes it conditional.
   */
  setPasswordStatement(user: Pick<User, "appId" | "id">, hash: string, changeRequired: boolean, now: number, onlyIf?: SQL) {
    return this.db
      .update(users)
      .set({ passwordHash: hash, changeRequired, passwordChangedAt: now, changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(and(eq(users.appId, user.appId), eq(users.id, user.id), onlyIf))
      .returning({ sequence: users.sequence });
  }

  /**
   * SQL true while the user still has `passwordHash` (null: no password): the guard for a write
   * that was decided on the hash it read, so that a change landing in between is not overwritten.
   */
  hashUnchangedCondition(appId: string, userId: string, passwordHash: string | null) {
    return sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.appId} = ${appId} AND ${users.id} = ${userId} AND ${users.passwordHash} IS ${passwordHash})`;
  }

  /** Upgrades a hash made with old parameters; not a change the user made, so no new sequence. */
  async rehash(appId: string, userId: string, oldHash: string, newHash: string): Promise<void> {
    await this.db
      .update(users)
      .set({ passwordHash: newHash })
      .where(and(eq(users.appId, appId), eq(users.id, userId), eq(users.passwordHash, oldHash)));
  }

  /**
   * The app's users holding any of these ids, login-name keys or email keys (bulk import). D1
   * binds at most 100 parameters: callers keep the three lists to 33 entries together at most.
   */
  async findForImport(appId: string, ids: string[], loginNameKeys: string[], emailKeys: string[]): Promise<User[]> {
    const any = [
      ids.length ? inArray(users.id, ids) : undefined,
      loginNameKeys.length ? inArray(users.loginNameKey, loginNameKeys) : undefined,
      emailKeys.length ? inArray(users.emailKey, emailKeys) : undefined,
    ].filter((x) => x !== undefined);
    if (any.length === 0) return [];
    return this.db.select().from(users).where(and(eq(users.appId, appId), or(...any))).all();
  }

  /** One INSERT of several users that skips any row whose id, login name, email or phone is taken. */
  insertManyStatement(rows: NewUser[]) {
    return this.db.insert(users).values(rows).onConflictDoNothing().returning({ id: users.id });
  }

  /** Overwrites an imported user's fields (bulk import rerun): a change event with a new sequence. */
  importUpdateStatement(appId: string, userId: string, fields: Partial<NewUser>, now: number) {
    return this.db
      .update(users)
      .set({ ...fields, changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(and(eq(users.appId, appId), eq(users.id, userId)))
      .returning({ id: users.id });
  }

  /** A change event without other changes (a reset code was issued): ZITADEL's details.sequence. */
  bumpSequenceStatement(appId: string, userId: string, now: number) {
    return this.db
      .update(users)
      .set({ changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(and(eq(users.appId, appId), eq(users.id, userId)))
      .returning({ sequence: users.sequence });
  }

  setDisabledStatement(appId: string, userId: string, disabled: boolean, now: number) {
    return this.db
      .update(users)
      .set({ disabled, changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(and(eq(users.appId, appId), eq(users.id, userId)))
      .returning({ sequence: users.sequence });
  }

  /** Deletes the user row, which frees its login name, email and phone (for a batch with the rest). */
  deleteStatement(appId: string, userId: string) {
    return this.db.delete(users).where(and(eq(users.appId, appId), eq(users.id, userId)));
  }

  /** Deletes the user's reset-code row (the KV half can then never verify and expires by itself). */
  deleteResetStatement(appId: string, userId: string) {
    return this.db.delete(passwordResets).where(and(eq(passwordResets.appId, appId), eq(passwordResets.userId, userId)));
  }

  /** Kills the user's reset code, for batches that change the password another way; `onlyIf` guards it. */
  clearResetStatement(appId: string, userId: string, now: number, onlyIf?: SQL) {
    return this.db
      .update(passwordResets)
      .set({ codeId: null, updatedAt: now })
      .where(and(eq(passwordResets.appId, appId), eq(passwordResets.userId, userId), onlyIf));
  }
}
