// Environment bindings and per-app settings, both parsed with zod.
import { z } from "zod";
import type { DeadLetter, DeliveryMessage } from "./delivery/message";
import { deliverySettingsSchema, templateSettingsSchema } from "./delivery/settings";
import { isCoreError } from "./core/errors";
import { validateUrlTemplate } from "./core/url-template";
import type { DevOutbox } from "./web/outbox-store";
import type { RateLimiter } from "./storage/limiter";

export interface Env {
  DB: D1Database;
  CODES: KVNamespace;
  LIMITER: DurableObjectNamespace<RateLimiter>;
  OUTBOX: DurableObjectNamespace<DevOutbox>;
  DELIVERY: Queue<DeliveryMessage>;
  /** Producer for the dead-letter queue: permanent delivery failures go there at once. */
  DEAD_LETTERS?: Queue<DeadLetter>;
  /** Default email / SMS provider for apps that set none: JSON shaped like settings.delivery.email / .sms (a secret). */
  DELIVERY_EMAIL?: string;
  DELIVERY_SMS?: string;
  ENVIRONMENT?: string;
  ADMIN_TOKEN?: string;
  PASSWORD_PEPPER?: string;
  /** Public origin for links in messages, e.g. https://auth.example.com (default: the request's). */
  PUBLIC_URL?: string;
}

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

const seconds = (min: number, max: number, fallback: number) => z.int().min(min).max(max).default(fallback);
const limit = (count: number, windowSeconds: number) =>
  z
    .strictObject({ limit: z.int().min(1).max(10_000), windowSeconds: seconds(1, 86_400, windowSeconds) })
    .prefault({ limit: count, windowSeconds });
const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);

export const passwordPolicySchema = z
  .strictObject({
    minLength: z.int().min(1).max(64).default(8),
    maxLength: z.int().min(64).max(1024).default(128),
    requireLowercase: z.boolean().default(false),
    requireUppercase: z.boolean().default(false),
    requireNumber: z.boolean().default(false),
    requireSymbol: z.boolean().default(false),
    breachedPasswordCheck: z.boolean().default(false),
  })
  .prefault({})
  .refine((p) => p.minLength <= p.maxLength, { message: "minLength must not exceed maxLength", path: ["minLength"] });

export const appSettingsSchema = z.strictObject({
  passwordPolicy: passwordPolicySchema,
  codes: z
    .strictObject({
      // KV's expirationTtl floor is 60 s.
      emailLinkTtlSeconds: seconds(60, 7 * 86_400, 3_600),
      smsLinkTtlSeconds: seconds(60, 7 * 86_400, 3_600),
      smsPinTtlSeconds: seconds(60, 86_400, 600),
      zitadelCodeTtlSeconds: seconds(60, 7 * 86_400, 3_600),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      resetPerAddress: limit(3, 900),
      resetPerIp: limit(20, 3_600),
    })
    .prefault({}),
  /** Reset requests for unknown users answer exactly like known ones. Off = Kii's 404. */
  enumerationProtection: z.boolean().default(false),
  /**
   * Whether addresses given at registration count as verified, as in a Kii app whose email/SMS
   * verification is turned off. Off: only addresses marked verified (ZITADEL isVerified) count.
   */
  trustRegisteredAddresses: z.boolean().default(true),
  accessTokenLifetimeSeconds: seconds(60, 365 * 86_400, 30 * 86_400),
  adminTokenLifetimeSeconds: seconds(60, 30 * 86_400, 86_400),
  /** The app's own reset page; Go-template fields {{.UserID}}, {{.Code}}, {{.OrgID}}. */
  resetUrlTemplate: httpUrl
    .superRefine((template, ctx) => {
      // Checked when it is set, so a reset never fails on it after a code was issued.
      try {
        validateUrlTemplate(template);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: isCoreError(e) ? e.message : "invalid URL template" });
      }
    })
    .nullable()
    .default(null),
  resetRedirects: z
    .strictObject({ success: httpUrl.nullable().default(null), failure: httpUrl.nullable().default(null) })
    .prefault({}),
  // Stored as bare origins ("https://a.example"), the form a browser's Origin header has.
  corsOrigins: z.array(z.url({ protocol: /^https?$/ }).max(300).transform((u) => new URL(u).origin)).max(50).default([]),
  defaultLocale: z.enum(["en", "ja"]).default("en"),
  delivery: deliverySettingsSchema,
  templates: templateSettingsSchema,
});

export type AppSettings = z.output<typeof appSettingsSchema>;

export const defaultSettings = (): AppSettings => appSettingsSchema.parse({});

/** Deep-merges a settings patch into stored settings (objects merge, everything else replaces). */
export function mergeSettings(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  // Switching a delivery channel to another provider starts afresh: one provider's fields (and
  // secrets) mean nothing to the next.
  if ("provider" in patch && patch.provider !== base.provider) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = key in base ? mergeSettings(base[key], value) : value;
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The first problem in a zod error as "path: message", for 400 answers that name the field. */
export function describeZodError(error: z.ZodError, prefix = ""): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: prefix || "(body)", message: "invalid" };
  const parts = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
  if (issue.code === "unrecognized_keys") parts.push(issue.keys[0] ?? "");
  const field = parts.join(".") || "(body)";
  const message = issue.code === "unrecognized_keys" ? `unknown field ${field}` : `${field}: ${issue.message}`;
  return { field, message };
}
