// Per-app settings: the zod schemas that validate them, their defaults, and how a patch merges.
// Only shapes live here; rules that need the core (URL templates) run where settings are accepted
// (core/apps.ts).
import * as z from "zod";
import { deliverySettingsSchema, templateSettingsSchema } from "./delivery";
import { eventSettingsSchema } from "./events";

const seconds = (min: number, max: number, fallback: number) => z.int().min(min).max(max).default(fallback);
const limit = (count: number, windowSeconds: number) =>
  z
    .strictObject({ limit: z.int().min(1).max(10_000), windowSeconds: seconds(1, 86_400, windowSeconds) })
    .prefault({ limit: count, windowSeconds });
const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);
/**
 * A bare origin ("https://auth.example.com"): scheme, host and port, nothing else, kept as the
 * URL parser writes it. Production's https-only rule runs where settings are accepted (core/apps.ts).
 */
const bareOrigin = z
  .url({ protocol: /^https?$/ })
  .max(300)
  .refine((u) => {
    if (!URL.canParse(u)) return false;
    const url = new URL(u);
    return !url.username && !url.password && !url.search && !url.hash && url.pathname === "/" && !u.includes("?") && !u.includes("#");
  }, "must be an origin only (scheme, host and port), such as https://auth.example.com")
  .transform((u) => new URL(u).origin);

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

/** The settings object itself; appSettingsSchema reads older stored forms first. */
export const settingsObject = z.strictObject({
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
      /** Verification messages per address, counted in both dialects. */
      verifyPerAddress: limit(3, 900),
      // Anonymous sign-ins and registrations per client address, counted before any hash.
      signInPerIp: limit(30, 300),
      registerPerIp: limit(20, 3_600),
    })
    .prefault({}),
  /**
   * Per-account lockout: after maxPasswordAttempts failed password checks (forgotten
   * failureDecaySeconds after the last one) the account is locked for lockSeconds, twice as long
   * for each further lock in a row, at most maxLockSeconds.
   */
  lockout: z
    .strictObject({
      maxPasswordAttempts: z.int().min(1).max(1_000).default(10),
      lockSeconds: seconds(1, 30 * 86_400, 900),
      maxLockSeconds: seconds(1, 365 * 86_400, 86_400),
      failureDecaySeconds: seconds(60, 30 * 86_400, 3_600),
      /** Tell the user (template account_locked, on a verified address) when the lockout locks the account. */
      notify: z.boolean().default(false),
    })
    .prefault({})
    .refine((l) => l.lockSeconds <= l.maxLockSeconds, { message: "lockSeconds must not exceed maxLockSeconds", path: ["lockSeconds"] }),
  /** Reset requests for unknown users answer exactly like known ones. Off = Kii's 404. */
  enumerationProtection: z.boolean().default(false),
  /**
   * Per channel: "required" = an address counts as verified only once its owner entered the code
   * sent to it (a changed address stays pending meanwhile); "trusted" = addresses given to the Kii
   * dialect count as verified at once, as in a Kii app with verification turned off. The ZITADEL
   * dialect verifies only by code or an admin's isVerified, whatever this says.
   */
  verification: z
    .strictObject({ email: z.enum(["required", "trusted"]).default("required"), phone: z.enum(["required", "trusted"]).default("required") })
    .prefault({}),
  accessTokenLifetimeSeconds: seconds(60, 365 * 86_400, 30 * 86_400),
  adminTokenLifetimeSeconds: seconds(60, 30 * 86_400, 86_400),
  /**
   * The origin of this app's hosted links (reset and verification pages), e.g. its own custom
   * domain routed to this Worker; null = the deployment's PUBLIC_URL. Set only by the operator
   * (admin API), never taken from a request's Host.
   */
  publicUrl: bareOrigin.nullable().default(null),
  /** The app's own reset page; Go-template fields {{.UserID}}, {{.Code}}, {{.OrgID}}. */
  // Checked as a template by core/apps.ts when it is set, so a reset never fails on it later.
  resetUrlTemplate: httpUrl.nullable().default(null),
  resetRedirects: z
    .strictObject({ success: httpUrl.nullable().default(null), failure: httpUrl.nullable().default(null) })
    .prefault({}),
  // Stored as bare origins ("https://a.example"), the form a browser's Origin header has.
  corsOrigins: z.array(z.url({ protocol: /^https?$/ }).max(300).transform((u) => new URL(u).origin)).max(50).default([]),
  defaultLocale: z.enum(["en", "ja"]).default("en"),
  delivery: deliverySettingsSchema,
  templates: templateSettingsSchema,
  /** Security events as signed webhooks ({url, secret, types}); null: logged only (config/events.ts). */
  events: eventSettingsSchema,
});

/**
 * Settings stored before `verification` existed carry `trustRegisteredAddresses` (true by
 * default then): it is still read, as `verification` for both channels, and then dropped. New
 * apps, which have neither, require verification.
 */
function upgradeLegacySettings(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || !("trustRegisteredAddresses" in raw)) return raw;
  const { trustRegisteredAddresses: trust, ...rest } = raw as Record<string, unknown>;
  if (typeof trust !== "boolean") return raw; // left for the strict schema to refuse
  if ("verification" in rest) return rest;
  const mode = trust ? "trusted" : "required";
  return { ...rest, verification: { email: mode, phone: mode } };
}

export const appSettingsSchema = z.preprocess(upgradeLegacySettings, settingsObject);

export type AppSettings = z.output<typeof settingsObject>;

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
