// Changing and resetting passwords: the rules of SPEC §8 live here, once, for both faces.
import type { App } from "../storage/apps";
import { type CodeKind, linkTag, newCodeId } from "../storage/codes";
import { emailKey, type User } from "../storage/users";
import type { LimitRule } from "../storage/limiter";
import type { Channel, TemplateName } from "../delivery/message";
import { pickLocale } from "../i18n/locale";
import { CoreError } from "./errors";
import { actorOf, emitEvent } from "./events";
import { describeRef, findUser, isAppAdmin, mayActOn, type Principal, type UserRef } from "./identity";
import { enforcePasswordPolicy } from "./policy";
import { constantTimeEqual, hmacSha256 } from "../lib/digest";
import { DIGITS, randomString, readableToken, UPPER_ALNUM } from "../lib/random";
import { hostedResetLink, linkOrigin } from "./links";
import { noticeToUser } from "./notices";
import type { Services } from "./services";
import { renderUrlTemplate } from "./url-template";

/** What a change to the user produced: ZITADEL's `details`. */
export interface ChangeDetails {
  sequence: number;
  changedAt: number;
}

export type ResetDelivery =
  | { via: "email_link" }
  | { via: "sms_link" }
  | { via: "sms_pin" }
  /** ZITADEL sendLink: a short code inside a link, by email or SMS, optionally in the caller's template. */
  | { via: "code_link"; channel: Channel; urlTemplate?: string | undefined }
  /** ZITADEL returnCode: the code goes back to the (admin) caller; nothing is sent. */
  | { via: "return_code" };

export interface ResetRequest {
  ref: UserRef;
  delivery: ResetDelivery;
  principal: Principal | null;
  clientIp: string | null;
  /** The deployment's origin for hosted links (PUBLIC_URL); an app's settings.publicUrl wins (core/links.ts). */
  origin: string;
  /**
   * Whether the dialect makes a reset request an authorized call (ZITADEL: the caller must be the
   * app admin or the user) rather than an anonymous one (Kii: anyone may ask; a token only names "me").
   */
  authorized?: boolean;
}

export interface ResetResult extends ChangeDetails {
  /** Only for return_code. */
  code?: string;
}

const channelOf = (d: ResetDelivery): Channel | null =>
  d.via === "email_link" ? "email" : d.via === "sms_link" || d.via === "sms_pin" ? "sms" : d.via === "code_link" ? d.channel : null;

function newCode(d: ResetDelivery): { kind: CodeKind; code: string } {
  switch (d.via) {
    // 140 bits (at least the SPEC's 128), in groups a person can read off the message and type
    // where the page cannot take the code from the link (core/links.ts).
    case "email_link":
      return { kind: "email_link", code: readableToken() };
    case "sms_link":
      return { kind: "sms_link", code: readableToken() };
    case "sms_pin":
      return { kind: "sms_pin", code: randomString(6, DIGITS) };
    case "code_link":
    case "return_code":
      return { kind: "code", code: randomString(6, UPPER_ALNUM) };
  }
}

function ttlSeconds(app: App, kind: CodeKind): number {
  const c = app.settings.codes;
  return kind === "email_link" ? c.emailLinkTtlSeconds : kind === "sms_link" ? c.smsLinkTtlSeconds : kind === "sms_pin" ? c.smsPinTtlSeconds : c.zitadelCodeTtlSeconds;
}

/**
 * What the last path segment of a link in the older form (before codes moved to the fragment,
 * core/links.ts) holds; such links are still accepted until they expire. Link tokens (email and SMS links, 128+ bits)
 * stand alone: nobody can guess one, so a token that is not the live one is a stale link. A short
 * code (ZITADEL's 6 characters) could be guessed, so its link also names the code it was issued
 * as (`CODE.tag`, see linkTag): the page compares a short code only when the tag names the live
 * code, so neither a stale link nor a made-up one is ever compared or counted.
 */
const LINK_TOKEN = /^[A-Za-z0-9_-]{22,128}$/;
const TAGGED_CODE = /^([A-Z0-9]{6})\.([A-Za-z0-9_-]{16})$/;

/**
 * The per-address limit's key. It protects the recipient, so for a known user it is the address
 * the message goes to; when the request names that very address (an email address for an email,
 * a phone number for an SMS), the key is that address whether or not a user has it, and is known
 * before the user is looked up. With enumeration protection it must not depend on whether the
 * user exists, so it is made from what the request names (and the channel) alone, known user or
 * not. `undefined`: the key takes the user, who has not been looked up yet (`user` undefined).
 */
function addressLimitKey(app: App, ref: UserRef, channel: Channel, user?: User | null): string | undefined {
  const named = (): string | undefined =>
    ref.by === "email"
      ? `email:${emailKey(ref.value)}`
      : ref.by === "phone"
        ? `phone:${ref.value}`
        : ref.by === "loginName"
          ? `login:${ref.value.normalize("NFKC").toLowerCase()}`
          : ref.by === "id"
            ? `id:${ref.value}`
            : user === undefined
              ? undefined
              : `me:${user?.id ?? ""}`;
  if (app.settings.enumerationProtection) {
    const key = named();
    return key && `reset-addr:${app.id}:${channel}:ref:${key}`;
  }
  // The look-up matched this address (users.byEmail, users.byPhone), so it is the user's own.
  if (channel === "email" && ref.by === "email") return `reset-addr:${app.id}:email:${emailKey(ref.value)}`;
  if (channel === "sms" && ref.by === "phone") return `reset-addr:${app.id}:sms:${ref.value}`;
  if (user === undefined) return undefined;
  if (user === null) return `reset-addr:${app.id}:ref:${named()}`;
  const target = channel === "email" ? user.email : user.phone;
  return `reset-addr:${app.id}:${channel}:${(target ?? "").toLowerCase()}`;
}

/**
 * A reset's limits, per IP and per address, each in its own object, asked at the same time (one
 * round trip); a request either refuses is counted under neither (Limits.hitAll).
 */
async function enforceLimits(svc: Services, checks: { key: string; rule: LimitRule }[]) {
  if (!checks.length) return;
  const decision = await svc.limits.hitAll(checks);
  if (!decision.allowed) {
    throw new CoreError("rate_limited", "Too many password reset requests; try again later", {
      retryAfterSeconds: decision.retryAfterSeconds,
    });
  }
}

/**
 * Issues a reset code and sends it (or returns it, for ZITADEL's returnCode). The current
 * password stays valid until the reset completes.
 */
export async function requestReset(svc: Services, app: App, req: ResetRequest): Promise<ResetResult> {
  const shard = svc.shard(app);
  const { delivery, principal } = req;
  if (delivery.via === "code_link" && delivery.urlTemplate) {
    // Only the app's admin chooses where a reset link points: a link to an attacker's site, in
    // the app's own email to the victim's address, would hand the attacker the code.
    if (!isAppAdmin(principal, app)) throw new CoreError("permission_denied", "No matching permissions found");
    // Reject a bad template before anything is counted or written.
    renderUrlTemplate(delivery.urlTemplate, { UserID: "", Code: "", OrgID: "" });
  }
  if (delivery.via === "return_code" && !isAppAdmin(principal, app)) {
    throw new CoreError("permission_denied", "No matching permissions found");
  }
  const channel = channelOf(delivery);
  const checks: { key: string; rule: LimitRule }[] = [];
  // Per-IP limits are for anonymous callers: an app's backend acting for many users is not one attacker.
  // A user's own token does not exempt them: anyone can register and would then be unlimited.
  if (!isAppAdmin(principal, app) && req.clientIp) checks.push({ key: `reset-ip:${app.id}:${req.clientIp}`, rule: app.settings.rateLimits.resetPerIp });
  // Counted before any other answer, so known and unknown addresses are limited alike.
  // returnCode sends nothing and is not counted. When the request alone names every key (the Kii
  // SDK's reset by email address does), the limits are asked while the user is looked up: one
  // round trip instead of two. The look-up is read only once the limits have let the request on.
  const early = channel ? addressLimitKey(app, req.ref, channel) : undefined;
  let user: User | null;
  if (!channel || early !== undefined) {
    if (early !== undefined) checks.push({ key: early, rule: app.settings.rateLimits.resetPerAddress });
    const found = findUser(svc, app, req.ref, principal);
    found.catch(() => {});
    await enforceLimits(svc, checks);
    user = await found;
  } else {
    user = await findUser(svc, app, req.ref, principal);
    checks.push({ key: addressLimitKey(app, req.ref, channel, user)!, rule: app.settings.rateLimits.resetPerAddress });
    await enforceLimits(svc, checks);
  }
  const address = !user
    ? null
    : channel === "email"
      ? (user.emailVerified ? user.email : null)
      : channel === "sms"
        ? (user.phoneVerified ? user.phone : null)
        : "";
  // With enumeration protection, an account that exists but cannot be reset (disabled, no
  // password, no verified address), or that the caller may not act on, must not answer
  // differently from one that does not exist.
  const silent = app.settings.enumerationProtection && delivery.via !== "return_code";
  const forbidden = !!user && !!req.authorized && !mayActOn(principal, app, user);
  if (silent && (!user || forbidden || user.disabled || !user.passwordHash || address === null)) return decoyReset(svc, app, req.ref);
  if (!user) throw new CoreError("user_not_found", "User could not be found", describeRef(req.ref));
  // After the limits: probing which ids exist costs the prober quota like any other request.
  if (forbidden) throw new CoreError("permission_denied", "No matching permissions found");
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  if (!user.passwordHash) throw new CoreError("no_password", "The user has no password to reset");
  if (address === null) {
    throw new CoreError("address_unverified", `The user has no verified ${channel === "email" ? "email address" : "phone number"}`);
  }

  const now = svc.now();
  const { kind, code } = newCode(delivery);
  const ttl = ttlSeconds(app, kind);
  const codeId = newCodeId();
  // The message is composed before anything is written: a template that fails to render must
  // not leave behind a new code that was never sent.
  const vars = { appName: app.name, ttlSeconds: ttl, code, link: "" };
  let template: TemplateName = "reset_link";
  if (kind === "sms_pin") template = "reset_pin";
  else if (delivery.via !== "return_code") {
    const urlTemplate = delivery.via === "code_link" ? (delivery.urlTemplate ?? app.settings.resetUrlTemplate) : app.settings.resetUrlTemplate;
    vars.link = urlTemplate
      ? renderUrlTemplate(urlTemplate, { UserID: user.id, Code: code, OrgID: app.orgId })
      : hostedResetLink(linkOrigin(app, req.origin), app, user.id, codeId, code);
  }
  const message =
    delivery.via === "return_code"
      ? null
      : svc.notifier.compose({
          appId: app.id,
          userId: user.id,
          channel: channel!,
          to: address!,
          template,
          locale: pickLocale(user.locale, app.settings.defaultLocale),
          vars,
          templates: app.settings.templates,
        });
  const prepared = shard.codes.prepare(app.id, user.id, kind, code, ttl, now, codeId);
  // The message is queued beside the writes rather than after them: one round trip fewer. The
  // answer still waits for both, so a 204 means the code is stored and its message handed over.
  // Should the writes fail after the send, the caller gets an error and the message carries a
  // code that was never stored, which verifies as no code at all.
  const [, [, bumped]] = await Promise.all([
    prepared.stored,
    shard.db.batch([prepared.statement, shard.users.bumpSequenceStatement(app.id, user.id, now)]),
    message && svc.notifier.enqueue(message),
  ]);
  const sequence = bumped[0]?.sequence ?? user.sequence + 1;
  emitEvent(svc, app, "password.reset_requested", user.id, { actor: actorOf(principal), method: delivery.via, channel });
  return delivery.via === "return_code" ? { sequence, changedAt: now, code } : { sequence, changedAt: now };
}

/**
 * Enumeration protection: the same kinds of work as a real request (KV write, D1 batch and queue
 * send, side by side), so that the answer takes as long. The queued decoy is dropped unsent. Its
 * result has every field a real one has: a real sequence is at least 2 (created, then this
 * code), so the decoy's is a plausible small number, fixed per app and user reference by a digest
 * keyed with the app's secret hash, which no caller knows.
 */
async function decoyReset(svc: Services, app: App, ref: UserRef): Promise<ResetResult> {
  const now = svc.now();
  await Promise.all([svc.shard(app).codes.decoy(app.id, now), svc.notifier.sendDecoy()]);
  const named = "value" in ref ? `${ref.by}:${ref.value}` : ref.by;
  const digest = hmacSha256(app.clientSecretHash, `decoy-sequence:${named}`);
  return { sequence: 2 + (((digest[0]! << 8) | digest[1]!) % 24), changedAt: now };
}

export interface CompleteReset {
  user: User;
  code: string;
  newPassword: string;
  changeRequired?: boolean;
  /** Kii refuses a new password equal to the old one. */
  refuseSamePassword?: boolean;
  /** The kinds of code this route completes (default: any); another pending kind counts as none. */
  kinds?: readonly CodeKind[];
  /** The code a hosted link was issued for (from inspectResetLink): any other live code counts as none. */
  codeId?: string;
}

/** A hosted link that is live, ready for completeResetLink. */
export interface LiveLink {
  code: string;
  codeId: string;
  kind: CodeKind;
}

/**
 * The hosted page's view of its link (the last path segment): throws `code_invalid` for a link
 * that is not the live code's (stale, or never issued), the errors of completeReset for a user
 * whose code is unusable. Nothing is counted: a link token is compared (no one can guess one), a
 * short code only has its tag compared with the live code's; the code itself is compared, and
 * counted, only by the completion.
 */
export async function inspectResetLink(svc: Services, app: App, user: User, segment: string): Promise<LiveLink> {
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  const tagged = TAGGED_CODE.exec(segment);
  const code = tagged ? tagged[1]! : segment;
  if (!tagged && !LINK_TOKEN.test(segment)) throw new CoreError("code_invalid", "This is not a reset link");
  const peek = await svc.shard(app).codes.peek(app.id, user.id, code, svc.now());
  if (peek.status !== "match" && peek.status !== "mismatch") throw unusableCode(peek.status);
  const live = tagged
    ? peek.kind === "code" && constantTimeEqual(tagged[2]!, linkTag(peek.codeId))
    : (peek.kind === "email_link" || peek.kind === "sms_link") && peek.status === "match";
  if (!live) throw new CoreError("code_invalid", "The link is not the current one");
  return { code, codeId: peek.codeId, kind: peek.kind };
}

/** A link (new form) whose tag names the live code: which code, and of what kind. */
export interface TaggedLink {
  codeId: string;
  kind: CodeKind;
}

/**
 * The hosted page's view of a link in the new form, by its tag alone (the code is in the
 * fragment, which the server never sees): throws `code_invalid` for a tag that is not the live
 * code's (an older link, or a made-up one), the errors of completeReset for a user whose code is
 * unusable. Nothing is compared or counted.
 */
export async function inspectLinkTag(svc: Services, app: App, user: User, tag: string): Promise<TaggedLink> {
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  const current = await svc.shard(app).codes.current(app.id, user.id, svc.now());
  if (current.status !== "live") throw unusableCode(current.status);
  // A PIN is never sent in a link: a tag naming one is made up.
  if (current.kind === "sms_pin" || !constantTimeEqual(tag, linkTag(current.codeId))) throw new CoreError("code_invalid", "The link is not the current one");
  return { codeId: current.codeId, kind: current.kind };
}

/**
 * The code that came with a tagged link (from the fragment, or typed by the person), ready for
 * completeResetLink; `code_invalid` when it cannot be the one. A link token is compared here, free
 * of charge: nobody guesses 140 bits, and a mistyped one should not cost the person an attempt.
 * A short code is only checked for its shape; it is compared, and counted, by the completion.
 */
export async function linkCode(svc: Services, app: App, user: User, link: TaggedLink, code: string): Promise<LiveLink> {
  if (link.kind === "code") {
    if (!/^[A-Z0-9]{6}$/.test(code)) throw new CoreError("code_invalid", "The code is not valid");
    return { code, ...link };
  }
  const peek = await svc.shard(app).codes.peek(app.id, user.id, code, svc.now());
  if (peek.status !== "match" || peek.codeId !== link.codeId) throw new CoreError("code_invalid", "The code is not valid");
  return { code, ...link };
}

/** Completes a reset from the hosted page, for the link inspectResetLink or linkCode found live. */
export function completeResetLink(svc: Services, app: App, input: { user: User; link: LiveLink; newPassword: string }): Promise<ChangeDetails> {
  return completeReset(svc, app, { user: input.user, code: input.link.code, newPassword: input.newPassword, kinds: [input.link.kind], codeId: input.link.codeId });
}

/** The error for a user whose code cannot be tried: none live, too many failures, or expired. */
function unusableCode(status: "not_found" | "exhausted" | "expired"): CoreError {
  switch (status) {
    case "not_found":
      return new CoreError("code_not_found", "No valid reset code was found for this user");
    case "exhausted":
      return new CoreError("code_not_found", "Too many wrong codes were tried recently; wait an hour, then request a new code");
    case "expired":
      return new CoreError("code_expired", "The code has expired; request a new one");
  }
}

/**
 * Completes a reset for a user named by the caller (Kii's complete-reset, ZITADEL's SetPassword
 * with a code), where whoever holds the code may use it. With enumeration protection, an unknown
 * or disabled user is answered exactly like a known one with no pending code, after the same
 * policy check, so the route tells nobody which users exist.
 */
export async function completeResetFor(
  svc: Services,
  app: App,
  ref: UserRef,
  principal: Principal | null,
  input: Omit<CompleteReset, "user" | "codeId">,
): Promise<{ user: User; details: ChangeDetails }> {
  const user = await findUser(svc, app, ref, principal);
  if (app.settings.enumerationProtection && (!user || user.disabled)) {
    await enforcePasswordPolicy(input.newPassword, app.settings.passwordPolicy);
    throw unusableCode("not_found");
  }
  if (!user) throw new CoreError("user_not_found", "User could not be found", describeRef(ref));
  return { user, details: await completeReset(svc, app, { ...input, user }) };
}

/**
 * Completes a reset with a code. Order matters (SPEC §8): the password is checked against the
 * policy before the code is even looked at, so a rejected password never burns a valid code;
 * the attempt is reserved before the code is compared (ResetCodeStore.check); the code is
 * consumed in the same D1 transaction that stores the new hash.
 */
export async function completeReset(svc: Services, app: App, input: CompleteReset): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  const { user } = input;
  await enforcePasswordPolicy(input.newPassword, app.settings.passwordPolicy);
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  const now = svc.now();
  const check = await shard.codes.check(app.id, user.id, input.code, now, { accept: input.kinds, expectCodeId: input.codeId });
  switch (check.status) {
    case "not_found":
    case "exhausted":
    case "expired":
      throw unusableCode(check.status);
    case "invalid":
      throw new CoreError(
        "code_invalid",
        check.attemptsLeft > 0 ? "The code is not valid" : "The code is not valid; it was tried too many times, so request a new one later",
        { attemptsLeft: check.attemptsLeft, userID: user.id },
      );
  }
  // The right code holds a reserved attempt: give it back unless the code is consumed below.
  let consumed = false;
  try {
    // Only after the code matched: otherwise anyone could test guesses at the current password.
    if (input.refuseSamePassword && user.passwordHash && (await svc.hasher.verify(input.newPassword, user.passwordHash))) {
      throw new CoreError("password_policy", "The new password must differ from the current one", { field: "newPassword", policy: "same_as_old" });
    }
    const hash = await svc.hasher.hash(input.newPassword);
    const live = shard.codes.liveCondition(app.id, user.id, check.codeId, now);
    const [, changed, consumedRows] = await shard.db.batch([
      shard.tokens.revokeUserStatement(app.id, user.id, live),
      shard.users.setPasswordStatement(user, hash, input.changeRequired ?? false, now, live),
      shard.codes.consumeStatement(app.id, user.id, check.codeId, now),
      // A completed reset ends an automatic lockout (not an admin's lock) and the user's sessions.
      shard.guards.clearStatement(app.id, user.id),
      shard.sessions.revokeUserStatement(app.id, user.id),
    ]);
    if (consumedRows.length !== 1) throw new CoreError("code_not_found", "The code was already used");
    consumed = true;
    svc.defer(shard.codes.forget(app.id, user.id, check.codeId));
    // Whoever holds the code proves to be the user it was sent to.
    emitEvent(svc, app, "password.reset_completed", user.id, { actor: "user", method: check.kind });
    notifyPasswordChanged(svc, app, user);
    return { sequence: changed[0]?.sequence ?? user.sequence + 1, changedAt: now };
  } finally {
    if (!consumed) await shard.codes.refund(app.id, user.id, check.codeId);
  }
}

export interface ChangePassword {
  user: User;
  principal: Principal | null;
  /** Required when the user changes their own password; absent/null lets an app admin set it. */
  oldPassword: string | null | undefined;
  newPassword: string;
  changeRequired?: boolean;
}

/** Changes a password by the user (old password) or an app admin (none); revokes every token. */
export async function changePassword(svc: Services, app: App, input: ChangePassword): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  const { user, principal } = input;
  if (!mayActOn(principal, app, user)) throw new CoreError("permission_denied", "No matching permissions found");
  const asAdmin = principal!.kind === "admin" && (input.oldPassword === undefined || input.oldPassword === null);
  if (!asAdmin && (input.oldPassword === undefined || input.oldPassword === null)) {
    throw new CoreError("invalid_input", "The current password is required", { field: "oldPassword" });
  }
  await enforcePasswordPolicy(input.newPassword, app.settings.passwordPolicy);
  if (!asAdmin) {
    if (!user.passwordHash) throw new CoreError("no_password", "The user has no password to change");
    if (!(await svc.hasher.verify(input.oldPassword!, user.passwordHash))) {
      throw new CoreError("wrong_password", "The current password is wrong", { userID: user.id });
    }
  }
  const now = svc.now();
  const hash = await svc.hasher.hash(input.newPassword);
  if (asAdmin) {
    const [changed] = await shard.db.batch([
      shard.users.setPasswordStatement(user, hash, input.changeRequired ?? false, now),
      shard.tokens.revokeUserStatement(app.id, user.id),
      shard.users.clearResetStatement(app.id, user.id, now),
      // A password set by the admin ends an automatic lockout and the user's sessions too.
      shard.guards.clearStatement(app.id, user.id),
      shard.sessions.revokeUserStatement(app.id, user.id),
    ]);
    emitEvent(svc, app, "password.changed", user.id, { actor: "admin" });
    notifyPasswordChanged(svc, app, user);
    return { sequence: changed[0]?.sequence ?? user.sequence + 1, changedAt: now };
  }
  // The old password was checked against the hash read above. A reset (or another change) may
  // have landed since: write only if that hash is still the user's, every statement guarded,
  // the password last (it ends the condition the others test).
  const unchanged = shard.users.hashUnchangedCondition(app.id, user.id, user.passwordHash);
  const [, , , , changed] = await shard.db.batch([
    shard.tokens.revokeUserStatement(app.id, user.id, unchanged),
    shard.guards.clearStatement(app.id, user.id),
    shard.sessions.revokeUserStatement(app.id, user.id),
    shard.users.clearResetStatement(app.id, user.id, now, unchanged),
    shard.users.setPasswordStatement(user, hash, input.changeRequired ?? false, now, unchanged),
  ]);
  // Lost the race: the password checked is no longer the user's, as if it had been wrong.
  if (changed.length !== 1) throw new CoreError("wrong_password", "The current password is wrong", { userID: user.id });
  emitEvent(svc, app, "password.changed", user.id, { actor: actorOf(principal) });
  notifyPasswordChanged(svc, app, user);
  return { sequence: changed[0]!.sequence, changedAt: now };
}

/**
 * Sets a password without any proof from the user (ZITADEL SetPassword with neither current
 * password nor code): only the app's admin may, never the user itself.
 */
export async function adminSetPassword(
  svc: Services,
  app: App,
  input: { user: User; principal: Principal | null; newPassword: string; changeRequired?: boolean },
): Promise<ChangeDetails> {
  if (!isAppAdmin(input.principal, app)) {
    throw new CoreError("permission_denied", "No matching permissions found");
  }
  return changePassword(svc, app, { ...input, oldPassword: null });
}

/** NIST 800-63B: tell the user after every change or reset, on a verified channel. */
const notifyPasswordChanged = (svc: Services, app: App, user: User) => noticeToUser(svc, app, user, "password_changed", { appName: app.name });
