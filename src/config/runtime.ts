// The runtime configuration read from the environment, checked once per request: a production
// deployment with development values refuses to serve rather than run open.
import type { Env } from "./env";

/** Values that exist for local development only and must never run in production. */
export const DEV_ADMIN_TOKEN = "dev-admin-token";
export const DEMO_APP_ID = "demoapp1";
/** npm start's queue key (scripts/dev-server.mjs): refused in production like the admin token. */
export const DEV_QUEUE_KEY = "dev-queue-key-not-secret-0123456789abcdef";

/**
 * D1 calls one bulk import request may make (IMPORT_D1_QUERY_BUDGET): D1 allows 1,000 queries per
 * Worker invocation on Workers Paid (50 on Free), and this leaves room for the request's others.
 */
export const DEFAULT_IMPORT_QUERY_BUDGET = 900;
/** The schema check plus one batch (its look-up, its write and one replayed line: core/import.ts). */
export const MIN_IMPORT_QUERY_BUDGET = 4;

export interface RuntimeConfig {
  development: boolean;
  adminToken: string | undefined;
  pepper: string | undefined;
  /** The origin every link in a message points to (PUBLIC_URL). Never the request's Host. */
  publicUrl: string;
  /** Secret that keys the encryption of delivery-queue messages (QUEUE_KEY). */
  queueKey: string;
  /** D1 calls a bulk import may make per request before it pauses (IMPORT_D1_QUERY_BUDGET). */
  importQueryBudget: number;
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
  const publicUrl = readPublicUrl(env.PUBLIC_URL, development);
  const queueKey = env.QUEUE_KEY || "";
  // Queue messages hold live reset links and PINs until delivered (or dead-lettered); they are
  // sealed with this key, so it must be a real secret wherever real users are.
  if (queueKey.length < 32 || (!development && queueKey === DEV_QUEUE_KEY)) {
    throw new ConfigError("QUEUE_KEY must be a secret of at least 32 characters (e.g. openssl rand -base64 32), not the development key");
  }
  const importQueryBudget = readImportQueryBudget(env.IMPORT_D1_QUERY_BUDGET);
  return { development, adminToken, pepper: env.PASSWORD_PEPPER || undefined, publicUrl, queueKey, importQueryBudget };
}

/** A whole number from MIN_IMPORT_QUERY_BUDGET up (a string as a secret, a number from wrangler.toml's [vars]). */
function readImportQueryBudget(raw: string | number | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_IMPORT_QUERY_BUDGET;
  const value = String(raw).trim();
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < MIN_IMPORT_QUERY_BUDGET) {
    throw new ConfigError(`IMPORT_D1_QUERY_BUDGET must be a whole number of at least ${MIN_IMPORT_QUERY_BUDGET} (about 900 on Workers Paid, 40 on Free), not ${JSON.stringify(raw)}`);
  }
  return Number(value);
}

/**
 * PUBLIC_URL is required in every environment: a link built from the request's Host header would
 * let anyone who sends `Host: attacker.example` have a live reset code mailed inside a link to
 * their own server. `npm start` and the tests set it to their own address. Production links are
 * https only. Only a bare origin is accepted, because every route lives at the root.
 */
function readPublicUrl(raw: string | undefined, development: boolean): string {
  if (!raw) {
    throw new ConfigError("PUBLIC_URL is required: the origin that links in messages point to, e.g. https://auth.example.com");
  }
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new ConfigError("PUBLIC_URL must be an absolute URL such as https://auth.example.com");
  }
  const allowed = development ? ["https:", "http:"] : ["https:"];
  if (!allowed.includes(url.protocol)) throw new ConfigError(`PUBLIC_URL must use ${development ? "http or https" : "https in production"}`);
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
    throw new ConfigError("PUBLIC_URL must be an origin only (scheme, host and port), such as https://auth.example.com");
  }
  return url.origin;
}
