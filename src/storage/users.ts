// Users in D1. Look-ups by login name and address use lower-cased key columns so that
// uniqueness and sign-in ignore case while the stored value keeps what the user typed.
import { and, eq, type SQL, sql } from "drizzle-orm";
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

  /** Which of the unique fields of `user` another user of the app already holds, if any. */
  async conflict(user: Pick<NewUser, "appId" | "id" | "loginNameKey" | "emailKey" | "phone">): Promise<UserField | "userId" | null> {
    const rows = await this.db
      .select({ id: users.id, loginNameKey: users.loginNameKey, emailKey: users.emailKey, phone: users.phone })
      .from(users)
      .where(
        sql`${users.id} = ${user.id} OR (${users.appId} = ${user.appId} AND (${users.loginNameKey} = ${user.loginNameKey ?? null}
          OR ${users.emailKey} = ${user.emailKey ?? null} OR ${users.phone} = ${user.phone ?? null}))`,
      )
      .limit(3);
    for (const row of rows) {
      if (row.id === user.id) return "userId";
      if (user.loginNameKey && row.loginNameKey === user.loginNameKey) return "loginName";
      if (user.emailKey && row.emailKey === user.emailKey) return "emailAddress";
      if (user.phone && row.phone === user.phone) return "phoneNumber";
    }
    return null;
  }

  /** Inserts the user; false when a unique field (id, login name, email, phone) was taken meanwhile. */
  async insert(user: NewUser): Promise<boolean> {
    const rows = await this.db.insert(users).values(user).onConflictDoNothing().returning({ id: users.id });
    return rows.length === 1;
  }

  /**
   * Statement that sets a new password hash: bumps the event sequence, and (with the statements
   * beside it in a batch) revokes tokens and kills any reset code. `onlyIf` makes it conditional.
   */
  setPasswordStatement(user: User, hash: string, changeRequired: boolean, now: number, onlyIf?: SQL) {
    const where = and(eq(users.id, user.id), onlyIf);
    return this.db
      .update(users)
      .set({ passwordHash: hash, changeRequired, passwordChangedAt: now, changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(where)
      .returning({ sequence: users.sequence });
  }

  /** Upgrades a hash made with old parameters; not a change the user made, so no new sequence. */
  async rehash(userId: string, oldHash: string, newHash: string): Promise<void> {
    await this.db
      .update(users)
      .set({ passwordHash: newHash })
      .where(and(eq(users.id, userId), eq(users.passwordHash, oldHash)));
  }

  /** A change event without other changes (a reset code was issued): ZITADEL's details.sequence. */
  bumpSequenceStatement(userId: string, now: number) {
    return this.db
      .update(users)
      .set({ changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(eq(users.id, userId))
      .returning({ sequence: users.sequence });
  }

  setDisabledStatement(userId: string, disabled: boolean, now: number) {
    return this.db
      .update(users)
      .set({ disabled, changedAt: now, sequence: sql`${users.sequence} + 1` })
      .where(eq(users.id, userId))
      .returning({ sequence: users.sequence });
  }

  /** Deletes the user row, which frees its login name, email and phone (for a batch with the rest). */
  deleteStatement(appId: string, userId: string) {
    return this.db.delete(users).where(and(eq(users.appId, appId), eq(users.id, userId)));
  }

  /** Deletes the user's reset-code row (the KV half can then never verify and expires by itself). */
  deleteResetStatement(userId: string) {
    return this.db.delete(passwordResets).where(eq(passwordResets.userId, userId));
  }

  /** Kills the user's reset code, for batches that change the password another way. */
  clearResetStatement(userId: string, now: number) {
    return this.db.update(passwordResets).set({ codeId: null, updatedAt: now }).where(eq(passwordResets.userId, userId));
  }
}
