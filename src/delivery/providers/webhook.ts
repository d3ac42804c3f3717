// A generic HTTP POST signed per Standard Webhooks (https://www.standardwebhooks.com/):
// webhook-id is the message id, the same on every attempt, so the receiver can drop repeats.
import { type SmsProviderSettings, webhookDestinationProblem } from "../../config/delivery";
import { hmacSha256 } from "../../lib/digest";
import type { DeliveryMessage } from "../message";
import { base64, fromBase64, permanent, request, type SendContext, type Sent } from "./http";

type WebhookSettings = Extract<SmsProviderSettings, { provider: "webhook" }>;

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the bytes after "whsec_". */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = fromBase64(secret.replace(/^whsec_/, ""));
  const mac = hmacSha256(key, `${id}.${timestamp}.${body}`);
  return `v1,${base64(mac)}`;
}

export async function sendWithWebhook(config: WebhookSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const { id, appId, channel, to, subject, text, html, template, locale, createdAt } = message;
  const body = JSON.stringify({ id, appId, channel, to, subject, text, html, template, locale, createdAt });
  await postSigned(config, id, body, ctx);
  return {};
}

/**
 * POSTs a JSON body signed per Standard Webhooks: the webhook provider's messages and the security
 * event webhook (delivery/events.ts). `id` must be the same on every attempt of one message.
 */
export async function postSigned(destination: { url: string; secret: string }, id: string, body: string, ctx: SendContext): Promise<void> {
  // Checked again at each send: DELIVERY_EMAIL / DELIVERY_SMS and settings saved before this rule
  // existed reach here without core/apps.ts having seen them. A deployed Worker sends only over
  // TLS to a public host.
  if (webhookDestinationProblem(destination.url, ctx.development)) throw permanent("webhook_destination_refused");
  // The timestamp is the attempt's: receivers reject stale ones, and the signature covers it.
  const timestamp = Math.floor(ctx.now() / 1000);
  const res = await request(
    destination.url,
    {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "Latchkey-Webhook/1",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signWebhook(destination.secret, id, timestamp, body),
      },
      body,
    },
    ctx,
  );
  await res.body?.cancel();
}
