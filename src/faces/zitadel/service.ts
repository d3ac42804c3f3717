// The UserService RPCs Latchkey serves, once, for every protocol (REST, Connect, gRPC-web): each takes the
// decoded request message and the authenticated caller, calls the core, and returns the response
// message. Only wire concerns live here: ZITADEL's field limits, oneof → core option, core
// result → message. Who may do what is decided by the core (requireUserFor, requestReset with
// `authorized`, changePassword, adminSetPassword), except ZITADEL's "user.write" rule for AddHumanUser.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type DetailsSchema,
  NotificationType,
  UserState,
  type UserSchema,
  type AddHumanUserRequest,
  AddHumanUserResponseSchema,
  type DeactivateUserRequest,
  DeactivateUserResponseSchema,
  type DeleteUserRequest,
  DeleteUserResponseSchema,
  type GetUserByIDRequest,
  GetUserByIDResponseSchema,
  type PasswordResetRequest,
  PasswordResetResponseSchema,
  type LockUserRequest,
  LockUserResponseSchema,
  type ReactivateUserRequest,
  ReactivateUserResponseSchema,
  type SetPasswordRequest,
  SetPasswordResponseSchema,
  type UnlockUserRequest,
  UnlockUserResponseSchema,
} from "./protos.gen";
import { CoreError, isCoreError } from "../../core/errors";
import { E164, EMAIL, LOGIN_NAME, type Principal, requireUserFor } from "../../core/identity";
import { adminSetPassword, changePassword, completeResetFor, requestReset, type ResetDelivery } from "../../core/reset";
import type { Services } from "../../core/services";
import { deleteUser as deleteUserCore, lockUser as lockUserCore, setUserActive, unlockUser as unlockUserCore } from "../../core/lifecycle";
import { type AccountState, requireUserWithState } from "../../core/lockout";
import { type ResolvedToken, resolveToken } from "../../core/users";
import { coreErrorOf } from "../../core/shards";
import { type AddressIntent, registerWithVerification } from "../../core/verification";
import { bearerToken } from "../../http";
import type { App } from "../../core/apps";
import type { User } from "../../core/users";
import { fromCoreError, internal, invalidArgument, permissionDenied, type Rpc, unauthenticated, unavailable, ZitadelError } from "./errors";
import { logError } from "../../lib/log";

export interface Caller {
  svc: Services;
  app: App;
  principal: Principal;
  clientIp: string | null;
  /** Origin of the hosted reset page, for the default link. */
  origin: string;
}

/** ZITADEL's bearer authentication: the token names its app, whose org is the resourceOwner. */
export async function authenticateCaller(svc: Services, authorization: string | null | undefined): Promise<Omit<Caller, "clientIp" | "origin">> {
  const token = bearerToken(authorization ?? undefined);
  if (!token || token.length > 512) throw unauthenticated();
  // The token names its app, whose row names the shard that says whether the token is live.
  let resolved: ResolvedToken | null;
  try {
    resolved = await resolveToken(svc, token);
  } catch (e) {
    const core = coreErrorOf(e);
    if (core?.kind === "unavailable") throw unavailable(core);
    throw e;
  }
  if (!resolved) throw unauthenticated();
  return { svc, app: resolved.app, principal: resolved.principal };
}

/** Runs an RPC body and turns every failure into a ZitadelError; unexpected ones are logged, not shown. */
export async function guarded<T>(rpc: Rpc, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof ZitadelError) throw e;
    const core = coreErrorOf(e);
    if (core) throw fromCoreError(core, rpc);
    logError({ face: "zitadel", rpc }, e);
    throw internal();
  }
}

// ZITADEL's protoc-gen-validate limits, which connect-es does not enforce.
export function text(value: string | undefined, field: string, min: number, max: number): string {
  const length = value === undefined ? 0 : [...value].length;
  if (value === undefined || length < min || length > max) {
    throw invalidArgument(`${field} must be ${min === max ? min : `${min} to ${max}`} characters long`);
  }
  return value;
}
export const optionalText = (value: string | undefined, field: string, min: number, max: number) =>
  value === undefined ? undefined : text(value, field, min, max);

/**
 * Names end up in emails, headers, logs and other products' screens: no control characters (C0,
 * DEL, C1 — CR, LF, NUL, ESC among them), no lone surrogates, and no bidirectional embeddings,
 * overrides or isolates (U+202A–U+202E, U+2066–U+2069), which make a name display as another.
 */
const UNSAFE_IN_NAMES = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;

function name(value: string | undefined, field: string, min: number, max: number): string {
  const checked = text(value, field, min, max);
  if (UNSAFE_IN_NAMES.test(checked)) throw invalidArgument(`${field} must not contain control characters or bidirectional overrides`);
  return checked;
}
const optionalName = (value: string | undefined, field: string, min: number, max: number) =>
  value === undefined ? undefined : name(value, field, min, max);

export const userIdOf = (value: string) => text(value, "userId", 1, 200);

function newPasswordOf(req: { newPassword?: { password: string; changeRequired: boolean } | undefined }) {
  if (!req.newPassword) throw invalidArgument("newPassword is required");
  return { password: text(req.newPassword.password, "newPassword.password", 1, 200), changeRequired: req.newPassword.changeRequired };
}

type DetailsInit = MessageInitShape<typeof DetailsSchema>;

export const details = (app: App, sequence: number, changedAt: number, createdAt?: number): DetailsInit => ({
  sequence: BigInt(sequence),
  changeDate: timestampFromMs(changedAt),
  resourceOwner: app.orgId,
  ...(createdAt !== undefined ? { creationDate: timestampFromMs(createdAt) } : {}),
});

export function passwordReset(req: PasswordResetRequest, caller: Caller) {
  return guarded("PasswordReset", async () => {
    const userId = userIdOf(req.userId);
    let delivery: ResetDelivery;
    switch (req.medium.case) {
      case "sendLink": {
        const link = req.medium.value;
        // ZITADEL sends anything but SMS (Unspecified, and values it does not know) by email.
        const channel = link.notificationType === NotificationType.SMS ? "sms" : "email";
        delivery = { via: "code_link", channel, urlTemplate: optionalText(link.urlTemplate, "sendLink.urlTemplate", 1, 200) };
        break;
      }
      case "returnCode":
        delivery = { via: "return_code" };
        break;
      default:
        delivery = { via: "code_link", channel: "email" };
    }
    const result = await requestReset(caller.svc, caller.app, {
      ref: { by: "id", value: userId },
      delivery,
      principal: caller.principal,
      clientIp: caller.clientIp,
      origin: caller.origin,
      authorized: true,
    });
    return create(PasswordResetResponseSchema, {
      details: details(caller.app, result.sequence, result.changedAt),
      ...(result.code !== undefined ? { verificationCode: result.code } : {}),
    });
  });
}

export function setPassword(req: SetPasswordRequest, caller: Caller) {
  return guarded("SetPassword", async () => {
    const userId = userIdOf(req.userId);
    const { password, changeRequired } = newPasswordOf(req);
    const { svc, app, principal } = caller;
    const verification = req.verification;
    if (verification.case === "verificationCode") text(verification.value, "verificationCode", 1, 20);
    if (verification.case === "currentPassword") text(verification.value, "currentPassword", 1, 200);
    const ref = { by: "id", value: userId } as const;
    let result;
    switch (verification.case) {
      case "verificationCode":
        // The code is the proof, as in ZITADEL: whoever holds it may use it. As in ZITADEL,
        // changeRequired applies to an admin's set only.
        result = (await completeResetFor(svc, app, ref, principal, { code: verification.value, newPassword: password, changeRequired: false })).details;
        break;
      case "currentPassword": {
        const user = await requireUserFor(svc, app, ref, principal);
        result = await changePassword(svc, app, { user, principal, oldPassword: verification.value, newPassword: password, changeRequired: false });
        break;
      }
      default: {
        const user = await requireUserFor(svc, app, ref, principal);
        result = await adminSetPassword(svc, app, { user, principal, newPassword: password, changeRequired });
      }
    }
    return create(SetPasswordResponseSchema, { details: details(app, result.sequence, result.changedAt) });
  });
}

export function addHumanUser(req: AddHumanUserRequest, caller: Caller) {
  return guarded("AddHumanUser", async () => {
    const { svc, app, principal } = caller;
    // ZITADEL requires user.write in the target org: an org owner, i.e. the app's admin token.
    if (principal.kind !== "admin") throw permissionDenied();
    const org = req.organization?.org;
    if (org?.case === "orgId" && org.value !== app.orgId) throw permissionDenied();
    if (org?.case === "orgDomain") throw invalidArgument("organization.orgDomain is not supported; use organization.orgId (the app's orgId)");

    // ZITADEL's limits (user_service.proto, user.proto): userId and username 1–200, given and
    // family name 1–200, nick and display name up to 200, preferredLanguage up to 10.
    const userId = optionalName(req.userId, "userId", 1, 200);
    const username = optionalName(req.username, "username", 1, 200);
    if (username !== undefined && !LOGIN_NAME.test(username)) throw invalidArgument("username must be 3 to 64 letters, digits or . _ @ + -");
    if (!req.profile) throw invalidArgument("profile is required");
    const givenName = name(req.profile.givenName, "profile.givenName", 1, 200);
    const familyName = name(req.profile.familyName, "profile.familyName", 1, 200);
    // Not stored, but checked like the others, so a request ZITADEL would refuse is refused here too.
    optionalName(req.profile.nickName, "profile.nickName", 0, 200);
    const displayName = optionalName(req.profile.displayName, "profile.displayName", 0, 200) || `${givenName} ${familyName}`;
    const locale = optionalText(req.profile.preferredLanguage, "profile.preferredLanguage", 0, 10) || undefined;
    if (locale !== undefined && !/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/.test(locale)) throw invalidArgument("profile.preferredLanguage must be a language tag such as en");
    if (!req.email) throw invalidArgument("email is required");
    const email = text(req.email.email, "email.email", 1, 200);
    if (!EMAIL.test(email)) throw invalidArgument("email.email is not an email address");
    let phone: string | undefined;
    if (req.phone && req.phone.phone !== "") {
      phone = text(req.phone.phone, "phone.phone", 1, 200);
      if (!E164.test(phone)) throw invalidArgument("phone.phone must be an international number such as +819012345678");
    }
    if (req.metadata.length > 0 || req.idpLinks.length > 0 || req.totpSecret !== undefined) {
      throw new CoreError("unsupported", "metadata, idpLinks and totpSecret are not supported by Latchkey");
    }
    const pw = req.passwordType;
    // An address is verified only by isVerified (the admin's word) or later by its code.
    const plan = { email: addressIntent(req.email.verification, "email"), ...(phone ? { phone: addressIntent(req.phone!.verification, "phone") } : {}) };
    const { user, emailCode, phoneCode } = await registerWithVerification(svc, app, {
      userId,
      loginName: username,
      email,
      phone,
      displayName,
      givenName,
      familyName,
      locale,
      ...(pw.case === "password" ? { password: text(pw.value.password, "password.password", 1, 200), changeRequired: pw.value.changeRequired } : {}),
      ...(pw.case === "hashedPassword" ? { passwordHash: text(pw.value.hash, "hashedPassword.hash", 1, 1024), changeRequired: pw.value.changeRequired } : {}),
    }, { principal, clientIp: caller.clientIp, origin: caller.origin, dialect: "zitadel" }, plan);
    return create(AddHumanUserResponseSchema, {
      userId: user.id,
      details: details(app, user.sequence, user.changedAt, user.createdAt),
      ...(emailCode !== undefined ? { emailCode } : {}),
      ...(phoneCode !== undefined ? { phoneCode } : {}),
    });
  });
}

/**
 * ZITADEL's verification oneof (email and phone alike): isVerified true is the caller's word;
 * returnCode hands the code back; sendCode (optionally with a URL template) or nothing sends it.
 */
export function addressIntent(
  v: { case: "isVerified"; value: boolean } | { case: "returnCode"; value: unknown } | { case: "sendCode"; value: object } | { case: undefined; value?: undefined },
  field: string,
): AddressIntent {
  switch (v.case) {
    case "isVerified":
      return v.value ? "verified" : { via: "send" };
    case "returnCode":
      return { via: "return" };
    case "sendCode":
      // Phones' sendCode has no template; email's may.
      return { via: "send", urlTemplate: optionalText((v.value as { urlTemplate?: string }).urlTemplate, `${field}.sendCode.urlTemplate`, 1, 200) };
    default:
      return { via: "send" };
  }
}

/** ZITADEL's states for a Latchkey user: disabled (Kii) is INACTIVE, locked by an admin or by the lockout is LOCKED. */
const USER_STATES: Record<AccountState, UserState> = {
  active: UserState.ACTIVE,
  initial: UserState.INITIAL,
  inactive: UserState.INACTIVE,
  locked: UserState.LOCKED,
};

export function userMessage(app: App, user: User, accountState: AccountState): MessageInitShape<typeof UserSchema> {
  const state = USER_STATES[accountState];
  const username = user.loginName ?? user.email ?? user.phone ?? user.id;
  const displayName = user.displayName ?? ([user.givenName, user.familyName].filter(Boolean).join(" ") || username);
  return {
    userId: user.id,
    details: details(app, user.sequence, user.changedAt, user.createdAt),
    state,
    username,
    loginNames: [username],
    preferredLoginName: username,
    type: {
      case: "human",
      value: {
        userId: user.id,
        state,
        username,
        loginNames: [username],
        preferredLoginName: username,
        profile: {
          givenName: user.givenName ?? "",
          familyName: user.familyName ?? "",
          displayName,
          ...(user.locale ? { preferredLanguage: user.locale } : {}),
        },
        email: { email: user.email ?? "", isVerified: user.emailVerified },
        phone: { phone: user.phone ?? "", isVerified: user.phoneVerified },
        passwordChangeRequired: user.changeRequired,
        ...(user.passwordChangedAt ? { passwordChanged: timestampFromMs(user.passwordChangedAt) } : {}),
      },
    },
  };
}

export function getUserByID(req: GetUserByIDRequest, caller: Caller) {
  return guarded("GetUserByID", async () => {
    const { user, state } = await requireUserWithState(caller.svc, caller.app, { by: "id", value: userIdOf(req.userId) }, caller.principal);
    return create(GetUserByIDResponseSchema, {
      details: details(caller.app, user.sequence, user.changedAt, user.createdAt),
      user: userMessage(caller.app, user, state),
    });
  });
}

// Lifecycle: who may do what and in which state is the core's (core/lifecycle.ts). As in ZITADEL,
// the user is looked up first, so an unknown user answers NotFound before any permission check.
const lifecycle = (rpc: Rpc, change: (svc: Services, app: App, principal: Principal, user: User) => Promise<{ sequence: number; changedAt: number }>) =>
  (req: { userId: string }, caller: Caller) =>
    guarded(rpc, async () => {
      const { svc, app, principal } = caller;
      const user = await requireUserFor(svc, app, { by: "id", value: userIdOf(req.userId) }, principal);
      const result = await change(svc, app, principal, user);
      return { details: details(app, result.sequence, result.changedAt) };
    });

export const deactivateUser = async (req: DeactivateUserRequest, caller: Caller) =>
  create(DeactivateUserResponseSchema, await lifecycle("DeactivateUser", (svc, app, p, u) => setUserActive(svc, app, p, u, false))(req, caller));
export const reactivateUser = async (req: ReactivateUserRequest, caller: Caller) =>
  create(ReactivateUserResponseSchema, await lifecycle("ReactivateUser", (svc, app, p, u) => setUserActive(svc, app, p, u, true))(req, caller));
export const lockUser = async (req: LockUserRequest, caller: Caller) => create(LockUserResponseSchema, await lifecycle("LockUser", lockUserCore)(req, caller));
export const unlockUser = async (req: UnlockUserRequest, caller: Caller) => create(UnlockUserResponseSchema, await lifecycle("UnlockUser", unlockUserCore)(req, caller));

/** DeleteUser: the details of the removal carry the user's last sequence + 1, as ZITADEL's removed event does. */
export const deleteUser = async (req: DeleteUserRequest, caller: Caller) =>
  create(
    DeleteUserResponseSchema,
    await lifecycle("DeleteUser", async (svc, app, principal, user) => {
      await deleteUserCore(svc, app, principal, user);
      return { sequence: user.sequence + 1, changedAt: svc.now() };
    })(req, caller),
  );
