// Who is calling, and which user an identifier names. Faces parse their own wire forms into
// these shapes (Kii "EMAIL:addr", ZITADEL userId), the core resolves them.
import type { App } from "../storage/apps";
import type { User } from "../storage/users";
import { CoreError } from "./errors";
import type { Services } from "./services";

export type Principal = { kind: "user"; appId: string; userId: string } | { kind: "admin"; appId: string };

export type UserRef =
  | { by: "id"; value: string }
  | { by: "email"; value: string }
  | { by: "phone"; value: string }
  | { by: "loginName"; value: string }
  | { by: "me" };

export const E164 = /^\+[1-9]\d{6,14}$/;
// No white space, control or unpaired-surrogate characters (\p{C}) anywhere in an address.
export const EMAIL = /^[^\s@\p{C}]{1,64}@[^\s@\p{C}]{1,255}$/u;
/**
 * User ids, one rule for both dialects: a ZITADEL caller may choose an id, and Kii must still be
 * able to name it in a path, where ":" introduces EMAIL:/PHONE: and "me" is the caller.
 */
export const USER_ID = /^[A-Za-z0-9._@-]{1,200}$/;
export const isValidUserId = (id: string) => USER_ID.test(id) && id !== "me";
export const LOGIN_NAME = /^[\p{L}\p{N}._@+-]{3,64}$/u;

/** Resolves a reference to a user of the app; email and phone match verified addresses only. */
export async function findUser(svc: Services, app: App, ref: UserRef, principal?: Principal | null): Promise<User | null> {
  const shard = svc.shard(app);
  switch (ref.by) {
    case "id":
      return shard.users.byId(app.id, ref.value);
    case "loginName":
      return shard.users.byLoginName(app.id, ref.value);
    case "email":
      return shard.users.byEmail(app.id, ref.value, true);
    case "phone":
      return shard.users.byPhone(app.id, ref.value, true);
    case "me":
      if (principal?.kind !== "user") throw new CoreError("unauthenticated", "'me' needs a user's access token");
      return shard.users.byId(app.id, principal.userId);
  }
}

export async function requireUser(svc: Services, app: App, ref: UserRef, principal?: Principal | null): Promise<User> {
  const user = await findUser(svc, app, ref, principal);
  if (!user) throw new CoreError("user_not_found", "User could not be found", describeRef(ref));
  return user;
}

/**
 * The user, if the principal may act on it (the app's admin, or the user itself). With
 * enumeration protection, a user the principal may not act on is answered like an unknown one:
 * anyone can register and get a token, and "not yours" would confirm that the user exists.
 */
export async function requireUserFor(svc: Services, app: App, ref: UserRef, principal: Principal | null): Promise<User> {
  const user = await requireUser(svc, app, ref, principal);
  if (!mayActOn(principal, app, user)) {
    if (app.settings.enumerationProtection) throw new CoreError("user_not_found", "User could not be found", describeRef(ref));
    throw new CoreError("permission_denied", "No matching permissions found");
  }
  return user;
}

/**
 * A user as another principal may see it: `full` when the principal may act on the user.
 * With enumeration protection, naming a user by address or login name answers like an unknown
 * user unless the caller is that user or the app's admin: such a look-up would otherwise tell
 * anyone holding a token (and anyone can register) which addresses have accounts, which the
 * reset routes are careful not to. A user id is not a secret address book, so it stays readable.
 */
export async function viewUser(svc: Services, app: App, ref: UserRef, principal: Principal | null): Promise<{ user: User; full: boolean }> {
  const user = await requireUser(svc, app, ref, principal);
  const full = mayActOn(principal, app, user);
  const byAddress = ref.by === "email" || ref.by === "phone" || ref.by === "loginName";
  if (!full && byAddress && app.settings.enumerationProtection) throw new CoreError("user_not_found", "User could not be found", describeRef(ref));
  return { user, full };
}

export function describeRef(ref: UserRef): { field: string; value: string } {
  switch (ref.by) {
    case "id":
      return { field: "userID", value: ref.value };
    case "email":
      return { field: "emailAddress", value: ref.value };
    case "phone":
      return { field: "phoneNumber", value: ref.value };
    case "loginName":
      return { field: "loginName", value: ref.value };
    case "me":
      return { field: "userID", value: "me" };
  }
}

/** Whether the principal is this app's admin (its backend, holding a client_credentials token). */
export const isAppAdmin = (principal: Principal | null | undefined, app: App): boolean => principal?.kind === "admin" && principal.appId === app.id;

/** A principal may act on a user when it is the app's admin or the user itself. */
export function mayActOn(principal: Principal | null, app: App, user: User): boolean {
  if (!principal || principal.appId !== app.id) return false;
  return principal.kind === "admin" || principal.userId === user.id;
}
