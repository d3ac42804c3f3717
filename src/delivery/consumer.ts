// The delivery Queue's consumer, and the dead-letter queue's.
//
// Delivery is at least once: Queues may hand us a message twice, and a provider may accept a
// message whose answer never reaches us. Every attempt of one message therefore carries the same
// id as its idempotency key where the provider has one (webhook-id, Resend's Idempotency-Key);
// Postmark, SendGrid, Mailgun, Twilio and the send_email binding have none, so there a lost
// answer followed by a retry can still send twice (see each provider's file).
//
// Each message is acked or retried on its own, and nothing is thrown out of the handler: when
// one message fails, the others in the batch are neither lost nor sent again.
import { describeZodError } from "../config/settings";
import { type Env } from "../config/env";
import { readRuntimeConfig } from "../config/runtime";
import { type App, AppStore } from "../storage/apps";
import { openDatabase } from "../storage/db";
import { shardBindings } from "../storage/shards";
import { UserStore } from "../storage/users";
import { type Channel, type DeadLetter, type DeliveryMessage, type EventMessage, isEventMessage, openFromQueue } from "./message";
import { type EventType, wantsEvent } from "../config/events";
import { sendEvent } from "./events";
import { DeliveryFailure, permanent, type SendContext } from "./providers/http";
import { sendWith } from "./providers/index";
import { emailProviderSchema, type ProviderSettings, smsProviderSchema } from "../config/delivery";

/** A provider slower than this counts as down for the attempt. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** Backoff: about 10 s, 20 s, 40 s, ... (half of it random), never more than 15 minutes. */
const BACKOFF_BASE_SECONDS = 10;
const BACKOFF_MAX_SECONDS = 900;
/** Queues refuses delays above 12 hours. */
const QUEUE_MAX_DELAY_SECONDS = 43_200;

type Outcome = "delivered" | "retry" | "dead_letter" | "dropped";

interface OutcomeLine {
  id: string;
  appId: string;
  /** A message's channel; a security event has a `type` instead. */
  channel?: Channel;
  type?: EventType;
  provider: string;
  attempt: number;
  outcome: Outcome;
  status?: number;
  reason?: string;
  delaySeconds?: number;
  providerMessageId?: string;
}

/**
 * One JSON line per outcome. Deliberately without `to`, subject, text or html: those carry the
 * address, the link and the code.
 */
function logOutcome(line: OutcomeLine): void {
  const level = line.outcome === "delivered" || line.reason === "user_deleted" ? "info" : line.outcome === "retry" ? "warn" : "error";
  const text = JSON.stringify({ level, event: "delivery", ...line });
  if (level === "info") console.log(text);
  else if (level === "warn") console.warn(text);
  else console.error(text);
}

/** Exponential backoff with jitter, so retries of many messages do not arrive in step. */
export function backoffSeconds(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

export function retryDelaySeconds(failure: DeliveryFailure, attempt: number): number {
  const wanted = failure.retryAfterSeconds ?? backoffSeconds(attempt);
  return Math.min(QUEUE_MAX_DELAY_SECONDS, Math.max(1, wanted));
}

// The environment's defaults are parsed once per isolate and value, not once per message.
const parsedDefaults = new Map<string, ProviderSettings | DeliveryFailure>();

/**
 * DELIVERY_EMAIL / DELIVERY_SMS: a JSON object shaped like an app's settings.delivery.email/sms,
 * the default for every app that sets none. A malformed value is a permanent failure naming the
 * variable and field (never the value: it holds the provider's secret).
 */
function environmentDefault(env: Env, channel: Channel): ProviderSettings | null {
  const name = channel === "email" ? "DELIVERY_EMAIL" : "DELIVERY_SMS";
  const raw = env[name];
  if (!raw) return null;
  const key = `${channel}\n${raw}`;
  let result = parsedDefaults.get(key);
  if (!result) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = Symbol("invalid");
    }
    const parsed = typeof json === "symbol" ? null : (channel === "email" ? emailProviderSchema : smsProviderSchema).safeParse(json);
    if (parsed?.success) result = parsed.data;
    else {
      const field = parsed ? describeZodError(parsed.error, name).field : name;
      result = permanent(`invalid_environment_default:${field}`);
    }
    parsedDefaults.set(key, result);
  }
  if (result instanceof DeliveryFailure) throw result;
  return result;
}

const isDecoy = (body: unknown) => typeof body === "object" && body !== null && (body as { decoy?: unknown }).decoy === true;

type AppLookup = Pick<AppStore, "get">;
type UserLookup = { exists(appId: string, userId: string): Promise<boolean> };

/** D1 binds at most 100 parameters; one is the app's id. */
const IDS_PER_QUERY = 99;

function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  const m = body as Partial<DeliveryMessage> | null;
  return (
    typeof m === "object" &&
    m !== null &&
    typeof m.id === "string" &&
    typeof m.appId === "string" &&
    (m.channel === "email" || m.channel === "sms") &&
    typeof m.to === "string"
  );
}

/**
 * Only the queue's name tells a dead-letter batch apart (wrangler.toml: latchkey-delivery-dlq).
 * Matching the suffix keeps working for a deployment that renames its queues.
 */
export const isDeadLetterQueue = (queue: string) => queue.endsWith("-dlq");

export async function deliverBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  let development: boolean;
  let queueKey: string;
  try {
    ({ development, queueKey } = readRuntimeConfig(env));
  } catch (e) {
    // A configuration the operator must fix; the messages wait for the next deployment.
    console.error(JSON.stringify({ level: "error", event: "delivery_config", error: e instanceof Error ? e.message : "invalid configuration" }));
    for (const message of batch.messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  if (isDeadLetterQueue(batch.queue)) return recordDeadLetters(batch, queueKey);
  const ctx: SendContext = { env, development, now: () => Date.now(), timeoutMs: ATTEMPT_TIMEOUT_MS };
  // One read per app per batch, not per message: a batch is often one app's burst.
  // The control plane through a D1 session (a nearby replica may answer), as requests read it.
  const replica = typeof env.DB.withSession === "function" ? (env.DB.withSession("first-unconstrained") as unknown as D1Database) : env.DB;
  const store = new AppStore(openDatabase(env.DB), openDatabase(replica));
  const seen = new Map<string, Promise<App | null>>();
  const apps: AppLookup = {
    get(id) {
      let app = seen.get(id);
      if (!app) seen.set(id, (app = store.get(id)));
      return app;
    },
  };
  const bodies = await Promise.all(batch.messages.map((message) => openFromQueue(queueKey, message.body)));
  const users = usersStillThere(env, store, bodies);
  await Promise.all(batch.messages.map((message, i) => deliverMessage(message, bodies[i], ctx, apps, users)));
}

/**
 * Whether the users a batch's messages are for still exist, asked once per app for the whole
 * batch (one query per 99 users) rather than once per message. A user is looked for in the
 * shard its app's row names, as the primary knows it: a replica that trails a move would send
 * the look-up to a shard the user has left, and drop the message. A look-up that fails counts
 * the user as there: a message wrongly sent beats a reset message lost.
 */
function usersStillThere(env: Env, store: AppStore, bodies: readonly unknown[]): UserLookup {
  const named = new Map<string, Set<string>>();
  for (const body of bodies) {
    if (!isDeliveryMessage(body) || body.userId === undefined) continue;
    let ids = named.get(body.appId);
    if (!ids) named.set(body.appId, (ids = new Set()));
    ids.add(body.userId);
  }
  const shards = shardBindings(env);
  const present = new Map<string, Promise<Set<string> | null>>();
  for (const [appId, ids] of named) {
    const lookUp = async () => {
      const app = await store.getPrimary(appId);
      const shard = app ? shards[app.shard] : undefined;
      if (!shard) return new Set<string>();
      const found = new Set<string>();
      const list = [...ids];
      const userStore = new UserStore(openDatabase(shard.d1));
      for (let i = 0; i < list.length; i += IDS_PER_QUERY) for (const id of await userStore.existing(appId, list.slice(i, i + IDS_PER_QUERY))) found.add(id);
      return found;
    };
    present.set(appId, lookUp().catch(() => null));
  }
  return {
    exists: async (appId, userId) => {
      const found = await present.get(appId);
      return !found || found.has(userId);
    },
  };
}

async function providerFor(m: DeliveryMessage, ctx: SendContext, apps: AppLookup): Promise<ProviderSettings> {
  const app = await apps.get(m.appId);
  if (!app) throw permanent("app_not_found");
  const configured = app.settings.delivery[m.channel] ?? environmentDefault(ctx.env, m.channel);
  if (configured) return configured;
  if (ctx.development) return { provider: "outbox" };
  throw permanent(m.channel === "email" ? "no_provider:set settings.delivery.email or DELIVERY_EMAIL" : "no_provider:set settings.delivery.sms or DELIVERY_SMS");
}

async function deliverMessage(message: Message<unknown>, body: unknown, ctx: SendContext, apps: AppLookup, users: UserLookup): Promise<void> {
  if (body === null) {
    // Altered, or sealed with a QUEUE_KEY that has since changed: no retry can read it.
    console.error(JSON.stringify({ level: "error", event: "delivery", id: message.id, attempt: message.attempts, outcome: "dropped", reason: "unreadable_message" }));
    message.ack();
    return;
  }
  if (isDecoy(body)) {
    // Enumeration protection's stand-in for a real send (core/reset.ts): nothing to deliver or log.
    message.ack();
    return;
  }
  if (isEventMessage(body)) return deliverEvent(message, body, ctx, apps);
  if (!isDeliveryMessage(body)) {
    // Nothing we could ever deliver; recorded and dropped rather than retried for nothing.
    console.error(JSON.stringify({ level: "error", event: "delivery", id: message.id, attempt: message.attempts, outcome: "dropped", reason: "malformed_message" }));
    message.ack();
    return;
  }
  const base = { id: body.id, appId: body.appId, channel: body.channel, attempt: message.attempts };
  if (body.userId !== undefined && !(await users.exists(body.appId, body.userId))) {
    // Deleted while the message waited (issue 10): its code or notice is for nobody now.
    message.ack();
    logOutcome({ ...base, provider: "none", outcome: "dropped", reason: "user_deleted" });
    return;
  }
  let provider = "none";
  try {
    const settings = await providerFor(body, ctx, apps);
    provider = settings.provider;
    const sent = await sendWith(settings, body, ctx);
    message.ack();
    logOutcome({ ...base, provider, outcome: "delivered", ...(sent.providerMessageId ? { providerMessageId: sent.providerMessageId } : {}) });
  } catch (e) {
    const { id, appId, channel, template, locale, createdAt } = body;
    await failed(message, e, { ...base, provider }, (failure) => ({ id, appId, channel, template, locale, createdAt, failure }), ctx.env);
  }
}

/** The provider name security events are logged under (the app's settings.events webhook). */
const EVENT_WEBHOOK = "event_webhook";

/**
 * A security event to the app's event webhook. The app's settings are read now, not when the
 * event happened: an app that has since turned events off, dropped the type or been deleted
 * gets nothing, and a changed URL or secret applies to events still waiting.
 */
async function deliverEvent(message: Message<unknown>, event: EventMessage, ctx: SendContext, apps: AppLookup): Promise<void> {
  const base = { id: event.id, appId: event.appId, type: event.type, attempt: message.attempts, provider: EVENT_WEBHOOK };
  try {
    const app = await apps.get(event.appId);
    const settings = app?.settings.events ?? null;
    if (!app || !wantsEvent(settings, event.type)) {
      message.ack();
      logOutcome({ ...base, outcome: "dropped", reason: app ? "not_subscribed" : "app_not_found" });
      return;
    }
    await sendEvent(settings, event, ctx);
    message.ack();
    logOutcome({ ...base, outcome: "delivered" });
  } catch (e) {
    const { kind, id, appId, type, timestamp } = event;
    await failed(message, e, base, (failure) => ({ kind, id, appId, type, timestamp, failure }), ctx.env);
  }
}

const statusOf = (failure: DeliveryFailure) => (failure.status === undefined ? {} : { status: failure.status });

/**
 * After a failed attempt: retried with backoff when retrying may help, else dead-lettered.
 * Anything unforeseen (a D1 hiccup, a bug) is retried: losing a reset message is worse.
 */
async function failed(
  message: Message<unknown>,
  error: unknown,
  base: Omit<OutcomeLine, "outcome">,
  record: (failure: NonNullable<DeadLetter["failure"]>) => DeadLetter,
  env: Env,
): Promise<void> {
  const failure = error instanceof DeliveryFailure ? error : new DeliveryFailure(true, "internal_error");
  if (failure.retryable) {
    const delaySeconds = retryDelaySeconds(failure, message.attempts);
    message.retry({ delaySeconds });
    logOutcome({ ...base, outcome: "retry", reason: failure.reason, ...statusOf(failure), delaySeconds });
  } else {
    await deadLetter(message, base, record({ reason: failure.reason, provider: base.provider, attempts: message.attempts, ...statusOf(failure) }), env, failure);
  }
}

/**
 * A failure that retrying cannot fix goes to the dead-letter queue now instead of using up the
 * retries. If even that send fails, the message is retried so it is not lost.
 */
async function deadLetter(message: Message<unknown>, base: Omit<OutcomeLine, "outcome">, record: DeadLetter, env: Env, failure: DeliveryFailure): Promise<void> {
  const line = { ...base, reason: failure.reason, ...statusOf(failure) };
  try {
    if (!env.DEAD_LETTERS) throw new Error("no DEAD_LETTERS binding");
    await env.DEAD_LETTERS.send(record, { contentType: "json" });
  } catch {
    const delaySeconds = backoffSeconds(message.attempts);
    message.retry({ delaySeconds });
    logOutcome({ ...line, outcome: "retry", reason: `dead_letter_send_failed:${failure.reason}`, delaySeconds });
    return;
  }
  message.ack();
  logOutcome({ ...line, outcome: "dead_letter" });
}

/**
 * The dead-letter queue's consumer: one structured line per message, then ack. A message Queues
 * moved here after the last retry is still sealed; it is opened only to name it in the line.
 */
async function recordDeadLetters(batch: MessageBatch<unknown>, queueKey: string): Promise<void> {
  for (const message of batch.messages) {
    const opened = await openFromQueue(queueKey, message.body);
    // Either shape of DeadLetter, or a whole message or event that Queues moved here itself.
    const body = (typeof opened === "object" && opened !== null ? opened : {}) as Partial<DeliveryMessage & EventMessage & { failure: DeadLetter["failure"] }>;
    const failure = body.failure;
    console.error(
      JSON.stringify({
        level: "error",
        event: "dead_letter",
        id: body.id ?? message.id,
        appId: body.appId,
        ...(body.kind === "event" ? { type: body.type, timestamp: body.timestamp } : { channel: body.channel, template: body.template, createdAt: body.createdAt }),
        // Without a failure record Queues moved it here after the last retry.
        reason: failure?.reason ?? "retries_exhausted",
        provider: failure?.provider,
        status: failure?.status,
        attempts: failure?.attempts,
      }),
    );
    message.ack();
  }
}
