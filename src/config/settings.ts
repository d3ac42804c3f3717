// Per-app settings: the zod schemas that validate them, their defaults, and how a patch merges.
// Only shapes live here; rules that need the core (URL templates) run where settings are accepted
// (core/apps.ts).
import * as z from "zod/mini";
import { $ZodError } from "zod/v4/core";
import "../lib/zod-locale";
import { deliverySettingsSchema, templateSettingsSchema } from "./delivery";
import { eventSettingsSchema } from "./events";

const seconds = (min: number, max: number, fallback: number) => z._default(z.int().check(z.gte(min), z.lte(max)), fallback);
const limit = (count: number, windowSeconds: number) =>
  z.prefault(z.strictObject({ limit: z.int().check(z.gte(1), z.lte(10_000)), windowSeconds: seconds(1, 86_400, windowSeconds) }), {
    limit: count,
    windowSeconds,
  });
const httpUrl = z.url({ protocol: /^https?$/ }).check(z.maxLength(2000));
/**
 * A bare origin ("https://auth.example.com"): scheme, host and port, nothing else, kept as the
 * URL parser writes it. Production's https-only rule runs where settings are accepted (core/apps.ts).
 */
const bareOrigin = z.pipe(
  z.url({ protocol: /^https?$/ }).check(
    z.maxLength(300),
    z.refine((u) => {
      if (!URL.canParse(u)) return false;
      const url = new URL(u);
      return !url.username && !url.password && !url.search && !url.hash && url.pathname === "/" && !u.includes("?") && !u.includes("#");
    }, "must be an origin only (scheme, host and port), such as https://auth.example.com"),
  ),
  z.transform((u: string) => new URL(u).origin),
);

const flag = () => z._default(z.boolean(), false);

export const passwordPolicySchema = z
  .prefault(
    z.strictObject({
      minLength: z._default(z.int().check(z.gte(1), z.lte(64)), 8),
      maxLength: z._default(z.int().check(z.gte(64), z.lte(1024)), 128),
      requireLowercase: flag(),
      requireUppercase: flag(),
      requireNumber: flag(),
      requireSymbol: flag(),
      breachedPasswordCheck: flag(),
    }),
    {},
  )
  .check(z.refine((p) => p.minLength <= p.maxLength, { message: "minLength must not exceed maxLength", path: ["minLength"] }));

/** The settings object itself; appSettingsSchema reads older stored forms first. */
export const settingsObject = z.strictObject({
  passwordPolicy: passwordPolicySchema,
  codes: z.prefault(
    z.strictObject({
      // KV's expirationTtl floor is 60 s.
      emailLinkTtlSeconds: seconds(60, 7 * 86_400, 3_600),
      smsLinkTtlSeconds: seconds(60, 7 * 86_400, 3_600),
      smsPinTtlSeconds: seconds(60, 86_400, 600),
      zitadelCodeTtlSeconds: seconds(60, 7 * 86_400, 3_600),
    }),
    {},
  ),
  rateLimits: z.prefault(
    z.strictObject({
      resetPerAddress: limit(3, 900),
      resetPerIp: limit(20, 3_600),
      /** Verification messages per address, counted in both dialects. */
      verifyPerAddress: limit(3, 900),
      // Anonymous sign-ins and registrations per client address, counted before any hash.
      signInPerIp: limit(30, 300),
      registerPerIp: limit(20, 3_600),
    }),
    {},
  ),
  /**
   * Per-account lockout: after maxPasswordAttempts failed password checks (forgotten
   * failureDecaySeconds after the last one) the account is locked for lockSeconds, twice as long
   * for each further lock in a row, at most maxLockSeconds.
   */
  lockout: z
    .prefault(
      z.strictObject({
        maxPasswordAttempts: z._default(z.int().check(z.gte(1), z.lte(1_000)), 10),
        lockSeconds: seconds(1, 30 * 86_400, 900),
        maxLockSeconds: seconds(1, 365 * 86_400, 86_400),
        failureDecaySeconds: seconds(60, 30 * 86_400, 3_600),
        /** Tell the user (template account_locked, on a verified address) when the lockout locks the account. */
        notify: flag(),
      }),
      {},
    )
    .check(z.refine((l) => l.lockSeconds <= l.maxLockSeconds, { message: "lockSeconds must not exceed maxLockSeconds", path: ["lockSeconds"] })),
  /** Reset requests for unknown users answer exactly like known ones. Off = Kii's 404. */
  enumerationProtection: flag(),
  /**
   * Per channel: "required" = an address counts as verified only once its owner entered the code
   * sent to it (a changed address stays pending meanwhile); "trusted" = addresses given to the Kii
   * dialect count as verified at once, as in a Kii app with verification turned off. The ZITADEL
   * dialect verifies only by code or an admin's isVerified, whatever this says.
   */
  verification: z.prefault(
    z.strictObject({ email: z._default(z.enum(["required", "trusted"]), "required"), phone: z._default(z.enum(["required", "trusted"]), "required") }),
    {},
  ),
  accessTokenLifetimeSeconds: seconds(60, 365 * 86_400, 30 * 86_400),
  adminTokenLifetimeSeconds: seconds(60, 30 * 86_400, 86_400),
  /**
   * The origin of this app's hosted links (reset and verification pages), e.g. its own custom
   * domain routed to this Worker; null = the deployment's PUBLIC_URL. Set only by the operator
   * (admin API), never taken from a request's Host.
   */
  publicUrl: z._default(z.nullable(bareOrigin), null),
  /** The app's own reset page; Go-template fields {{.UserID}}, {{.Code}}, {{.OrgID}}. */
  // Checked as a template by core/apps.ts when it is set, so a reset never fails on it later.
  resetUrlTemplate: z._default(z.nullable(httpUrl), null),
  resetRedirects: z.prefault(
    z.strictObject({ success: z._default(z.nullable(httpUrl), null), failure: z._default(z.nullable(httpUrl), null) }),
    {},
  ),
  // Stored as bare origins ("https://a.example"), the form a browser's Origin header has.
  corsOrigins: z._default(
    z.array(z.pipe(z.url({ protocol: /^https?$/ }).check(z.maxLength(300)), z.transform((u: string) => new URL(u).origin))).check(z.maxLength(50)),
    [],
  ),
  defaultLocale: z._default(z.enum(["en", "ja"]), "en"),
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

// zod's preprocess: a transform piped into the schema.
export const appSettingsSchema = z.pipe(z.transform(upgradeLegacySettings), settingsObject);

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

/**
 * Whether a thrown value is a zod validation error. Imported by name: a runtime `z.core.…` would
 * make the bundler keep zod's whole core namespace (every locale, the JSON Schema converter).
 */
export const isZodError = (e: unknown): e is z.core.$ZodError => e instanceof $ZodError;

/** The first problem in a zod error as "path: message", for 400 answers that name the field. */
export function describeZodError(error: z.core.$ZodError, prefix = ""): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: prefix || "(body)", message: "invalid" };
  const parts = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
  if (issue.code === "unrecognized_keys") parts.push(issue.keys[0] ?? "");
  const field = parts.join(".") || "(body)";
  const message = issue.code === "unrecognized_keys" ? `unknown field ${field}` : `${field}: ${issue.message}`;
  return { field, message };
}
