// Sign-in sessions (ZITADEL SessionService v2): a session names a user (the user check) and
// records when a password check last succeeded. The password check goes through the same
// lockout guard as every sign-in. Tokens die with the password, as access tokens do.
import type { App } from "../storage/apps";
import type { Statement } from "../storage/db";
import type { SessionRow } from "../storage/sessions";
import type { User } from "../storage/users";
import { CoreError } from "./errors";
import { signInFailed } from "./events";
import { findUser, isAppAdmin, type Principal, type UserRef } from "./identity";
import { checkPassword } from "./lockout";
import { numericId } from "../lib/random";
import type { Services } from "./services";
import { acceptPassword, type CheckedUser } from "./users";

export type { SessionRow };

export interface SessionView {
  session: SessionRow;
  user: User;
}

const MAX_LIFETIME_SECONDS = 365 * 86_400;

function expiry(now: number, lifetimeSeconds: number | undefined): number | null | undefined {
  if (lifetimeSeconds === undefined) return undefined;
  if (!(lifetimeSeconds > 0) || lifetimeSeconds > MAX_LIFETIME_SECONDS) {
    throw new CoreError("invalid_input", "lifetime must be positive and at most a year", { field: "lifetime" });
  }
  return now + Math.round(lifetimeSeconds * 1000);
}

function requireAdmin(app: App, principal: Principal | null) {
  if (!isAppAdmin(principal, app)) throw new CoreError("permission_denied", "No matching permissions found");
}

/**
 * A password check for a session; a locked account answers as `wrong_password` with `locked`.
 * `write` (the session's insert or update) runs in the same D1 batch as the check's own writes
 * (core/users.ts acceptPassword), one round trip after the hash; its result is answered.
 */
async function verifyPassword<T>(svc: Services, app: App, user: User, password: string, write: (checked: CheckedUser) => Statement<T>): Promise<T> {
  if (!user.passwordHash) {
    signInFailed(svc, app, user.id, "no_password");
    throw new CoreError("no_password", "The user has no password");
  }
  const checked = { ...user, passwordHash: user.passwordHash };
  const check = await checkPassword(svc, app, checked, password);
  if (check !== "ok") {
    signInFailed(svc, app, user.id, check === "locked" ? "locked" : "wrong_password");
    throw new CoreError("wrong_password", "Password is invalid", check === "locked" ? { locked: true } : {});
  }
  return (await acceptPassword(svc, app, checked, password, write)).written;
}

/**
 * CreateSession with checks.user and, optionally, checks.password (the app's admin, as ZITADEL's
 * login UI calls it with a service account). Nothing is stored when a check fails.
 */
export async function createSession(
  svc: Services,
  app: App,
  principal: Principal | null,
  input: { user: UserRef; password?: string; lifetimeSeconds?: number },
): Promise<SessionView & { token: string }> {
  requireAdmin(app, principal);
  const now = svc.now();
  const expiresAt = expiry(now, input.lifetimeSeconds) ?? null;
  const user = await findUser(svc, app, input.user);
  if (!user) {
    if (input.password !== undefined) signInFailed(svc, app, null, "unknown_user");
    throw new CoreError("user_not_found", "User could not be found");
  }
  // With a password: stored only while the user is enabled, not locked by an admin, and has the
  // hash it was checked against, so a change, deactivation or lock that lands during the check
  // (and removes the user's sessions) is not followed by a session it never saw, as for a token.
  const create = (checked?: CheckedUser) => {
    const checkedAt = svc.now();
    const shard = svc.shard(app);
    return shard.sessions.createStatement({
      id: numericId(now),
      appId: app.id,
      userId: user.id,
      userCheckedAt: checkedAt,
      passwordCheckedAt: input.password !== undefined ? checkedAt : null,
      expiresAt,
      createdAt: now,
      changedAt: now,
    }, checked && shard.users.passwordStillGoodCondition(app.id, user.id, checked.passwordHash));
  };
  if (input.password === undefined && user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  const created = input.password !== undefined ? await verifyPassword(svc, app, user, input.password, create) : await create();
  if (!created) throw await passwordNoLongerGood(svc, app, user);
  return { session: created.session, user, token: created.token };
}

/** Why a write guarded by passwordStillGoodCondition did nothing: the user was disabled or locked, or the password changed. */
async function passwordNoLongerGood(svc: Services, app: App, user: User): Promise<CoreError> {
  const shard = svc.shard(app);
  const [current, guard] = await Promise.all([shard.users.byId(app.id, user.id), shard.guards.get(app.id, user.id)]);
  if (!current) return new CoreError("user_not_found", "User could not be found");
  if (current.disabled) return new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  // As a password check that meets a lock answers (verifyPassword).
  if (guard?.adminLocked) return new CoreError("wrong_password", "Password is invalid", { locked: true });
  return new CoreError("wrong_password", "Password is invalid");
}

/** The live session and its user, or the error for a missing, expired or foreign one. */
async function liveSession(svc: Services, app: App, sessionId: string): Promise<SessionView> {
  const shard = svc.shard(app);
  const session = await shard.sessions.get(app.id, sessionId);
  if (!session) throw new CoreError("session_not_found", "Session does not exist");
  if (session.expiresAt !== null && session.expiresAt <= svc.now()) throw new CoreError("session_expired", "Session has expired");
  const user = await shard.users.byId(app.id, session.userId);
  if (!user) throw new CoreError("session_not_found", "Session does not exist");
  return { session, user };
}

/** The session token proves the right to a session; without one, only the app's admin may act. */
function authorize(svc: Services, app: App, principal: Principal | null, session: SessionRow, token: string | undefined) {
  if (token !== undefined && token !== "") {
    if (!svc.shard(app).sessions.tokenMatches(session, token)) throw new CoreError("session_token_invalid", "Session token is invalid");
    return;
  }
  requireAdmin(app, principal);
}

/** SetSession: adds a password check and/or a new lifetime; answers a new session token. */
export async function setSession(
  svc: Services,
  app: App,
  principal: Principal | null,
  input: { sessionId: string; sessionToken: string; user?: UserRef; password?: string; lifetimeSeconds?: number },
): Promise<SessionView & { token: string }> {
  const { session, user } = await liveSession(svc, app, input.sessionId);
  authorize(svc, app, principal, session, input.sessionToken);
  if (input.user) {
    const named = await findUser(svc, app, input.user);
    if (!named || named.id !== user.id) throw new CoreError("invalid_input", "The user of a session cannot be changed", { field: "checks.user" });
  }
  const now = svc.now();
  const change: { passwordCheckedAt?: number; expiresAt?: number | null } = {};
  const expiresAt = expiry(now, input.lifetimeSeconds);
  if (expiresAt !== undefined) change.expiresAt = expiresAt;
  // A password check is recorded only while it still holds (see createSession).
  const update = (checked?: CheckedUser) => {
    const shard = svc.shard(app);
    const condition = checked && shard.users.passwordStillGoodCondition(app.id, user.id, checked.passwordHash);
    return shard.sessions.updateStatement(session, checked ? { ...change, passwordCheckedAt: svc.now() } : change, now, condition);
  };
  const updated = input.password !== undefined ? await verifyPassword(svc, app, user, input.password, update) : await update();
  if (!updated) {
    // Another change took the token first; or, with a password, the password no longer holds.
    const tokenInvalid = new CoreError("session_token_invalid", "Session token is invalid");
    if (input.password === undefined) throw tokenInvalid;
    const latest = await svc.shard(app).sessions.get(app.id, session.id);
    throw latest?.tokenHash === session.tokenHash ? await passwordNoLongerGood(svc, app, user) : tokenInvalid;
  }
  return { session: updated.session, user, token: updated.token };
}

export async function getSession(svc: Services, app: App, principal: Principal | null, sessionId: string, sessionToken: string | undefined): Promise<SessionView> {
  const view = await liveSession(svc, app, sessionId);
  authorize(svc, app, principal, view.session, sessionToken);
  return view;
}

/** DeleteSession: with the session token, or by the app's admin. An unknown session is NotFound. */
export async function deleteSession(svc: Services, app: App, principal: Principal | null, sessionId: string, sessionToken: string | undefined): Promise<SessionRow> {
  const shard = svc.shard(app);
  const session = await shard.sessions.get(app.id, sessionId);
  if (!session) throw new CoreError("session_not_found", "Session does not exist");
  authorize(svc, app, principal, session, sessionToken);
  await shard.sessions.delete(app.id, sessionId);
  return session;
}

/** ListSessions (the app's admin): live sessions, optionally only these ids and/or this user's. */
export async function listSessions(
  svc: Services,
  app: App,
  principal: Principal | null,
  filter: { ids?: string[]; userId?: string },
  limit: number,
): Promise<SessionView[]> {
  const shard = svc.shard(app);
  requireAdmin(app, principal);
  const now = svc.now();
  const rows = (await shard.sessions.list(app.id, filter, limit)).filter((s) => s.expiresAt === null || s.expiresAt > now);
  const views: SessionView[] = [];
  for (const session of rows) {
    const user = await shard.users.byId(app.id, session.userId);
    if (user) views.push({ session, user });
  }
  return views;
}
