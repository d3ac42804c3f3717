// D1 tables as the code sees them: each row's TypeScript shape and the column behind each field.
// The SQL in migrations/ is the schema; test/storage/schema.test.ts checks every table and column
// named here against the migrated databases. docs/storage.md explains what lives where and why.
// Timestamps are integer milliseconds since the epoch. Booleans are 0/1 integers.
import { Table } from "./db";

export interface AppRow {
  id: string; // Kii appID
  appKey: string;
  clientId: string; // unique
  clientSecretHash: string;
  orgId: string; // ZITADEL resourceOwner, unique
  name: string;
  settings: Record<string, unknown>; // JSON
  createdAt: number;
  changedAt: number;
  // The credentials before the last rotation, valid until previousValidUntil (migration 0004).
  previousAppKey: string | null;
  previousClientSecretHash: string | null;
  previousValidUntil: number | null;
  // Routing (migration 0008): the shard (USERS_{shard}) that holds the app's users, a version bumped
  // by every move, and the target shard while a move copies. Control database only: in a shard,
  // an app's row is an anchor for the foreign keys of its users (storage/shards.ts).
  shard: number;
  routingVersion: number;
  movingTo: number | null;
  movingSince: number | null;
}

export const apps = new Table<AppRow>(
  "apps",
  {
    id: "id",
    appKey: "app_key",
    clientId: "client_id",
    clientSecretHash: "client_secret_hash",
    orgId: "org_id",
    name: "name",
    settings: "settings",
    createdAt: "created_at",
    changedAt: "changed_at",
    previousAppKey: "previous_app_key",
    previousClientSecretHash: "previous_client_secret_hash",
    previousValidUntil: "previous_valid_until",
    shard: "shard",
    routingVersion: "routing_version",
    movingTo: "moving_to",
    movingSince: "moving_since",
  },
  { settings: "json" },
  { shard: 0, routingVersion: 1 },
);

export interface UserRow {
  // The rowid doubles as Kii's numeric internalUserID.
  internalId: number;
  // Unique per app, not globally (migration 0001): a caller-chosen ZITADEL userId that exists in
  // another app must not be refused, or ids would tell one tenant about another's users.
  id: string;
  appId: string;
  loginName: string | null;
  // Lower-cased copies: uniqueness and look-ups ignore case, display keeps it.
  loginNameKey: string | null;
  email: string | null;
  emailKey: string | null;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  locale: string | null;
  country: string | null;
  passwordHash: string | null;
  passwordChangedAt: number | null;
  changeRequired: boolean;
  disabled: boolean;
  sequence: number;
  createdAt: number;
  changedAt: number;
}

/** A users row to insert: the fields with a default (or null) may be left out. */
export type NewUserRow = Pick<UserRow, "id" | "appId" | "createdAt" | "changedAt"> & Partial<UserRow>;

export const users = new Table<UserRow>(
  "users",
  {
    internalId: "internal_id",
    id: "id",
    appId: "app_id",
    loginName: "login_name",
    loginNameKey: "login_name_key",
    email: "email",
    emailKey: "email_key",
    emailVerified: "email_verified",
    phone: "phone",
    phoneVerified: "phone_verified",
    displayName: "display_name",
    givenName: "given_name",
    familyName: "family_name",
    locale: "locale",
    country: "country",
    passwordHash: "password_hash",
    passwordChangedAt: "password_changed_at",
    changeRequired: "change_required",
    disabled: "disabled",
    sequence: "sequence",
    createdAt: "created_at",
    changedAt: "changed_at",
  },
  { emailVerified: "bool", phoneVerified: "bool", changeRequired: "bool", disabled: "bool" },
  { emailVerified: false, phoneVerified: false, changeRequired: false, disabled: false, sequence: 1 },
);

// access_tokens: token_hash (SHA-256 of the token, base64url), app_id, user_id (null for an app
// admin token), expires_at, created_at. Written and read by storage/tokens.ts in SQL of its own.
export interface AccessTokenRow {
  tokenHash: string;
  appId: string;
  userId: string | null;
  expiresAt: number;
  createdAt: number;
}

export const accessTokens = new Table<AccessTokenRow>("access_tokens", {
  tokenHash: "token_hash",
  appId: "app_id",
  userId: "user_id",
  expiresAt: "expires_at",
  createdAt: "created_at",
});

// The strongly consistent half of a reset code (the hash itself lives in KV, see docs/storage.md):
// which code is current for the user, until when, and how many wrong guesses were made.
export interface PasswordResetRow {
  userId: string;
  appId: string;
  codeId: string | null; // null once consumed or superseded by a password change
  expiresAt: number;
  // Attempts reserved against the current code (each one before its comparison); at
  // MAX_FAILURES the code is dead. A right guess gives its attempt back when it consumes the code.
  failures: number;
  failedAt: number;
  updatedAt: number;
}

export const passwordResets = new Table<PasswordResetRow>("password_resets", {
  userId: "user_id",
  appId: "app_id",
  codeId: "code_id",
  expiresAt: "expires_at",
  failures: "failures",
  failedAt: "failed_at",
  updatedAt: "updated_at",
});

// Address verification (migrations/0005_verification.sql): per user and channel, the address
// awaiting its owner's code (a new one while the verified address stays on `users`), the one
// current code's hash and how many guesses were reserved. See docs/storage.md.
export interface AddressVerificationRow {
  appId: string;
  userId: string;
  channel: "email" | "phone";
  address: string;
  codeId: string | null; // null once used or superseded by a change made another way
  codeHash: string | null; // HMAC-SHA256(key = code_id, code), base64url
  kind: "link" | "code" | "pin";
  expiresAt: number;
  failures: number;
  failedAt: number;
  updatedAt: number;
}

export const addressVerifications = new Table<AddressVerificationRow>("address_verifications", {
  appId: "app_id",
  userId: "user_id",
  channel: "channel",
  address: "address",
  codeId: "code_id",
  codeHash: "code_hash",
  kind: "kind",
  expiresAt: "expires_at",
  failures: "failures",
  failedAt: "failed_at",
  updatedAt: "updated_at",
});

// Per-account sign-in guard (migrations/0002_lockout.sql; docs/storage.md): password checks
// reserved against the lockout policy, the automatic lock, and an admin's lock. No foreign key:
// deleting a user deletes its row in the same batch.
export interface SignInGuardRow {
  appId: string;
  userId: string;
  // Password checks reserved since the last success or lock, within the decay window.
  attempts: number;
  lastAttemptAt: number;
  lockedUntil: number;
  // Automatic locks since the last success, reset or unlock: each one lasts twice as long.
  lockCount: number;
  adminLocked: boolean;
}

export const signInGuards = new Table<SignInGuardRow>(
  "sign_in_guards",
  {
    appId: "app_id",
    userId: "user_id",
    attempts: "attempts",
    lastAttemptAt: "last_attempt_at",
    lockedUntil: "locked_until",
    lockCount: "lock_count",
    adminLocked: "admin_locked",
  },
  { adminLocked: "bool" },
);

// ZITADEL SessionService v2 sessions (docs/storage.md). The token is stored as its SHA-256 and
// replaced at every change; a password change, disable, lock or delete removes the user's sessions.
export interface SessionRow {
  id: string;
  appId: string;
  userId: string;
  tokenHash: string;
  userCheckedAt: number;
  passwordCheckedAt: number | null;
  sequence: number;
  expiresAt: number | null; // null: no lifetime was asked for
  createdAt: number;
  changedAt: number;
}

export const sessions = new Table<SessionRow>("sessions", {
  id: "id",
  appId: "app_id",
  userId: "user_id",
  tokenHash: "token_hash",
  userCheckedAt: "user_checked_at",
  passwordCheckedAt: "password_checked_at",
  sequence: "sequence",
  expiresAt: "expires_at",
  createdAt: "created_at",
  changedAt: "changed_at",
});

// Shards only (migration 0008): an app whose rows in this database must not change, while a move
// copies them away (`frozen`) or after it left (`moved`). Triggers on every user-scoped table refuse
// writes for a fenced app with `latchkey_app_moving`; `purging` lets the batch that deletes the
// left-behind rows through. See docs/storage.md, "Shards and moves". storage/shards.ts writes it.
export interface AppFenceRow {
  appId: string;
  state: "frozen" | "moved" | "purging";
  moveId: string;
  since: number;
}

export const appFences = new Table<AppFenceRow>("app_fences", { appId: "app_id", state: "state", moveId: "move_id", since: "since" });

