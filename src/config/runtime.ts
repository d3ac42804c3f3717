// The runtime configuration read from the environment, checked once per request: a production
// deployment with development values refuses to serve rather than run open.
import type { Env } from "./env";

/** Values that exist for local development only and must never run in production. */
export const DEV_ADMIN_TOKEN = "dev-admin-token";
export const DEMO_APP_ID = "demoapp1";

export interface RuntimeConfig {
  development: boolean;
  adminToken: string | undefined;
  pepper: string | undefined;
  publicUrl: string | undefined;
}

export class ConfigError extends Error {}

export function readRuntimeConfig(env: Env): RuntimeConfig {
  const environment = env.ENVIRONMENT ?? "production";
  if (environment !== "development" && environment !== "production") {
    throw new ConfigError(`ENVIRONMENT must be "development" or "production", not ${JSON.stringify(environment)}`);
  }
  const development = environment === "development";
  const adminToken = env.ADMIN_TOKEN || undefined;
  if (!development && adminToken !== undefined && (adminToken === DEV_ADMIN_TOKEN || adminToken.length < 32)) {
    // Refuse rather than run: a production deployment with the development token is open to anyone.
    throw new ConfigError("ADMIN_TOKEN in production must be a secret of at least 32 characters, not the development token");
  }
  const publicUrl = env.PUBLIC_URL ? String(env.PUBLIC_URL).replace(/\/+$/, "") : undefined;
  return { development, adminToken, pepper: env.PASSWORD_PEPPER || undefined, publicUrl };
}
