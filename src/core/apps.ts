// Creating and configuring apps (tenants). Secrets are returned once, at creation.
import * as z from "zod/mini";
import "../lib/zod-locale";
import { maskDeliverySettings, type ProviderSettings, webhookDestinationProblem } from "../config/delivery";
import { type EventSettings, maskEventSettings } from "../config/events";
import { type AppSettings, appSettingsSchema, mergeSettings } from "../config/settings";
import { constantTimeEqual } from "../lib/digest";
import { numericId, randomString, randomToken } from "../lib/random";
import type { App } from "../storage/apps";
import { CoreError, isCoreError } from "./errors";
import type { Services } from "./services";
import { anchorApp, ensureControlReady, ensureShardReady, placeApp, purgeApp } from "./shards";
import { validateUrlTemplate } from "./url-template";
import { hashClientSecret } from "./users";

export type { App };

/** An app id: 8 to 64 lower-case letters and digits, like a Kii appID. */
export const APP_ID = /^[a-z0-9]{8,64}$/;

const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";

export interface NewAppInput {
  appId?: string;
  name?: string;
  settings?: unknown;
  /** The shard for the app's users; by default the least-loaded one (core/shards.ts placeApp). */
  shard?: number;
}

export interface CreatedApp {
  app: App;
  clientSecret: string;
}

// A reset URL template is checked when it is set, so a reset never fails on it after a code was
// issued. The rule lives in the core (url-template.ts); the schema only knows it is a URL.
const templateRules = z.object({
  resetUrlTemplate: z.nullable(z.string()).check(
    z.superRefine((template, ctx) => {
      if (template === null) return;
      try {
        validateUrlTemplate(template);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: isCoreError(e) ? e.message : "invalid URL template" });
      }
    }),
  ),
});

// Rules that depend on where the service runs: a production deployment takes no outbox (it would
// keep codes in clear text, readable by nobody who should), calls webhooks only over https on
// public hosts, never this machine or a private network (config/delivery.ts), and sends links
// (which carry live codes) only to https origins.
const productionRules = z.object({
  publicUrl: z.nullable(z.string()).check(z.refine((origin) => origin === null || origin.startsWith("https://"), "must be https in production")),
  delivery: z.object({
    email: z.unknown(),
    sms: z.unknown(),
  }),
  events: z.unknown(),
}).check(z.superRefine((settings, ctx) => {
  // The security event webhook goes by the webhook provider's rule.
  const events = settings.events as EventSettings;
  if (events) {
    const problem = webhookDestinationProblem(events.url, false);
    if (problem) ctx.addIssue({ code: "custom", path: ["events", "url"], message: problem });
  }
  for (const channel of ["email", "sms"] as const) {
    const provider = settings.delivery[channel] as ProviderSettings | null;
    if (!provider) continue;
    if (provider.provider === "outbox") {
      ctx.addIssue({ code: "custom", path: ["delivery", channel, "provider"], message: "the outbox exists only in development; choose a real provider" });
    } else if (provider.provider === "webhook") {
      const problem = webhookDestinationProblem(provider.url, false);
      if (problem) ctx.addIssue({ code: "custom", path: ["delivery", channel, "url"], message: problem });
    }
  }
}));

/**
 * Validates settings as a whole; failures are ZodErrors whose path names the field. `development`
 * relaxes what only makes sense on one machine (the outbox, http webhooks on loopback).
 */
export function parseSettings(raw: unknown, development: boolean): AppSettings {
  const parsed = appSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw parsed.error;
  const checked = templateRules.safeParse(parsed.data);
  if (!checked.success) throw checked.error;
  if (!development) {
    const deployable = productionRules.safeParse(parsed.data);
    if (!deployable.success) throw deployable.error;
  }
  return parsed.data;
}

/** What the operator sees of an app: everything but secrets, delivery credentials and the events secret masked. */
export const describeApp = (app: App) => ({
  appId: app.id,
  appKey: app.appKey,
  clientId: app.clientId,
  orgId: app.orgId,
  name: app.name,
  settings: { ...app.settings, delivery: maskDeliverySettings(app.settings.delivery), events: maskEventSettings(app.settings.events) },
  createdAt: new Date(app.createdAt).toISOString(),
  changedAt: new Date(app.changedAt).toISOString(),
  /** Where the app's users live (binding USERS_{shard}); `moving` names the target of an unfinished move. */
  routing: { shard: app.shard, version: app.routingVersion, moving: app.movingTo },
});

export type AppView = ReturnType<typeof describeApp>;

export async function createApp(svc: Services, input: NewAppInput, fixed?: { appKey: string; clientId: string; clientSecret: string }): Promise<CreatedApp> {
  const settings = parseSettings(input.settings, svc.config.development);
  const shard = await placeApp(svc, input.shard);
  const now = svc.now();
  const clientSecret = fixed?.clientSecret ?? randomToken(32);
  const app: App = {
    id: input.appId ?? randomString(8, LOWER_ALNUM),
    appKey: fixed?.appKey ?? randomString(32, HEX),
    clientId: fixed?.clientId ?? randomString(32, HEX),
    clientSecretHash: hashClientSecret(clientSecret),
    orgId: numericId(now),
    name: input.name ?? "Latchkey app",
    settings,
    createdAt: now,
    changedAt: now,
    shard,
    routingVersion: 1,
    movingTo: null,
    movingSince: null,
  };
  if (!(await svc.apps.insert(app))) throw new CoreError("user_exists", `An app with id ${app.id} already exists`, { field: "appId" });
  try {
    await anchorApp(svc, app);
  } catch (e) {
    await svc.apps.delete(app.id);
    throw e;
  }
  return { app, clientSecret };
}

export interface AppPage {
  apps: AppView[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

/** One page of apps in id order, as the operator sees them (secrets masked). */
export async function listApps(svc: Services, options: { after: string | null; limit: number }): Promise<AppPage> {
  // One more than asked tells whether another page exists without a count query.
  const rows = await svc.apps.list(options.after, options.limit + 1);
  const page = rows.slice(0, options.limit);
  return { apps: page.map(describeApp), next: rows.length > options.limit ? page.at(-1)!.id : null };
}

/** Whether `key` is the app's key, or its previous key within the grace period after a rotation. */
export function appKeyMatches(svc: Services, app: App, key: string): boolean {
  const current = constantTimeEqual(key, app.appKey);
  const previous = !!app.previousAppKey && (app.previousValidUntil ?? 0) > svc.now() && constantTimeEqual(key, app.previousAppKey);
  return current || previous;
}

/** Longest time a rotated-out key and secret may stay valid. */
export const MAX_ROTATION_GRACE_SECONDS = 30 * 86_400;

/**
 * New app key and client secret. The old pair keeps working for `graceSeconds` (0: at once), so
 * clients and backends can be moved over without an outage; a second rotation ends the first
 * one's grace. The new secret is shown once, like at creation.
 */
export async function rotateAppCredentials(svc: Services, app: App, graceSeconds: number): Promise<{ appKey: string; clientSecret: string; previousValidUntil: string }> {
  const now = svc.now();
  const clientSecret = randomToken(32);
  const appKey = randomString(32, HEX);
  const previousValidUntil = now + graceSeconds * 1000;
  await svc.apps.rotateCredentials(app.id, { appKey, clientSecretHash: hashClientSecret(clientSecret) }, { appKey: app.appKey, clientSecretHash: app.clientSecretHash }, previousValidUntil, now);
  return { appKey, clientSecret, previousValidUntil: new Date(previousValidUntil).toISOString() };
}

/**
 * The app a request names, or null when there is none (faces decide how to say so). Read from the
 * control plane through a D1 session (a nearby replica may answer). An app whose shard cannot
 * serve (unbound, or its schema behind the code) is refused with `unavailable`: a 503 in each dialect.
 */
export async function findApp(svc: Services, appId: string): Promise<App | null> {
  await ensureControlReady(svc);
  const app = await svc.apps.get(appId);
  if (app) await ensureShardReady(svc, app);
  return app;
}

/** The app, for the operator: read from the control database's primary, whatever its shard's state. */
export async function requireApp(svc: Services, appId: string): Promise<App> {
  const app = await svc.apps.getPrimary(appId);
  if (!app) throw new CoreError("app_not_found", `No app with id ${appId}`, { field: "appId" });
  return app;
}

/** Applies a settings patch (deep merge) and validates the result as a whole. */
export async function updateAppSettings(svc: Services, app: App, patch: unknown): Promise<App> {
  const settings = parseSettings(mergeSettings(app.settings, patch), svc.config.development);
  await svc.apps.updateSettings(app.id, settings, svc.now());
  return { ...app, settings };
}

/**
 * Whether a browser origin may call: on app-scoped paths only that app's corsOrigins count; on
 * paths that name no app, an origin passes when some app lists it.
 */
export const originAllowed = (svc: Services, origin: string, appId: string | null): Promise<boolean> => svc.apps.listsOrigin(origin, appId);

/** Deletes the app: its control row first (requests stop finding it), then its users in its shard. */
export async function deleteApp(svc: Services, appId: string): Promise<void> {
  const app = await svc.apps.getPrimary(appId);
  if (!app || !(await svc.apps.delete(appId))) throw new CoreError("app_not_found", `No app with id ${appId}`, { field: "appId" });
  await purgeApp(svc, app);
  // An unfinished move may have copied rows to its target already.
  if (app.movingTo !== null) await purgeApp(svc, { id: app.id, shard: app.movingTo });
}
