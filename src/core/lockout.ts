// Sign-in protection: the per-account lockout (SPEC §10, issue 10) and the per-IP throttles on
// anonymous sign-in and registration. authenticate() calls checkPassword; faces never see the
// guard itself, only the outcome.
import type { App } from "../storage/apps";
import type { LimitRule } from "../storage/limiter";
import type { User } from "../storage/users";
import { CoreError } from "./errors";
import { emitEvent } from "./events";
import { isAppAdmin, type Principal, requireUserFor, type UserRef } from "./identity";
import { noticeToUser } from "./notices";
import type { Services, ShardStores } from "./services";

export type PasswordCheck = "ok" | "wrong" | "locked";

/**
 * Checks a password against the user's hash under the app's lockout policy. The attempt is
 * reserved (a conditional D1 upsert) before the hash is compared, so parallel guesses can never
 * evaluate more than maxPasswordAttempts passwords per lock. While locked nothing is compared;
 * the time of one hash is still spent, so a locked account answers as slowly as any other.
 *
 * "ok" writes nothing yet: the caller ends the run of failures (guards.clearStatement) in the
 * same D1 batch as what the password was checked for, through core/users.ts acceptPassword, so a
 * sign-in costs one round trip after the hash instead of two.
 */
export async function checkPassword(svc: Services, app: App, user: User & { passwordHash: string }, password: string): Promise<PasswordCheck> {
  const shard = svc.shard(app);
  const policy = app.settings.lockout;
  const now = svc.now();
  const reservation = await shard.guards.reserve(app.id, user.id, { maxAttempts: policy.maxPasswordAttempts, decayMs: policy.failureDecaySeconds * 1000 }, now);
  if (!reservation) {
    await svc.hasher.burn(password);
    return "locked";
  }
  // Only a run of failures counts; a success (even one racing failures) starts afresh, in acceptPassword.
  if (await svc.hasher.verify(password, user.passwordHash)) return "ok";
  if (reservation.attempt >= policy.maxPasswordAttempts) {
    const lockedAt = svc.now();
    const until = await shard.guards.lock(app.id, user.id, { lockMs: policy.lockSeconds * 1000, maxLockMs: policy.maxLockSeconds * 1000 }, lockedAt);
    if (until !== null) {
      emitEvent(svc, app, "user.locked", user.id, { actor: "system", reason: "password_attempts", lockedUntil: new Date(until).toISOString() });
      if (policy.notify) notifyLocked(svc, app, user, Math.max(1, Math.ceil((until - lockedAt) / 1000)));
    }
  }
  return "wrong";
}

/** The optional notice (settings lockout.notify) of how long the lock lasts. */
const notifyLocked = (svc: Services, app: App, user: User, lockSeconds: number) =>
  noticeToUser(svc, app, user, "account_locked", { appName: app.name, ttlSeconds: lockSeconds });

export interface AnonymousCaller {
  principal: Principal | null;
  clientIp: string | null;
}

/** A per-IP limit: the key of its counter and its rule. */
export interface IpLimit {
  key: string;
  rule: LimitRule;
}

/**
 * The per-IP limit an anonymous sign-in or registration counts under; none for the app's own
 * backend (an app admin token), which acts for many users and is exempt, as for resets.
 */
export function anonymousLimit(app: App, action: "sign_in" | "register", caller: AnonymousCaller): IpLimit | null {
  if (isAppAdmin(caller.principal, app) || !caller.clientIp) return null;
  return action === "sign_in"
    ? { key: `signin-ip:${app.id}:${caller.clientIp}`, rule: app.settings.rateLimits.signInPerIp }
    : { key: `register-ip:${app.id}:${caller.clientIp}`, rule: app.settings.rateLimits.registerPerIp };
}

export const throttled = (action: "sign_in" | "register", retryAfterSeconds: number) =>
  new CoreError("rate_limited", action === "sign_in" ? "Too many sign-in attempts; try again later" : "Too many registrations; try again later", { retryAfterSeconds });

/**
 * Per-IP limits on anonymous sign-in and registration, counted before any answer depends on the
 * user and before anything is hashed, so known and unknown identifiers are limited alike and a
 * refused request costs no hash.
 */
export async function throttleAnonymous(svc: Services, app: App, action: "sign_in" | "register", caller: AnonymousCaller): Promise<void> {
  const limit = anonymousLimit(app, action, caller);
  if (!limit) return;
  const decision = await svc.limits.hit(limit.key, limit.rule);
  if (!decision.allowed) throw throttled(action, decision.retryAfterSeconds);
}

/** The state both dialects show (ZITADEL's UserState): inactive = Kii disabled. */
export type AccountState = "active" | "initial" | "inactive" | "locked";

/** The user's state; `guardRead` is the user's guard row if the caller already asked for it. */
export async function accountState(svc: Services, app: App, user: User, guardRead?: ReturnType<ShardStores["guards"]["get"]>): Promise<AccountState> {
  if (user.disabled) return "inactive";
  const guard = await (guardRead ?? svc.shard(app).guards.get(app.id, user.id));
  if (guard && (guard.adminLocked || guard.lockedUntil > svc.now())) return "locked";
  return user.passwordHash ? "active" : "initial";
}

/**
 * requireUserFor and the user's state. When the request names the user's id, the guard row is
 * read beside the user: one round trip instead of two. It is only used once the user is allowed.
 */
export async function requireUserWithState(svc: Services, app: App, ref: UserRef, principal: Principal | null): Promise<{ user: User; state: AccountState }> {
  const guard = ref.by === "id" ? svc.shard(app).guards.get(app.id, ref.value) : undefined;
  guard?.catch(() => {}); // a refused request leaves it unread
  const user = await requireUserFor(svc, app, ref, principal);
  return { user, state: await accountState(svc, app, user, ref.by === "id" && user.id === ref.value ? guard : undefined) };
}
