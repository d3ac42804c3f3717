// Per-app delivery settings: which provider carries email and SMS, and template overrides.
// The same provider schemas validate the environment-wide defaults (DELIVERY_EMAIL / DELIVERY_SMS).
import * as z from "zod/mini";
import "../lib/zod-locale";
import type { TemplateName } from "../i18n/messages";
import { classifyHost } from "../lib/host";

/** What GET/PATCH answers show instead of a stored secret. */
export const MASK = "••••";

const SECRET_FIELDS = ["apiKey", "serverToken", "authToken", "secret"] as const;

const secret = z.string().check(
  z.minLength(1),
  z.maxLength(1000),
  // A client that PATCHes back what GET showed would otherwise overwrite the key with the mask.
  z.refine((v) => !v.startsWith(MASK), "this is the masked value; send the secret itself, or leave the field out to keep the stored one"),
);

const emailAddress = z.email().check(z.maxLength(254));
// Quotes, angle brackets and line breaks would let a name rewrite the From header.
const displayName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(100),
    z.regex(/^[^"<>\\\u0000-\u001f\u007f]*$/, "must not contain quotes, angle brackets, backslashes or control characters"),
  );
const hostname = z
  .string()
  .check(z.maxLength(253), z.regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, "must be a domain name such as mg.example.com"));

/**
 * Whether a webhook URL may be called from this deployment: in production only https to a public
 * host (lib/host.ts parses the host, so no spelling of loopback or a private network slips
 * through); in development also plain http to loopback, for a receiver on the same machine.
 * The schema below applies the rule every environment shares; core/apps.ts and the webhook
 * provider apply the production one.
 */
export function webhookDestinationProblem(rawUrl: string, development: boolean): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return "must be a URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  const kind = classifyHost(url.hostname);
  if (development) {
    if (url.protocol === "https:" || (url.protocol === "http:" && kind === "loopback")) return null;
    return "must be https (plain http only on loopback, for local development)";
  }
  if (url.protocol !== "https:") return "must be https";
  if (kind !== "public") return "must name a public host (not loopback, a private or link-local network, or a local name)";
  return null;
}

/** A webhook destination: the rule every environment shares (production's is core/apps.ts). */
export const webhookUrl = z.url({ protocol: /^https?$/ }).check(
  z.maxLength(2000),
  z.superRefine((u, ctx) => {
    const problem = webhookDestinationProblem(u, true);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
);

/** Standard Webhooks: "whsec_" + base64 of 24 to 64 random bytes. */
export const webhookSecret = secret.check(
  z.refine((v) => {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(v);
  if (!m) return false;
  try {
    const bytes = atob(m[1]!).length;
    return bytes >= 24 && bytes <= 64;
  } catch {
    return false;
  }
}, "must be whsec_ followed by the base64 of 24 to 64 random bytes"),
);

const outbox = z.strictObject({ provider: z.literal("outbox") });
const cloudflare = z.strictObject({
  provider: z.literal("cloudflare"),
  from: emailAddress,
  fromName: z.optional(displayName),
  /** The [[send_email]] binding's name in wrangler.toml. */
  binding: z._default(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a binding name such as EMAIL")), "EMAIL"),
});
const resend = z.strictObject({
  provider: z.literal("resend"),
  apiKey: secret,
  from: emailAddress,
  fromName: z.optional(displayName),
});
const postmark = z.strictObject({
  provider: z.literal("postmark"),
  serverToken: secret,
  from: emailAddress,
  fromName: z.optional(displayName),
  messageStream: z._default(z.string().check(z.regex(/^[a-z0-9-]{1,30}$/i, "must be a Postmark message stream id")), "outbound"),
});
const sendgrid = z.strictObject({
  provider: z.literal("sendgrid"),
  apiKey: secret,
  from: emailAddress,
  fromName: z.optional(displayName),
  /** "eu" for an EU-pinned subuser (api.eu.sendgrid.com). */
  region: z._default(z.enum(["global", "eu"]), "global"),
});
const mailgun = z.strictObject({
  provider: z.literal("mailgun"),
  apiKey: secret,
  domain: hostname,
  from: emailAddress,
  fromName: z.optional(displayName),
  /** A Mailgun domain lives in one region; "eu" uses api.eu.mailgun.net. */
  region: z._default(z.enum(["us", "eu"]), "us"),
});
const twilio = z
  .strictObject({
    provider: z.literal("twilio"),
    accountSid: z.string().check(z.regex(/^AC[0-9a-f]{32}$/, "must be a Twilio Account SID (AC + 32 hex digits)")),
    authToken: secret,
    /** An E.164 number or an alphanumeric sender id. */
    from: z.optional(
      z.string().check(z.regex(/^(\+[1-9]\d{1,14}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$/, "must be an E.164 number (+15551234567) or an alphanumeric sender id")),
    ),
    messagingServiceSid: z.optional(z.string().check(z.regex(/^MG[0-9a-f]{32}$/, "must be a Messaging Service SID (MG + 32 hex digits)"))),
  })
  .check(
    z.refine((t) => (t.from === undefined) !== (t.messagingServiceSid === undefined), {
      message: "give exactly one of from and messagingServiceSid",
      path: ["from"],
    }),
  );
const webhook = z.strictObject({ provider: z.literal("webhook"), url: webhookUrl, secret: webhookSecret });

export const emailProviderSchema = z.discriminatedUnion("provider", [outbox, cloudflare, resend, postmark, sendgrid, mailgun, webhook]);
export const smsProviderSchema = z.discriminatedUnion("provider", [outbox, twilio, webhook]);

export type EmailProviderSettings = z.output<typeof emailProviderSchema>;
export type SmsProviderSettings = z.output<typeof smsProviderSchema>;
export type ProviderSettings = EmailProviderSettings | SmsProviderSettings;

/** null: the environment's default (DELIVERY_EMAIL / DELIVERY_SMS), else the outbox in development. */
export const deliverySettingsSchema = z.prefault(
  z.strictObject({
    email: z._default(z.nullable(emailProviderSchema), null),
    sms: z._default(z.nullable(smsProviderSchema), null),
  }),
  {},
);

export type DeliverySettings = z.output<typeof deliverySettingsSchema>;

// ---- Templates --------------------------------------------------------------------------------

export const TEMPLATE_VARIABLES = ["appName", "link", "code", "duration", "minutes"] as const;
const REQUIRED_VARIABLE: Partial<Record<TemplateName, string>> = {
  reset_link: "link",
  reset_pin: "code",
  reset_code: "code",
  verify_email_link: "link",
  verify_email_code: "code",
  verify_sms_code: "code",
};

const templateText = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(max),
      z.refine(
        (s) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].every((m) => (TEMPLATE_VARIABLES as readonly string[]).includes(m[1]!)),
        `may use only the variables ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(", ")}`,
      ),
    );

const templateOverride = z.strictObject({
  subject: z.optional(templateText(200).check(z.regex(/^[^\r\n]*$/, "must be one line"))),
  text: z.optional(templateText(5000)),
  html: z.optional(templateText(20_000)),
});
export type TemplateOverride = z.output<typeof templateOverride>;

const localeOverrides = z
  .strictObject({
    reset_link: z.optional(templateOverride),
    reset_pin: z.optional(templateOverride),
    reset_code: z.optional(templateOverride),
    password_changed: z.optional(templateOverride),
    verify_email_link: z.optional(templateOverride),
    verify_email_code: z.optional(templateOverride),
    verify_sms_code: z.optional(templateOverride),
    account_locked: z.optional(templateOverride),
  })
  .check(
    z.superRefine((overrides, ctx) => {
    // A reset message without its link or code would reach the user and be useless.
    for (const [name, override] of Object.entries(overrides) as [TemplateName, TemplateOverride | undefined][]) {
      const variable = REQUIRED_VARIABLE[name];
      if (!variable || !override) continue;
      for (const part of ["text", "html"] as const) {
        const value = override[part];
        if (value !== undefined && !new RegExp(`\\{\\{\\s*${variable}\\s*\\}\\}`).test(value)) {
          ctx.addIssue({ code: "custom", message: `must contain {{${variable}}}`, path: [name, part] });
        }
      }
    }
  }),
  );

export const templateSettingsSchema = z.prefault(z.strictObject({ en: z.optional(localeOverrides), ja: z.optional(localeOverrides) }), {});
export type TemplateSettings = z.output<typeof templateSettingsSchema>;

// ---- Masking ----------------------------------------------------------------------------------

export function maskSecret(value: string): string {
  // Long keys keep their last four characters so an operator can tell which key is set.
  return value.length >= 16 ? `${MASK}${value.slice(-4)}` : MASK;
}

function maskProvider<T extends ProviderSettings | null>(settings: T): T {
  if (!settings) return settings;
  const out: Record<string, unknown> = { ...settings };
  for (const field of SECRET_FIELDS) {
    if (typeof out[field] === "string") out[field] = maskSecret(out[field] as string);
  }
  return out as T;
}

/** Delivery settings as the admin API shows them: every secret masked. */
export const maskDeliverySettings = (settings: DeliverySettings): DeliverySettings => ({
  email: maskProvider(settings.email),
  sms: maskProvider(settings.sms),
});
