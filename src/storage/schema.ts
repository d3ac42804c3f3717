// D1 tables. docs/storage.md explains what lives where and why; keep the two in step.
// Timestamps are integer milliseconds since the epoch. Booleans are 0/1 integers.
import { sql } from "drizzle-orm";
import { foreignKey, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const apps = sqliteTable(
  "apps",
  {
    id: text("id").primaryKey(), // Kii appID
    appKey: text("app_key").notNull(),
    clientId: text("client_id").notNull().unique(),
    clientSecretHash: text("client_secret_hash").notNull(),
    orgId: text("org_id").notNull().unique(), // ZITADEL resourceOwner
    name: text("name").notNull(),
    settings: text("settings", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull(),
    changedAt: integer("changed_at").notNull(),
    // The credentials before the last rotation, valid until previousValidUntil (migration 0004).
    previousAppKey: text("previous_app_key"),
    previousClientSecretHash: text("previous_client_secret_hash"),
    previousValidUntil: integer("previous_valid_until"),
    // Routing (migration 0008): the shard (USERS_{shard}) that holds the app's users, a version bumped
    // by every move, and the target shard while a move copies. Control database only: in a shard,
    // an app's row is an anchor for the foreign keys of its users (storage/shards.ts).
    shard: integer("shard").notNull().default(0),
    routingVersion: integer("routing_version").notNull().default(1),
    movingTo: integer("moving_to"),
    movingSince: integer("moving_since"),
  },
  (t) => [index("apps_shard").on(t.shard)],
);

export const users = sqliteTable(
  "users",
  {
    // The rowid doubles as Kii's numeric internalUserID.
    internalId: integer("internal_id").primaryKey({ autoIncrement: true }),
    // Unique per app, not globally (migration 0001): a caller-chosen ZITADEL userId that exists in
    // another app must not be refused, or ids would tell one tenant about another's users.
    id: text("id").notNull(),
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    loginName: text("login_name"),
    // Lower-cased copies: uniqueness and look-ups ignore case, display keeps it.
    loginNameKey: text("login_name_key"),
    email: text("email"),
    emailKey: text("email_key"),
    emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
    phone: text("phone"),
    phoneVerified: integer("phone_verified", { mode: "boolean" }).notNull().default(false),
    displayName: text("display_name"),
    givenName: text("given_name"),
    familyName: text("family_name"),
    locale: text("locale"),
    country: text("country"),
    passwordHash: text("password_hash"),
    passwordChangedAt: integer("password_changed_at"),
    changeRequired: integer("change_required", { mode: "boolean" }).notNull().default(false),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    sequence: integer("sequence").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    changedAt: integer("changed_at").notNull(),
  },
  (t) => [
    uniqueIndex("users_app_id").on(t.appId, t.id),
    uniqueIndex("users_app_login_name").on(t.appId, t.loginNameKey),
    uniqueIndex("users_app_email").on(t.appId, t.emailKey),
    uniqueIndex("users_app_phone").on(t.appId, t.phone),
  ],
);

export const accessTokens = sqliteTable(
  "access_tokens",
  {
    tokenHash: text("token_hash").primaryKey(), // SHA-256 of the token, base64url
    appId: text("app_id")
      .notNull()
      .references(() => apps.id, { onDelete: "cascade" }),
    // null for an app admin token (client_credentials); a user is (app_id, user_id)
    userId: text("user_id"),
    expiresAt: integer("expires_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("access_tokens_user").on(t.appId, t.userId),
    index("access_tokens_expiry").on(t.expiresAt),
    foreignKey({ columns: [t.appId, t.userId], foreignColumns: [users.appId, users.id], name: "access_tokens_user_fk" }).onDelete("cascade"),
  ],
);

// The strongly consistent half of a reset code (the hash itself lives in KV, see docs/storage.md):
// which code is current for the user, until when, and how many wrong guesses were made.
export const passwordResets = sqliteTable(
  "password_resets",
  {
    userId: text("user_id").notNull(),
    appId: text("app_id").notNull(),
    codeId: text("code_id"), // null once consumed or superseded by a password change
    expiresAt: integer("expires_at").notNull().default(0),
    // Attempts reserved against the current code (each one before its comparison); at
    // MAX_FAILURES the code is dead. A right guess gives its attempt back when it consumes the code.
    failures: integer("failures").notNull().default(0),
    failedAt: integer("failed_at").notNull().default(0),
    updatedAt: integer("updated_at")
      .notNull()
      .default(sql`0`),
  },
  (t) => [
    primaryKey({ columns: [t.appId, t.userId], name: "password_resets_pk" }),
    foreignKey({ columns: [t.appId, t.userId], foreignColumns: [users.appId, users.id], name: "password_resets_user_fk" }).onDelete("cascade"),
  ],
);

// Address verification (migrations/0005_verification.sql, hand-written): per user and channel,
// the address awaiting its owner's code (a new one while the verified address stays on `users`),
// the one current code's hash and how many guesses were reserved. See docs/storage.md.
export const addressVerifications = sqliteTable(
  "address_verifications",
  {
    appId: text("app_id").notNull(),
    userId: text("user_id").notNull(),
    channel: text("channel").notNull().$type<"email" | "phone">(),
    address: text("address").notNull(),
    codeId: text("code_id"), // null once used or superseded by a change made another way
    codeHash: text("code_hash"), // HMAC-SHA256(key = code_id, code), base64url
    kind: text("kind").notNull().default("code").$type<"link" | "code" | "pin">(),
    expiresAt: integer("expires_at").notNull().default(0),
    failures: integer("failures").notNull().default(0),
    failedAt: integer("failed_at").notNull().default(0),
    updatedAt: integer("updated_at").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.appId, t.userId, t.channel] })],
);

// Per-account sign-in guard (migrations/0002_lockout.sql; docs/storage.md): password checks
// reserved against the lockout policy, the automatic lock, and an admin's lock. No foreign key:
// deleting a user deletes its row in the same batch.
export const signInGuards = sqliteTable(
  "sign_in_guards",
  {
    appId: text("app_id").notNull(),
    userId: text("user_id").notNull(),
    // Password checks reserved since the last success or lock, within the decay window.
    attempts: integer("attempts").notNull().default(0),
    lastAttemptAt: integer("last_attempt_at").notNull().default(0),
    lockedUntil: integer("locked_until").notNull().default(0),
    // Automatic locks since the last success, reset or unlock: each one lasts twice as long.
    lockCount: integer("lock_count").notNull().default(0),
    adminLocked: integer("admin_locked", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.appId, t.userId] })],
);

// ZITADEL SessionService v2 sessions (docs/storage.md). The token is stored as its SHA-256 and
// replaced at every change; a password change, disable, lock or delete removes the user's sessions.
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    appId: text("app_id").notNull(),
    userId: text("user_id").notNull(),
    tokenHash: text("token_hash").notNull(),
    userCheckedAt: integer("user_checked_at").notNull(),
    passwordCheckedAt: integer("password_checked_at"),
    sequence: integer("sequence").notNull().default(1),
    expiresAt: integer("expires_at"), // null: no lifetime was asked for
    createdAt: integer("created_at").notNull(),
    changedAt: integer("changed_at").notNull(),
  },
  (t) => [index("sessions_app_user").on(t.appId, t.userId)],
);

// Shards only (migration 0008): an app whose rows in this database must not change, while a move
// copies them away (`frozen`) or after it left (`moved`). Triggers on every user-scoped table refuse
// writes for a fenced app with `latchkey_app_moving`; `purging` lets the batch that deletes the
// left-behind rows through. See docs/storage.md, "Shards and moves".
export const appFences = sqliteTable("app_fences", {
  appId: text("app_id").primaryKey(),
  state: text("state").notNull().$type<"frozen" | "moved" | "purging">(),
  moveId: text("move_id").notNull(),
  since: integer("since").notNull(),
});
