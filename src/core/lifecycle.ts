// A user's life after registration, for both dialects: delete, deactivate / reactivate (Kii's
// disabled flag, ZITADEL's INACTIVE) and an admin's lock / unlock (ZITADEL's LOCKED, which the
// automatic lockout of core/lockout.ts shares). Rules on states follow ZITADEL's commands.
import type { App } from "../storage/apps";
import type { User } from "../storage/users";
import { CoreError } from "./errors";
import { actorOf, emitEvent } from "./events";
import { isAppAdmin, mayActOn, type Principal } from "./identity";
import { accountState } from "./lockout";
import type { ChangeDetails } from "./reset";
import type { Services } from "./services";

type LifecycleEvent = "user.deleted" | "user.deactivated" | "user.reactivated" | "user.unlocked";

const audit = (svc: Services, type: LifecycleEvent, app: App, user: User, principal: Principal | null) =>
  emitEvent(svc, app, type, user.id, { actor: actorOf(principal) });

const requireAdmin = (app: App, principal: Principal | null) => {
  if (!isAppAdmin(principal, app)) throw new CoreError("permission_denied", "No matching permissions found");
};

/**
 * Deletes a user (the user itself or the app's admin): the row, its reset code, its lockout
 * guard and every token, in one batch. The login name, email and phone are free at once.
 */
export async function deleteUser(svc: Services, app: App, principal: Principal | null, user: User): Promise<void> {
  const shard = svc.shard(app);
  if (!mayActOn(principal, app, user)) throw new CoreError("permission_denied", "No matching permissions found");
  await shard.db.batch([
    shard.tokens.revokeUserStatement(app.id, user.id),
    shard.sessions.revokeUserStatement(app.id, user.id),
    shard.users.deleteResetStatement(app.id, user.id),
    shard.guards.deleteStatement(app.id, user.id),
    shard.users.deleteStatement(app.id, user.id),
  ]);
  audit(svc, "user.deleted", app, user, principal);
}

/**
 * ZITADEL DeactivateUser / ReactivateUser (app admin): the same flag as Kii's status route, with
 * ZITADEL's preconditions: a user without a password yet (INITIAL) cannot be deactivated, nor an
 * inactive one again; only an inactive one can be reactivated. Deactivating revokes every token.
 */
export async function setUserActive(svc: Services, app: App, principal: Principal | null, user: User, active: boolean): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  requireAdmin(app, principal);
  const state = await accountState(svc, app, user);
  if (active && state !== "inactive") throw new CoreError("state_conflict", "The user is not deactivated", { state: "not_inactive" });
  if (!active && state === "inactive") throw new CoreError("state_conflict", "The user is already deactivated", { state: "already_inactive" });
  if (!active && state === "initial") throw new CoreError("state_conflict", "A user without a password yet cannot be deactivated", { state: "initial" });
  const now = svc.now();
  let sequence: number | undefined;
  if (active) {
    sequence = (await shard.users.setDisabledStatement(app.id, user.id, false, now))[0]?.sequence;
  } else {
    const [changed] = await shard.db.batch([
      shard.users.setDisabledStatement(app.id, user.id, true, now),
      shard.tokens.revokeUserStatement(app.id, user.id),
      shard.sessions.revokeUserStatement(app.id, user.id),
    ]);
    sequence = changed[0]?.sequence;
  }
  audit(svc, active ? "user.reactivated" : "user.deactivated", app, user, principal);
  return { sequence: sequence ?? user.sequence + 1, changedAt: now };
}

/** ZITADEL LockUser (app admin): only an active or initial user; holds until UnlockUser; revokes tokens. */
export async function lockUser(svc: Services, app: App, principal: Principal | null, user: User): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  requireAdmin(app, principal);
  const state = await accountState(svc, app, user);
  if (state !== "active" && state !== "initial") throw new CoreError("state_conflict", "Only an active or initial user can be locked", { state: "not_lockable" });
  const now = svc.now();
  const [, bumped] = await shard.db.batch([
    shard.guards.adminLockStatement(app.id, user.id),
    shard.users.bumpSequenceStatement(app.id, user.id, now),
    shard.tokens.revokeUserStatement(app.id, user.id),
    shard.sessions.revokeUserStatement(app.id, user.id),
  ]);
  emitEvent(svc, app, "user.locked", user.id, { actor: actorOf(principal), reason: "admin", lockedUntil: null });
  return { sequence: bumped[0]?.sequence ?? user.sequence + 1, changedAt: now };
}

/** ZITADEL UnlockUser (app admin): ends an admin's lock and an automatic one, and forgets failures. */
export async function unlockUser(svc: Services, app: App, principal: Principal | null, user: User): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  requireAdmin(app, principal);
  if ((await accountState(svc, app, user)) !== "locked") throw new CoreError("state_conflict", "The user is not locked", { state: "not_locked" });
  const now = svc.now();
  const [, bumped] = await shard.db.batch([shard.guards.deleteStatement(app.id, user.id), shard.users.bumpSequenceStatement(app.id, user.id, now)]);
  audit(svc, "user.unlocked", app, user, principal);
  return { sequence: bumped[0]?.sequence ?? user.sequence + 1, changedAt: now };
}
