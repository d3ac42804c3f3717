// Registration, sign-in, access tokens and account status: the operations both faces share.
import { type App } from "../storage/apps";
import { emailKey, loginNameKey, type NewUser, type User } from "../storage/users";
import type { Verification } from "../storage/verification";

export type { User };
import { constantTimeEqual, sha256Base64url } from "../lib/digest";
import { CoreError } from "./errors";
import { actorOf, emitEvent, signInFailed } from "./events";
import { findUser, isAppAdmin, isValidUserId, type Principal, type UserRef } from "./identity";
import { HashRefused, importHash } from "./hashes";
import { type AnonymousCaller, checkPassword, throttleAnonymous } from "./lockout";
import { parsePhc } from "./passwords";
import { enforcePasswordPolicy } from "./policy";
import { numericId } from "../lib/random";
import type { Services } from "./services";
import { appMoving, ensureControlReady, ensureShardReady } from "./shards";
import { isUniqueViolation, type Statement } from "../storage/db";
import { type TokenCheck, tokenApp } from "../storage/tokens";

/** A user of the app by id, or null. */
export const findUserById = (svc: Services, app: App, userId: string): Promise<User | null> => svc.shard(app).users.byId(app.id, userId);

export interface Registration {
  userId?: string;
  loginName?: string;
  email?: string;
  /** true/false from the caller (ZITADEL isVerified); undefined: the app's `verification` setting decides. */
  emailVerified?: boolean;
  phone?: string;
  phoneVerified?: boolean;
  displayName?: string;
  givenName?: string;
  familyName?: string;
  locale?: string;
  country?: string;
  password?: string;
  /** An existing hash to import instead of a password: native scrypt PHC or a format of core/hashes. */
  passwordHash?: string;
  /** Names the hash's format where the string does not (Firebase); optional otherwise. */
  hashFormat?: string;
  /** Per-import parameters of the format (Firebase: signerKey, saltSeparator, rounds, memCost, salt). */
  hashParams?: Record<string, unknown>;
  changeRequired?: boolean;
}

/** What a registration does around the user's own insert (core/verification.ts). */
export interface RegisterSteps {
  /**
   * Counts the request's limits. It goes first: only the look-up of a taken id, name or address
   * runs beside it (a read, so a refused request still changes nothing), and it is looked at, and
   * anything else done, only once the limits allow.
   */
  limit?: () => Promise<void>;
  /** Writes for the new user that go in the insert's batch, after it: one transaction, so they land only with the user. */
  alongside?: (user: NewUser) => Statement<unknown>[];
}

/** Registers a user: the new row as stored, and the results of the steps' `alongside` writes. */
export async function register(svc: Services, app: App, input: Registration, steps: RegisterSteps = {}): Promise<{ user: User; alongside: unknown[] }> {
  const shard = svc.shard(app);
  const now = svc.now();
  const limited = steps.limit?.();
  const validId = input.userId === undefined || isValidUserId(input.userId);
  const named = Boolean(input.loginName || input.email || input.phone);
  const row = newUserRow(app, input, null, now);
  const taken = validId && named ? shard.users.conflict(row) : undefined;
  // Settled below, or left unread when the limit or the input is refused.
  taken?.catch(() => {});
  await limited;
  if (!validId) {
    throw new CoreError("invalid_input", "userId may contain only letters, digits, '.', '_', '@' and '-', and must not be \"me\"", { field: "userId" });
  }
  if (!named) throw new CoreError("invalid_input", "A login name, email address or phone number is required", { field: "loginName" });
  if (input.password !== undefined) {
    await enforcePasswordPolicy(input.password, app.settings.passwordPolicy);
  } else if (input.passwordHash !== undefined) {
    row.passwordHash = acceptImportedHash(input.passwordHash, input.hashFormat, input.hashParams);
  }
  const field = await taken;
  if (field) throw userExists(field);
  // Hash only once we know the insert can succeed: the hash is the expensive part.
  if (input.password !== undefined) {
    row.passwordHash = await svc.hasher.hash(input.password);
    row.passwordChangedAt = now;
  }
  let results: unknown[];
  try {
    results = await shard.db.batch([shard.users.insertStatement(row), ...(steps.alongside?.(row) ?? [])]);
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    // A racing registration took a field since the look-up; the batch wrote nothing.
    throw userExists((await shard.users.conflict(row)) ?? "loginName");
  }
  const [inserted, ...alongside] = results;
  const user = (inserted as User[])[0];
  if (!user) throw new Error("registered user vanished");
  return { user, alongside };
}

/** The row of a new user (registration and bulk import); the password hash is decided by the caller. */
export function newUserRow(app: App, input: Registration, passwordHash: string | null, now: number): NewUser {
  // Without the caller's word (ZITADEL isVerified, an import line's verified flag), an address
  // counts as verified only where the app trusts registered addresses; otherwise
  // core/verification.ts sends it a code.
  const trust = { email: app.settings.verification.email === "trusted", phone: app.settings.verification.phone === "trusted" };
  return {
    id: input.userId ?? numericId(now),
    appId: app.id,
    loginName: input.loginName ?? null,
    loginNameKey: input.loginName ? loginNameKey(input.loginName) : null,
    email: input.email ?? null,
    emailKey: input.email ? emailKey(input.email) : null,
    emailVerified: Boolean(input.email) && (input.emailVerified ?? trust.email),
    phone: input.phone ?? null,
    phoneVerified: Boolean(input.phone) && (input.phoneVerified ?? trust.phone),
    displayName: input.displayName ?? null,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    locale: input.locale ?? null,
    country: input.country ?? null,
    passwordHash,
    passwordChangedAt: null,
    changeRequired: input.changeRequired ?? false,
    disabled: false,
    sequence: 1,
    createdAt: now,
    changedAt: now,
  };
}

/**
 * What an imported hash is stored as: a native PHC string as is, a foreign one once its format's
 * bounds are met (refused here, at import, never at sign-in). It is replaced at the first sign-in.
 */
export function acceptImportedHash(hash: string, format?: string, params?: Record<string, unknown>): string {
  if (format === undefined && parsePhc(hash)) return hash;
  try {
    return importHash(hash, format, params).stored;
  } catch (e) {
    if (e instanceof HashRefused) throw new CoreError("invalid_input", `The password hash cannot be imported: ${e.message}`, { field: "passwordHash" });
    throw e;
  }
}

/** A taken id is ZITADEL's FailedPrecondition, a taken name or address its AlreadyExists: the faces tell them apart by the field. */
const userExists = (field: string) => new CoreError("user_exists", field === "userId" ? "A user with this id already exists in the app" : "User already exists", { field });

/** How a sign-in name is read: Kii accepts a login name, an email address or "+phone". */
export function signInRef(username: string): UserRef {
  const colon = username.indexOf(":");
  const prefix = colon > 0 ? username.slice(0, colon) : "";
  if (prefix === "EMAIL") return { by: "email", value: username.slice(colon + 1) };
  if (prefix === "PHONE") return { by: "phone", value: username.slice(colon + 1) };
  if (prefix === "LOGIN_NAME") return { by: "loginName", value: username.slice(colon + 1) };
  if (username.startsWith("+")) return { by: "phone", value: username };
  if (username.includes("@")) return { by: "email", value: username };
  return { by: "loginName", value: username };
}

/** A user whose password hash a sign-in has just compared. */
export type CheckedUser = User & { passwordHash: string };

/** Checks a password; the same error (and the same time spent) for no user and a wrong password. */
export async function authenticate(svc: Services, app: App, ref: UserRef, password: string, found?: Promise<User | null>): Promise<User> {
  return (await authenticateFor(svc, app, ref, password, found)).user;
}

/** authenticate(), then `write` (a token) in the same D1 batch as the sign-in's own writes (acceptPassword). */
async function authenticateFor<T>(
  svc: Services,
  app: App,
  ref: UserRef,
  password: string,
  found?: Promise<User | null>,
  write?: (user: CheckedUser) => Statement<T>,
): Promise<{ user: CheckedUser; written?: T }> {
  const user = await (found ?? findSigningIn(svc, app, ref));
  if (!user?.passwordHash) {
    await svc.hasher.burn(password);
    // The event names no identifier for an unknown user: people type passwords into name fields.
    signInFailed(svc, app, user?.id ?? null, user ? "no_password" : "unknown_user");
    throw new CoreError("wrong_password", "The user was not found or a wrong password was provided");
  }
  // Through the lockout guard (core/lockout.ts). A locked account answers exactly like a wrong
  // password; `locked` is for dialects that name the state (ZITADEL), never shown by Kii.
  const checked = { ...user, passwordHash: user.passwordHash };
  const check = await checkPassword(svc, app, checked, password);
  if (check !== "ok") {
    signInFailed(svc, app, user.id, check === "locked" ? "locked" : "wrong_password");
    throw new CoreError("wrong_password", "The user was not found or a wrong password was provided", check === "locked" ? { locked: true } : {});
  }
  return write ? acceptPassword(svc, app, checked, password, write) : acceptPassword(svc, app, checked, password);
}

/**
 * After checkPassword said "ok", the writes of a correct password in one D1 batch (one round
 * trip, one transaction), in this order: the end of the run of failures; the rehash of a hash
 * that is not native scrypt at today's parameters (an imported foreign format, or older
 * parameters), computed first and conditional on the hash just verified, so a concurrent change
 * wins; then `write`, what the password was checked for (a token, a session), built for the user
 * as the batch leaves it (with the new hash). A disabled user gets only the first, then
 * `user_disabled`. Sign-in in both dialects and SessionService password checks come through here.
 */
export async function acceptPassword(svc: Services, app: App, user: CheckedUser, password: string): Promise<{ user: CheckedUser }>;
export async function acceptPassword<T>(
  svc: Services,
  app: App,
  user: CheckedUser,
  password: string,
  write: (user: CheckedUser) => Statement<T>,
): Promise<{ user: CheckedUser; written: T }>;
export async function acceptPassword<T>(
  svc: Services,
  app: App,
  user: CheckedUser,
  password: string,
  write?: (user: CheckedUser) => Statement<T>,
): Promise<{ user: CheckedUser; written?: T }> {
  const shard = svc.shard(app);
  // The run of failures ends only while the user still has the hash the password matched. When a
  // password change lands between the check and this batch, the old password is no success for
  // the new one: the change has ended the run itself (core/reset.ts), and failures counted since
  // are guesses at the new password. Clearing them would let whoever knows the old password wipe
  // them once per sign-in begun before the change, so parallel guesses could compare more than
  // maxPasswordAttempts passwords. The token's insert (below) fails in that case anyway.
  const writes: Statement<unknown>[] = [shard.guards.clearStatement(app.id, user.id, shard.users.hashUnchangedCondition(app.id, user.id, user.passwordHash))];
  if (user.disabled) {
    await shard.db.batch(writes);
    signInFailed(svc, app, user.id, "user_disabled");
    throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  }
  let current = user;
  if (svc.hasher.needsRehash(user.passwordHash)) {
    const upgraded = await svc.hasher.hash(password);
    writes.push(shard.users.rehashStatement(app.id, user.id, user.passwordHash, upgraded));
    // If a password change won the race, the rehash changes nothing and `write`, when it checks
    // the hash (a token does), fails.
    current = { ...user, passwordHash: upgraded };
  }
  if (!write) {
    await shard.db.batch(writes);
    return { user: current };
  }
  let last: Statement<T>;
  try {
    last = write(current);
  } catch (e) {
    // `write` refused (a token's expiry in the past): the password was still right.
    await shard.db.batch(writes);
    throw e;
  }
  const results = await shard.db.batch([...writes, last]);
  return { user: current, written: results[writes.length] as T };
}

/** The user a sign-in names. An email-looking login name is still a login name. */
async function findSigningIn(svc: Services, app: App, ref: UserRef): Promise<User | null> {
  const user = await findUser(svc, app, ref);
  return user || ref.by !== "email" ? user : svc.shard(app).users.byLoginName(app.id, ref.value);
}

/**
 * A sign-in from outside: the per-IP limit first (no hash is spent on a refused request), then
 * the password, then a token. The user is read while the limiter counts, one round trip instead
 * of two; a refused request answers as soon as the limiter does, and its read goes unused. After
 * the hash, the token is inserted in the same D1 batch as the end of the failure run.
 */
export async function signIn(
  svc: Services,
  app: App,
  ref: UserRef,
  password: string,
  caller: AnonymousCaller,
  requestedExpiry?: number,
): Promise<{ user: User; issued: IssuedToken }> {
  const found = findSigningIn(svc, app, ref);
  found.catch(() => {}); // unread when the limiter refuses
  await throttleAnonymous(svc, app, "sign_in", caller);
  const { user, written } = await authenticateFor(svc, app, ref, password, found, (checked) => userTokenStatement(svc, app, checked, requestedExpiry));
  return { user, issued: await issuedOrRefused(svc, app, user, written ?? null) };
}

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

/** Issues a user token; `requestedExpiry` (ms) is honoured up to the app's maximum lifetime. */
export async function issueUserToken(svc: Services, app: App, user: User, requestedExpiry?: number): Promise<IssuedToken> {
  if (!user.passwordHash) {
    tokenExpiry(svc, app, requestedExpiry);
    return issuedOrRefused(svc, app, user, null);
  }
  return issuedOrRefused(svc, app, user, await userTokenStatement(svc, app, { ...user, passwordHash: user.passwordHash }, requestedExpiry));
}

/** When a token asked for now expires; an expiry in the past is refused. */
function tokenExpiry(svc: Services, app: App, requestedExpiry?: number): { now: number; expiresAt: number } {
  const now = svc.now();
  const longest = now + app.settings.accessTokenLifetimeSeconds * 1000;
  if (requestedExpiry !== undefined && requestedExpiry <= now) {
    throw new CoreError("invalid_input", "expiresAt must be in the future", { field: "expiresAt" });
  }
  return { now, expiresAt: Math.min(requestedExpiry ?? longest, longest) };
}

/** The insert of a user token, issued only while the user still has the password that was just checked and is enabled. */
function userTokenStatement(svc: Services, app: App, user: CheckedUser, requestedExpiry?: number): Statement<IssuedToken | null> {
  const { now, expiresAt } = tokenExpiry(svc, app, requestedExpiry);
  return svc
    .shard(app)
    .tokens.issueForUserStatement({ appId: app.id, userId: user.id, expiresAt }, user.passwordHash, now)
    .map((token) => (token ? { token, expiresAt } : null));
}

/** The token, or why none was issued: the user was disabled or changed password since the check. */
async function issuedOrRefused(svc: Services, app: App, user: User, issued: IssuedToken | null): Promise<IssuedToken> {
  if (issued) return issued;
  const current = await svc.shard(app).users.byId(app.id, user.id);
  if (current?.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  throw new CoreError("wrong_password", "The user was not found or a wrong password was provided");
}

export const hashClientSecret = (secret: string) => sha256Base64url(secret);

/** client_credentials: an app admin token for the app's backend. */
export async function issueAdminToken(svc: Services, app: App, clientId: string, clientSecret: string): Promise<IssuedToken> {
  const idOk = constantTimeEqual(clientId, app.clientId);
  const given = hashClientSecret(clientSecret);
  // After a rotation the previous secret works until its grace period ends (core/apps.ts).
  const previousOk = !!app.previousClientSecretHash && (app.previousValidUntil ?? 0) > svc.now() && constantTimeEqual(given, app.previousClientSecretHash);
  const secretOk = constantTimeEqual(given, app.clientSecretHash) || previousOk;
  if (!idOk || !secretOk) throw new CoreError("unauthenticated", "The client credentials are not valid");
  const now = svc.now();
  const expiresAt = now + app.settings.adminTokenLifetimeSeconds * 1000;
  return { token: await svc.shard(app).tokens.issue({ appId: app.id, userId: null, expiresAt }, now), expiresAt };
}

/** A bearer token's principal and the app it belongs to. */
export interface ResolvedToken {
  principal: Principal;
  app: App;
  /**
   * With `withUser`, for a user's token: the user and its pending address verifications, read in
   * the same round trip as the token (ShardStores.resolveWithUser). Absent when they were not read
   * that way; then the caller reads them itself.
   */
  holder?: { user: User | null; verifications: Verification[] };
}

/**
 * The principal behind a bearer token, if the token is live. A token names its app
 * (`{appId}.{random}`, storage/tokens.ts); the app's row (from the control plane, which every
 * request reads anyway) names the shard, whose primary says whether the token is live. `inApp`
 * (the app a Kii path names) is where a token from before shards, which names no app, is looked
 * for; without it such a token is looked for in every shard at once (one indexed read each).
 */
export async function resolveToken(svc: Services, token: string, inApp?: App, options: { withUser?: boolean } = {}): Promise<ResolvedToken | null> {
  await ensureControlReady(svc);
  const appId = tokenApp(token);
  if (appId === null) return resolveLegacyToken(svc, token, inApp);
  if (!APP_ID.test(appId)) return null;
  let app = inApp?.id === appId ? inApp : await svc.apps.get(appId);
  if (!app) return null;
  await ensureShardReady(svc, app);
  let found: TokenCheck;
  if (options.withUser) {
    const { user, verifications, ...check } = await svc.shard(app).resolveWithUser(token, svc.now(), appId);
    if (!movedAway(check.fence)) {
      const grant = check.grant;
      if (!grant || grant.appId !== app.id) return null;
      return { principal: principalOf(grant), app, ...(grant.userId ? { holder: { user, verifications } } : {}) };
    }
    // A moved app is settled below without the prefetch: its answer here is the old shard's.
    found = check;
  } else {
    found = await svc.shard(app).tokens.resolve(token, svc.now(), appId);
  }
  if (movedAway(found.fence)) {
    // The routing this request read (perhaps from a replica) is older than a move: ask the primary.
    app = await svc.apps.getPrimary(appId);
    if (!app) return null;
    await ensureShardReady(svc, app);
    found = await svc.shard(app).tokens.resolve(token, svc.now(), appId);
    if (movedAway(found.fence)) throw appMoving();
  }
  const grant = found.grant;
  if (!grant || grant.appId !== app.id) return null;
  return { principal: principalOf(grant), app };
}

/** App ids as the operator API accepts them (faces/admin): the only shape a token's app can have. */
const APP_ID = /^[a-z0-9]{8,64}$/;
const movedAway = (fence: string | null) => fence === "moved" || fence === "purging";
const principalOf = (grant: { appId: string; userId: string | null }): Principal =>
  grant.userId ? { kind: "user", appId: grant.appId, userId: grant.userId } : { kind: "admin", appId: grant.appId };

/** Tokens issued before shards: all of them were in the one database, which an upgrade keeps as USERS_0. */
async function resolveLegacyToken(svc: Services, token: string, inApp?: App): Promise<ResolvedToken | null> {
  const now = svc.now();
  if (inApp) {
    await ensureShardReady(svc, inApp);
    const { grant, fence } = await svc.shard(inApp).tokens.resolve(token, now, inApp.id);
    if (movedAway(fence)) {
      // The app's routing was read before a move: once more with the primary's.
      const fresh = await svc.apps.getPrimary(inApp.id);
      if (fresh && fresh.shard !== inApp.shard) return resolveLegacyToken(svc, token, fresh);
      throw appMoving();
    }
    return grant && grant.appId === inApp.id ? { principal: principalOf(grant), app: inApp } : null;
  }
  // A shard behind on its schema is not asked; if the token is found nowhere else, it answers for it (503).
  const answers = await Promise.allSettled(
    svc.shards.map(async (s) => {
      await ensureShardReady(svc, { shard: s.index });
      return svc.shardAt(s.index).tokens.resolve(token, now);
    }),
  );
  for (const [index, answer] of answers.entries()) {
    const found = answer.status === "fulfilled" ? answer.value : null;
    if (!found?.grant || movedAway(found.fence)) continue;
    const app = await svc.apps.get(found.grant.appId);
    // A copy left in a shard the app no longer lives in (a move not yet purged) does not count.
    if (app && app.shard === index) return { principal: principalOf(found.grant), app };
  }
  // Not found anywhere that answered; a shard that failed might have held it, so that is a fault
  // (or, for a shard behind on its schema, a 503), not a "no".
  const failed = answers.find((a) => a.status === "rejected");
  if (failed) throw failed.reason;
  return null;
}

/** Disables or enables a user (app admin only); disabling kills every token the user holds. */
export async function setUserDisabled(svc: Services, app: App, principal: Principal | null, user: User, disabled: boolean): Promise<void> {
  const shard = svc.shard(app);
  if (!isAppAdmin(principal, app)) {
    throw new CoreError("permission_denied", "Only an app admin can change a user's status");
  }
  const now = svc.now();
  if (disabled) {
    await shard.db.batch([shard.users.setDisabledStatement(app.id, user.id, true, now), shard.tokens.revokeUserStatement(app.id, user.id), shard.sessions.revokeUserStatement(app.id, user.id)]);
  } else {
    await shard.users.setDisabledStatement(app.id, user.id, false, now);
  }
  // Kii's status route sets the flag whatever it was; only a change is an event.
  if (user.disabled !== disabled) emitEvent(svc, app, disabled ? "user.deactivated" : "user.reactivated", user.id, { actor: actorOf(principal) });
}
