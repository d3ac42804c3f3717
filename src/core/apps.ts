// Creating and configuring apps (tenants). Secrets are returned once, at creation.
import { type AppSettings, appSettingsSchema, mergeSettings } from "../config";
import type { App } from "../storage/apps";
import { CoreError } from "./errors";
import { numericId, randomString, randomToken } from "./random";
import type { Services } from "./services";
import { hashClientSecret } from "./users";

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

export function parseSettings(raw: unknown): AppSettings {
  const parsed = appSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw parsed.error;
  return parsed.data;
}

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
