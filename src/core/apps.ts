// Creating and configuring apps (tenants). Secrets are returned once, at creation.
import * as z from "zod";
import { maskDeliverySettings } from "../config/delivery";
import { type AppSettings, appSettingsSchema, mergeSettings } from "../config/settings";
import { numericId, randomString, randomToken } from "../lib/random";
import type { App } from "../storage/apps";
import { CoreError, isCoreError } from "./errors";
import type { Services } from "./services";
import { validateUrlTemplate } from "./url-template";
import { hashClientSecret } from "./users";

export type { App };

const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";

export interface NewAppInput {
  appId?: string;
  name?: string;
  settings?: unknown;
}

export interface CreatedApp {
  app: App;
  clientSecret: string;
}

// A reset URL template is checked when it is set, so a reset never fails on it after a code was
// issued. The rule lives in the core (url-template.ts); the schema only knows it is a URL.
const templateRules = z.object({
  resetUrlTemplate: z
    .string()
    .nullable()
    .superRefine((template, ctx) => {
      if (template === null) return;
      try {
        validateUrlTemplate(template);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: isCoreError(e) ? e.message : "invalid URL template" });
      }
    }),
});

/** Validates settings as a whole; failures are ZodErrors whose path names the field. */
export function parseSettings(raw: unknown): AppSettings {
  const parsed = appSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw parsed.error;
  const checked = templateRules.safeParse(parsed.data);
  if (!checked.success) throw checked.error;
  return parsed.data;
}

/** What the operator sees of an app: everything but secrets, delivery credentials masked. */
export const describeApp = (app: App) => ({
  appId: app.id,
  appKey: app.appKey,
  clientId: app.clientId,
  orgId: app.orgId,
  name: app.name,
  settings: { ...app.settings, delivery: maskDeliverySettings(app.settings.delivery) },
  createdAt: new Date(app.createdAt).toISOString(),
  changedAt: new Date(app.changedAt).toISOString(),
});

export type AppView = ReturnType<typeof describeApp>;

export async function createApp(svc: Services, input: NewAppInput, fixed?: { appKey: string; clientId: string; clientSecret: string }): Promise<CreatedApp> {
  const settings = parseSettings(input.settings);
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
  };
  if (!(await svc.apps.insert(app))) throw new CoreError("user_exists", `An app with id ${app.id} already exists`, { field: "appId" });
  return { app, clientSecret };
}

/** The app, or null when there is none (faces decide how to say so). */
export const findApp = (svc: Services, appId: string): Promise<App | null> => svc.apps.get(appId);

export async function requireApp(svc: Services, appId: string): Promise<App> {
  const app = await svc.apps.get(appId);
  if (!app) throw new CoreError("app_not_found", `No app with id ${appId}`, { field: "appId" });
  return app;
}

/** Applies a settings patch (deep merge) and validates the result as a whole. */
export async function updateAppSettings(svc: Services, app: App, patch: unknown): Promise<App> {
  const settings = parseSettings(mergeSettings(app.settings, patch));
  await svc.apps.updateSettings(app.id, settings, svc.now());
  return { ...app, settings };
}

/**
 * Whether a browser origin may call: on app-scoped paths only that app's corsOrigins count; on
 * paths that name no app, an origin passes when some app lists it.
 */
export const originAllowed = (svc: Services, origin: string, appId: string | null): Promise<boolean> => svc.apps.listsOrigin(origin, appId);

export async function deleteApp(svc: Services, appId: string): Promise<void> {
  if (!(await svc.apps.delete(appId))) throw new CoreError("app_not_found", `No app with id ${appId}`, { field: "appId" });
}
