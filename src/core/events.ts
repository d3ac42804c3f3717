// Security events (issue 13): one per change a user or an operator would want to know about,
// emitted by the core operation that made the change, so both dialects emit the same events.
// Each is one structured log line and, for an app that asked for it (settings.events), a signed
// Standard Webhooks POST through the delivery Queue (delivery/events.ts), retried and
// dead-lettered like any message. docs/events.md lists every type and field.
//
// An event names ids and facts, never a password, code, token, hash or address: the data below
// has no field that could hold one (test/security/event-secrets.test.ts runs the flows and
// scans every line and body for the values they used).
import { type EventType, wantsEvent } from "../config/events";
import type { EventMessage } from "../delivery/message";
import { logError, logEvent } from "../lib/log";
import type { App } from "../storage/apps";
import type { CodeKind } from "../storage/codes";
import type { Principal } from "./identity";
import type { Services } from "./services";

export type { EventType };

/**
 * Who caused the change: the user themself (by their token, their password, or a code sent to
 * them), the app's admin (a client_credentials token), a caller that proved nothing (a reset
 * request, a failed sign-in), Latchkey itself (the automatic lockout), or the operator
 * (ADMIN_TOKEN: the bulk import).
 */
export type Actor = "user" | "admin" | "anonymous" | "system" | "operator";

/** The surface a request came through: a dialect, the hosted pages, or the operator API. */
export type Via = "kii" | "zitadel" | "web" | "admin";

/** Where the request behind the events came from; set per request by the entry (app.ts). */
export interface EventOrigin {
  via: Via | null;
  /** The client's address (CF-Connecting-IP), canonical form; null when unknown. */
  ip: string | null;
}

export type SignInFailure = "unknown_user" | "wrong_password" | "locked" | "user_disabled" | "no_password";

/** Each type's own fields, besides appId, userId, via and ip, which every event carries. */
export interface EventFields {
  /** emailVerified / phoneVerified: null when the user has no such address. */
  "user.created": { actor: Actor; source: "registration" | "import"; emailVerified: boolean | null; phoneVerified: boolean | null };
  "user.deleted": { actor: Actor };
  "user.deactivated": { actor: Actor };
  "user.reactivated": { actor: Actor };
  /** lockedUntil: the automatic lock's end; null for an admin's lock, which holds until unlocked. */
  "user.locked": { actor: Actor; reason: "password_attempts" | "admin"; lockedUntil: string | null };
  "user.unlocked": { actor: Actor };
  "password.changed": { actor: Actor };
  "password.reset_requested": { actor: Actor; method: "email_link" | "sms_link" | "sms_pin" | "code_link" | "return_code"; channel: "email" | "sms" | null };
  "password.reset_completed": { actor: Actor; method: CodeKind };
  "signin.failed": { reason: SignInFailure };
  "address.verified": { actor: Actor; channel: "email" | "phone"; method: "code" | "admin" | "trusted" };
}

export const actorOf = (principal: Principal | null | undefined): Actor => (principal ? principal.kind : "anonymous");

/** One event, ready for the log and the queue. `userId` is null only for a sign-in naming no known user. */
function build<T extends EventType>(svc: Services, app: App, type: T, userId: string | null, fields: EventFields[T]): EventMessage {
  const { via, ip } = svc.origin;
  return {
    kind: "event",
    id: `evt_${crypto.randomUUID()}`,
    appId: app.id,
    type,
    timestamp: new Date(svc.now()).toISOString(),
    data: { appId: app.id, userId, ...fields, via, ip },
  };
}

/**
 * Logs the events now (unless `logEach` is false: the operation logs one summary line) and
 * queues those the app subscribed to, after the response (ctx.waitUntil).
 */
function publish(svc: Services, app: App, events: EventMessage[], logEach = true): void {
  if (logEach) for (const event of events) logEvent(event.type, { id: event.id, timestamp: event.timestamp, ...event.data });
  const wanted = events.filter((event) => wantsEvent(app.settings.events, event.type));
  if (wanted.length === 0) return;
  // Not awaited: the answer must not wait for the queue, nor take longer for a user with events
  // than for an unknown one (enumeration protection times a decoy against a real reset).
  svc.defer(
    svc.notifier.sendEvents(wanted).catch((e) => logError({ event: "event_queue_failed", appId: app.id, ids: wanted.map((w) => w.id) }, e)),
  );
}

export function emitEvent<T extends EventType>(svc: Services, app: App, type: T, userId: string | null, fields: EventFields[T]): void {
  publish(svc, app, [build(svc, app, type, userId, fields)]);
}

/** One event as a value, for emitEvents. */
export type EventSpec = { [T in EventType]: { type: T; userId: string | null; fields: EventFields[T] } }[EventType];

/** How many events of each type an operation emitted, for its one summary log line. */
export type EventTally = Partial<Record<EventType, number>>;

/**
 * Many events of one operation (a bulk import's batch): one queue call for all of them. With a
 * `tally`, the events are counted into it instead of logged one line each, and the operation
 * logs the tally once (logEventSummary): a 100,000-user import would otherwise write 100,000
 * lines (~28 MB) in one invocation, far past what Workers Logs keeps of one (256 KB), so the
 * lines after the first thousand or so users, its error line among them, would be lost.
 */
export function emitEvents(svc: Services, app: App, specs: EventSpec[], tally?: EventTally): void {
  const events = specs.map((spec) => build(svc, app, spec.type, spec.userId, spec.fields));
  if (tally) for (const event of events) tally[event.type] = (tally[event.type] ?? 0) + 1;
  publish(svc, app, events, !tally);
}

/** The one log line of an operation that tallied its events: counts by type, no user ids. */
export function logEventSummary(svc: Services, app: App, operation: "import", tally: EventTally): void {
  const { via, ip } = svc.origin;
  logEvent("events.summary", { timestamp: new Date(svc.now()).toISOString(), appId: app.id, operation, counts: tally, via, ip });
}

export const signInFailed = (svc: Services, app: App, userId: string | null, reason: SignInFailure) => emitEvent(svc, app, "signin.failed", userId, { reason });
