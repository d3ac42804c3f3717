// Verified addresses (SPEC §3, §8; issue 11): one mechanism for email and phone, used by both
// dialects. An address counts as verified only when its owner entered the code sent to it, or
// an app admin said so explicitly (ZITADEL isVerified), or the app trusts the addresses its Kii
// users give (settings.verification = "trusted"). A changed address stays pending until it is
// verified; until then the old verified address keeps receiving resets.
//
// Codes get the reset codes' guarantees (storage/verification.ts): drawn by rejection sampling,
// stored as hashes, expiring, single use, superseded by a newer code, at most five guesses
// evaluated per code even under concurrency, and per-address send limits shared by both dialects.
import type { App } from "../storage/apps";
import type { NewUser, User } from "../storage/users";
import type { AddressChannel, VerificationKind } from "../storage/verification";
import type { Channel, DeliveryMessage, TemplateName } from "../delivery/message";
import { isUniqueViolation, type Statement } from "../storage/db";
import type { LimitRule } from "../storage/limiter";
import { pickLocale } from "../i18n/locale";
import { DIGITS, randomString, readableToken, UPPER_ALNUM } from "../lib/random";
import { CoreError } from "./errors";
import { actorOf, emitEvent } from "./events";
import { type AnonymousCaller, anonymousLimit, throttled } from "./lockout";
import { describeRef, E164, EMAIL, findUser, isAppAdmin, mayActOn, type Principal, type UserRef, viewUser } from "./identity";
import type { ChangeDetails } from "./reset";
import type { Services, ShardStores } from "./services";
import { register, type Registration } from "./users";
import { hostedVerifyLink, linkOrigin } from "./links";
import { renderUrlTemplate } from "./url-template";

export type { AddressChannel };

/** How a code reaches the address's owner. */
export type VerificationDelivery =
  /** A message to the address; for email, a link (the hosted page, or the admin's template). */
  | { via: "send"; urlTemplate?: string | undefined }
  /** ZITADEL returnCode: the code goes back to the (admin) caller and nothing is sent. */
  | { via: "return" };

/** What a caller asks for an address: verified on their word (admins only), or a code. */
export type AddressIntent = "verified" | VerificationDelivery;

/**
 * Whose codes: Kii mails a link (a 140-bit readable token, core/links.ts) and texts 6 digits, and honours the app's
 * "trusted" setting; ZITADEL mails a 6-character code inside a link and texts 6 digits, and
 * verifies only by code or isVerified.
 */
export type Dialect = "kii" | "zitadel";

export interface VerificationContext {
  principal: Principal | null;
  clientIp: string | null;
  /** The deployment's origin for hosted links (PUBLIC_URL); an app's settings.publicUrl wins (core/links.ts). */
  origin: string;
  dialect: Dialect;
  /** Anonymous registrations are counted per client address before anything else (Kii). */
  throttle?: AnonymousCaller;
}

export interface VerificationResult extends ChangeDetails {
  /** Only for returnCode. */
  code?: string;
}

const messageChannel = (channel: AddressChannel): Channel => (channel === "email" ? "email" : "sms");
const addressOf = (user: { email?: string | null; phone?: string | null }, channel: AddressChannel) => (channel === "email" ? user.email : user.phone) ?? null;
const verifiedOf = (user: User, channel: AddressChannel) => (channel === "email" ? user.emailVerified : user.phoneVerified);
const sameAddress = (channel: AddressChannel, a: string | null, b: string | null) =>
  a !== null && b !== null && (channel === "email" ? a.toLowerCase() === b.toLowerCase() : a === b);

const addressTaken = (channel: AddressChannel) =>
  new CoreError("user_exists", "Another user already has this address", { field: channel === "email" ? "emailAddress" : "phoneNumber" });

function newCode(channel: AddressChannel, dialect: Dialect): { kind: VerificationKind; code: string } {
  if (channel === "phone") return { kind: "pin", code: randomString(6, DIGITS) };
  return dialect === "kii" ? { kind: "link", code: readableToken() } : { kind: "code", code: randomString(6, UPPER_ALNUM) };
}

function ttlSeconds(app: App, kind: VerificationKind): number {
  const c = app.settings.codes;
  return kind === "link" ? c.emailLinkTtlSeconds : kind === "pin" ? c.smsPinTtlSeconds : c.zitadelCodeTtlSeconds;
}

const sendsRefused = (retryAfterSeconds: number) => new CoreError("rate_limited", "Too many verification messages; try again later", { retryAfterSeconds });

async function enforceLimit(svc: Services, key: string, rule: LimitRule) {
  const decision = await svc.limits.hit(key, rule);
  if (!decision.allowed) throw sendsRefused(decision.retryAfterSeconds);
}

/** The per-address limit on messages to `address` (per app and channel, in both dialects alike). */
const sendLimit = (app: App, channel: AddressChannel, address: string) => ({
  key: `verify-addr:${app.id}:${channel}:${address.toLowerCase()}`,
  rule: app.settings.rateLimits.verifyPerAddress,
});

/** Counts one message to `address`. */
const countSend = (svc: Services, app: App, channel: AddressChannel, address: string) => {
  const { key, rule } = sendLimit(app, channel, address);
  return enforceLimit(svc, key, rule);
};

/** Who may choose how a code travels: returnCode and a caller's URL template are for the app's admin. */
function checkDelivery(app: App, principal: Principal | null, intent: AddressIntent) {
  if (intent === "verified" || intent.via === "return" || intent.urlTemplate !== undefined) {
    if (!isAppAdmin(principal, app)) throw new CoreError("permission_denied", "No matching permissions found");
  }
  // Reject a bad template before anything is counted or written.
  if (intent !== "verified" && intent.via === "send" && intent.urlTemplate !== undefined) {
    renderUrlTemplate(intent.urlTemplate, { UserID: "", Code: "", OrgID: "" });
  }
}

function checkAddress(channel: AddressChannel, address: string) {
  const ok = channel === "email" ? address.length <= 254 && EMAIL.test(address) : E164.test(address);
  if (!ok) {
    throw new CoreError("invalid_input", channel === "email" ? "Not an email address" : "Not an international phone number such as +819012345678", {
      field: channel === "email" ? "emailAddress" : "phoneNumber",
    });
  }
}

/** A new code for one address: its statement for the caller's batch, and what to do once that batch has landed. */
interface PreparedCode {
  statement: Statement<unknown>;
  /** The message to queue (send), or the code for the caller (returnCode). */
  message: DeliveryMessage | null;
  code?: string;
}

/**
 * Draws a code for the address and composes its message, before anything is written: a message
 * that fails to render leaves no code behind that was never sent.
 */
function prepareCode(
  svc: Services,
  app: App,
  user: Pick<User, "id" | "locale">,
  channel: AddressChannel,
  address: string,
  delivery: VerificationDelivery,
  ctx: VerificationContext,
  now: number,
): PreparedCode {
  const { kind, code } = newCode(channel, ctx.dialect);
  const ttl = ttlSeconds(app, kind);
  const statement = svc.shard(app).verifications.issueStatement(app.id, user.id, channel, address, kind, code, ttl, now);
  if (delivery.via === "return") return { statement, message: null, code };
  let template: TemplateName = "verify_sms_code";
  let link = "";
  if (channel === "email") {
    template = kind === "link" ? "verify_email_link" : "verify_email_code";
    link =
      delivery.urlTemplate !== undefined
        ? renderUrlTemplate(delivery.urlTemplate, { UserID: user.id, Code: code, OrgID: app.orgId })
        : hostedVerifyLink(linkOrigin(app, ctx.origin), app, user.id, code);
  }
  const message = svc.notifier.compose({
    appId: app.id,
    userId: user.id,
    channel: messageChannel(channel),
    to: address,
    template,
    locale: pickLocale(user.locale, app.settings.defaultLocale),
    vars: { appName: app.name, ttlSeconds: ttl, code, link },
    templates: app.settings.templates,
  });
  return { statement, message };
}

/**
 * Issues a code for `address` and sends or returns it. `alsoRun` are statements for the same
 * batch (the address change that the code is for). The per-address limit must have been counted.
 */
async function issue(
  svc: Services,
  app: App,
  user: User,
  channel: AddressChannel,
  address: string,
  delivery: VerificationDelivery,
  ctx: VerificationContext,
  alsoRun: "bump" | "set_unverified",
): Promise<VerificationResult> {
  const shard = svc.shard(app);
  const now = svc.now();
  const prepared = prepareCode(svc, app, user, channel, address, delivery, ctx, now);
  const v = shard.verifications;
  const change =
    alsoRun === "bump" ? v.bumpStatement(app.id, user.id, now) : v.setAddressStatement(app.id, user.id, channel, address, false, now);
  let changed;
  try {
    [, changed] = await shard.db.batch([prepared.statement, change]);
  } catch (e) {
    if (isUniqueViolation(e)) throw addressTaken(channel);
    throw e;
  }
  const sequence = changed[0]?.sequence ?? user.sequence + 1;
  if (prepared.message) await svc.notifier.enqueue(prepared.message);
  return prepared.code === undefined ? { sequence, changedAt: now } : { sequence, changedAt: now, code: prepared.code };
}

export interface RegisteredUser {
  user: User;
  emailCode?: string;
  phoneCode?: string;
}

/**
 * Registers a user and starts verifying the addresses given. `plan` says per channel what the
 * caller asked (ZITADEL); without a plan (Kii) the app's `verification` setting decides:
 * "trusted" addresses count as verified, "required" ones are sent a code.
 */
export async function registerWithVerification(
  svc: Services,
  app: App,
  input: Registration,
  ctx: VerificationContext,
  plan?: Partial<Record<AddressChannel, AddressIntent>>,
): Promise<RegisteredUser> {
  const shard = svc.shard(app);
  const ipLimit = ctx.throttle ? anonymousLimit(app, "register", ctx.throttle) : null;
  const intents: Partial<Record<AddressChannel, AddressIntent>> = {};
  // A request that may not ask what it asks is refused once the per-IP limit has counted it.
  let refusal: unknown = null;
  try {
    for (const channel of ["email", "phone"] as const) {
      const address = channel === "email" ? input.email : input.phone;
      if (!address) continue;
      const intent = plan?.[channel] ?? (app.settings.verification[channel] === "trusted" && ctx.dialect === "kii" ? "verified" : { via: "send" });
      if (plan?.[channel]) checkDelivery(app, ctx.principal, intent);
      intents[channel] = intent;
    }
  } catch (e) {
    refusal = e;
    for (const channel of ["email", "phone"] as const) delete intents[channel];
  }
  // The per-IP limit and each address's send limit, asked at once (Limits.hitAll: a request one
  // of them refuses counts under none), before anything else: a refused send creates nothing.
  const checks: { key: string; rule: LimitRule }[] = ipLimit ? [ipLimit] : [];
  for (const channel of ["email", "phone"] as const) {
    const intent = intents[channel];
    const address = channel === "email" ? input.email : input.phone;
    if (address && intent && intent !== "verified" && intent.via === "send") checks.push(sendLimit(app, channel, address));
  }
  const limit = async () => {
    if (checks.length) {
      const decision = await svc.limits.hitAll(checks);
      if (!decision.allowed) {
        throw ipLimit && decision.refusedKeys.includes(ipLimit.key) ? throttled("register", decision.retryAfterSeconds) : sendsRefused(decision.retryAfterSeconds);
      }
    }
    if (refusal) throw refusal;
  };
  // Each address's code is written in the user's own insert batch, so the user and its codes
  // land together (one round trip); the messages are queued once they have. The codes are
  // issued at the moment the user is created.
  const codes: { channel: AddressChannel; prepared: PreparedCode }[] = [];
  const alongside = (row: NewUser) => {
    const now = row.createdAt;
    const statements: Statement<unknown>[] = [];
    for (const channel of ["email", "phone"] as const) {
      const intent = intents[channel];
      const address = addressOf(row, channel);
      if (!address || !intent || intent === "verified") continue;
      const prepared = prepareCode(svc, app, { id: row.id, locale: row.locale ?? null }, channel, address, intent, ctx, now);
      codes.push({ channel, prepared });
      statements.push(prepared.statement, shard.verifications.bumpStatement(app.id, row.id, now));
    }
    return statements;
  };
  const registered = await register(svc, app, { ...input, emailVerified: intents.email === "verified", phoneVerified: intents.phone === "verified" }, { limit, alongside });
  // Each code bumped the sequence, as a later change would; the batch's last statement is the
  // last bump, so its answer is the user's sequence as the batch left it.
  const lastBump = registered.alongside.at(-1) as { sequence: number }[] | undefined;
  const sequence = lastBump?.[0]?.sequence;
  const user = sequence === undefined ? registered.user : { ...registered.user, sequence, changedAt: registered.user.createdAt };
  // Emitted once the user exists, whatever happens to the messages below.
  emitEvent(svc, app, "user.created", user.id, {
    actor: actorOf(ctx.throttle?.principal ?? ctx.principal),
    source: "registration",
    emailVerified: user.email ? user.emailVerified : null,
    phoneVerified: user.phone ? user.phoneVerified : null,
  });
  await Promise.all(codes.map(({ prepared }) => prepared.message && svc.notifier.enqueue(prepared.message)));
  const out: RegisteredUser = { user };
  for (const { channel, prepared } of codes) if (prepared.code !== undefined) out[channel === "email" ? "emailCode" : "phoneCode"] = prepared.code;
  return out;
}

export interface ResendVerification extends VerificationContext {
  ref: UserRef;
  channel: AddressChannel;
  delivery: VerificationDelivery;
  /** ZITADEL: the caller must be the app admin or the user; Kii: anyone with the app key may ask. */
  authorized?: boolean;
}

/**
 * Sends a new code for the address awaiting verification (the pending one, or the unverified
 * current one). It supersedes the previous code; the count of wrong guesses carries over.
 */
export async function resendVerification(svc: Services, app: App, req: ResendVerification): Promise<VerificationResult> {
  const shard = svc.shard(app);
  const { channel, delivery, principal } = req;
  checkDelivery(app, principal, delivery);
  const appBackend = isAppAdmin(principal, app);
  const ipLimit = !appBackend && req.clientIp ? enforceLimit(svc, `verify-ip:${app.id}:${req.clientIp}`, app.settings.rateLimits.resetPerIp) : null;
  const [, user] = await Promise.all([ipLimit, findUser(svc, app, req.ref, principal)]);
  const pending = user ? await shard.verifications.get(app.id, user.id, channel) : null;
  const current = user ? addressOf(user, channel) : null;
  const target = pending?.address ?? (user && current && !verifiedOf(user, channel) ? current : null);
  // Counted per destination (per identifier when there is none), before any other answer, so
  // that known and unknown users are limited alike. returnCode sends nothing and is not counted.
  if (delivery.via === "send") {
    const subject = target ?? `ref:${req.ref.by}:${"value" in req.ref ? req.ref.value : ""}`;
    await countSend(svc, app, channel, subject);
  }
  const silent = app.settings.enumerationProtection && delivery.via === "send";
  if (silent && (!user || user.disabled || target === null)) {
    const now = svc.now();
    await shard.verifications.decoy(app.id, now);
    await svc.notifier.sendDecoy();
    return { sequence: 0, changedAt: now };
  }
  if (!user) throw new CoreError("user_not_found", "User could not be found", describeRef(req.ref));
  if (req.authorized && !mayActOn(principal, app, user)) throw new CoreError("permission_denied", "No matching permissions found");
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  if (target === null) {
    if (current) throw new CoreError("address_verified", `The ${channel === "email" ? "email address" : "phone number"} is already verified`, { channel });
    throw new CoreError("address_not_found", `The user has no ${channel === "email" ? "email address" : "phone number"} to verify`, { channel });
  }
  return issue(svc, app, user, channel, target, delivery, req, "bump");
}

/**
 * Checks a code for the user's address awaiting verification. A right code makes that address
 * the user's verified address (replacing the old one, for a change) and is used up; a wrong one
 * counts as a failure. Whoever holds the code may use it: the code is the proof.
 */
export async function verifyAddress(svc: Services, app: App, input: { user: User; channel: AddressChannel; code: string }): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  const { user, channel, code } = input;
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  const now = svc.now();
  const check = await shard.verifications.check(app.id, user.id, channel, code, now);
  switch (check.status) {
    case "not_found": {
      const current = addressOf(user, channel);
      if (current && verifiedOf(user, channel) && !(await shard.verifications.get(app.id, user.id, channel))) {
        throw new CoreError("address_verified", `The ${channel === "email" ? "email address" : "phone number"} is already verified`, { channel });
      }
      throw new CoreError("code_not_found", "No verification code is pending for this address", { channel });
    }
    case "exhausted":
      throw new CoreError("code_not_found", "Too many wrong codes were tried; wait an hour, then request a new code", { channel });
    case "expired":
      throw new CoreError("code_expired", "The code has expired; request a new one", { channel });
    case "invalid":
      throw new CoreError("code_invalid", check.attemptsLeft > 0 ? "The code is not valid" : "The code is not valid; it was tried too many times", {
        attemptsLeft: check.attemptsLeft,
        channel,
      });
  }
  if (await shard.verifications.addressTaken(app.id, user.id, channel, check.address)) throw addressTaken(channel);
  const v = shard.verifications;
  let changed, consumed;
  try {
    [changed, consumed] = await shard.db.batch([
      v.setAddressStatement(app.id, user.id, channel, check.address, true, now, v.liveCondition(app.id, user.id, channel, check.codeId)),
      v.consumeStatement(app.id, user.id, channel, check.codeId),
    ]);
  } catch (e) {
    // The unique index on the app's addresses: someone else took it between the check and here.
    if (isUniqueViolation(e)) throw addressTaken(channel);
    throw e;
  }
  if (consumed.length !== 1) throw new CoreError("code_not_found", "The code was already used", { channel });
  // Whoever holds the code proves to own the address it was sent to.
  emitEvent(svc, app, "address.verified", user.id, { actor: "user", channel, method: "code" });
  return { sequence: changed[0]?.sequence ?? user.sequence + 1, changedAt: now };
}

export interface ChangeAddress extends VerificationContext {
  user: User;
  channel: AddressChannel;
  address: string;
  intent: AddressIntent;
}

/**
 * Changes an address. Verified at once only on an admin's word (or where a Kii app trusts its
 * users' addresses); otherwise a code goes to the new address, and while the old address is
 * verified it stays the user's address (for sign-in and resets) until the new one is verified.
 */
export async function changeAddress(svc: Services, app: App, req: ChangeAddress): Promise<VerificationResult> {
  const shard = svc.shard(app);
  const { user, channel, address, principal } = req;
  if (!mayActOn(principal, app, user)) throw new CoreError("permission_denied", "No matching permissions found");
  checkAddress(channel, address);
  checkDelivery(app, principal, req.intent);
  if (user.disabled) throw new CoreError("user_disabled", "The user is disabled", { userID: user.id });
  const current = addressOf(user, channel);
  const currentVerified = verifiedOf(user, channel);
  const trusted = req.dialect === "kii" && app.settings.verification[channel] === "trusted";
  const verifiedNow = req.intent === "verified" || trusted;
  if (sameAddress(channel, current, address) && currentVerified) {
    throw new CoreError("address_verified", `The ${channel === "email" ? "email address" : "phone number"} is already verified`, { channel, unchanged: true });
  }
  if (await shard.verifications.addressTaken(app.id, user.id, channel, address)) throw addressTaken(channel);
  const v = shard.verifications;
  if (verifiedNow) {
    const now = svc.now();
    const [changed] = await shard.db.batch([v.setAddressStatement(app.id, user.id, channel, address, true, now), v.clearStatement(app.id, user.id, channel)]);
    emitEvent(svc, app, "address.verified", user.id, { actor: actorOf(principal), channel, method: req.intent === "verified" ? "admin" : "trusted" });
    return { sequence: changed[0]?.sequence ?? user.sequence + 1, changedAt: now };
  }
  const delivery = req.intent as VerificationDelivery;
  if (delivery.via === "send") await countSend(svc, app, channel, address);
  // An unverified current address never received resets, so nothing is lost by replacing it now.
  return issue(svc, app, user, channel, address, delivery, req, current && currentVerified ? "bump" : "set_unverified");
}

/** Removes the user's phone number, and any number awaiting verification. */
export async function removePhone(svc: Services, app: App, input: { user: User; principal: Principal | null }): Promise<ChangeDetails> {
  const shard = svc.shard(app);
  const { user, principal } = input;
  if (!mayActOn(principal, app, user)) throw new CoreError("permission_denied", "No matching permissions found");
  const pending = await shard.verifications.get(app.id, user.id, "phone");
  if (!user.phone && !pending) throw new CoreError("address_not_found", "The user has no phone number", { channel: "phone" });
  const now = svc.now();
  const v = shard.verifications;
  const [changed] = await shard.db.batch([v.setAddressStatement(app.id, user.id, "phone", null, false, now), v.clearStatement(app.id, user.id, "phone")]);
  return { sequence: changed[0]?.sequence ?? user.sequence + 1, changedAt: now };
}

type PendingRows = Awaited<ReturnType<ShardStores["verifications"]["forUser"]>>;

/** Addresses awaiting verification that differ from the user's current ones (Kii's `_…Pending`). */
export async function pendingAddresses(svc: Services, app: App, user: User, rows?: PendingRows): Promise<Partial<Record<AddressChannel, string>>> {
  const out: Partial<Record<AddressChannel, string>> = {};
  for (const row of rows ?? (await svc.shard(app).verifications.forUser(app.id, user.id))) {
    if (!sameAddress(row.channel, row.address, addressOf(user, row.channel))) out[row.channel] = row.address;
  }
  return out;
}

/**
 * viewUser, and for a caller who sees the whole user, its pending addresses. When the request
 * names the user's id (or "me" with a user's token), both are read side by side: one round trip
 * instead of two. The pending rows are only returned once viewUser has allowed it.
 */
export async function viewUserWithPending(svc: Services, app: App, ref: UserRef, principal: Principal | null, holder?: { user: User | null; verifications: PendingRows }) {
  if (ref.by === "me" && principal?.kind === "user" && holder) {
    // Read with the token (resolveToken withUser): the user whose token it is, as "me" names.
    if (!holder.user || holder.user.id !== principal.userId) throw new CoreError("user_not_found", "User could not be found", describeRef(ref));
    const full = mayActOn(principal, app, holder.user);
    return { user: holder.user, full, pending: full ? await pendingAddresses(svc, app, holder.user, holder.verifications) : {} };
  }
  const id = ref.by === "id" ? ref.value : ref.by === "me" && principal?.kind === "user" ? principal.userId : null;
  const early = id === null ? null : svc.shard(app).verifications.forUser(app.id, id);
  early?.catch(() => {}); // a refused view leaves it unread
  const { user, full } = await viewUser(svc, app, ref, principal);
  const pending = full ? await pendingAddresses(svc, app, user, user.id === id && early ? await early : undefined) : {};
  return { user, full, pending };
}
