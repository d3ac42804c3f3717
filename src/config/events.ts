// Per-app security event webhooks (settings.events): where an app's events are POSTed, the secret
// that signs them (Standard Webhooks), and which types it wants. The catalogue of types and their
// fields is core/events.ts and docs/events.md; the destination rules are the webhook provider's.
import * as z from "zod/mini";
import "../lib/zod-locale";
import { maskSecret, webhookSecret, webhookUrl } from "./delivery";

/** Every event type, as receivers see it in `type`. Adding one is additive; renaming one is not. */
export const EVENT_TYPES = [
  "user.created",
  "user.deleted",
  "user.deactivated",
  "user.reactivated",
  "user.locked",
  "user.unlocked",
  "password.changed",
  "password.reset_requested",
  "password.reset_completed",
  "signin.failed",
  "address.verified",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * null (the default): events are only logged. `types` null: every type, including types added
 * later; a list: those types only.
 */
export const eventSettingsSchema = z._default(
  z.nullable(
    z.strictObject({
      url: webhookUrl,
      secret: webhookSecret,
      types: z._default(
        z.nullable(
          z
            .array(z.enum(EVENT_TYPES))
            .check(
              z.minLength(1, "list at least one type, or null for every type"),
              z.refine((types) => new Set(types).size === types.length, "must not repeat a type"),
            ),
        ),
        null,
      ),
    }),
  ),
  null,
);

export type EventSettings = z.output<typeof eventSettingsSchema>;

/** Whether the app's webhook wants events of this type. */
export const wantsEvent = (settings: EventSettings, type: EventType): settings is NonNullable<EventSettings> =>
  settings !== null && (settings.types === null || settings.types.includes(type));

/** The events settings as the admin API shows them: the signing secret masked like a provider's. */
export const maskEventSettings = (settings: EventSettings): EventSettings => (settings ? { ...settings, secret: maskSecret(settings.secret) } : null);
