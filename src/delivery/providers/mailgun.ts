// Mailgun (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages).
// No idempotency key: a retried attempt whose first answer was lost can send twice. The message
// id travels as the user variable latchkey_message_id so duplicates can be matched in events.
import type { DeliveryMessage } from "../message";
import type { EmailProviderSettings } from "../../config/delivery";
import { basicAuth, formatAddress, jsonOf, request, type SendContext, type Sent, stringOf } from "./http";

type MailgunSettings = Extract<EmailProviderSettings, { provider: "mailgun" }>;

// A domain is created in one region and only that region's API knows it (404 elsewhere).
const BASE_URL = { us: "https://api.mailgun.net", eu: "https://api.eu.mailgun.net" } as const;

export async function sendWithMailgun(config: MailgunSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const form = new FormData();
  form.set("from", formatAddress(config.from, config.fromName));
  form.set("to", message.to);
  form.set("subject", message.subject);
  form.set("text", message.text);
  form.set("html", message.html);
  form.set("v:latchkey_message_id", message.id);
  const res = await request(
    `${BASE_URL[config.region]}/v3/${encodeURIComponent(config.domain)}/messages`,
    // fetch writes the multipart Content-Type with its boundary.
    { method: "POST", headers: { Authorization: basicAuth("api", config.apiKey) }, body: form },
    ctx,
  );
  return { providerMessageId: stringOf((await jsonOf(res)).id) };
}
