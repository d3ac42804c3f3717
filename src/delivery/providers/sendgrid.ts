// Twilio SendGrid v3 (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send).
// mail/send has no idempotency key: a retried attempt whose first answer was lost can send twice.
// The message id travels in custom_args so duplicates can be matched in SendGrid's event data.
import type { DeliveryMessage } from "../message";
import type { EmailProviderSettings } from "../../config/delivery";
import { request, type SendContext, type Sent } from "./http";

type SendGridSettings = Extract<EmailProviderSettings, { provider: "sendgrid" }>;

const BASE_URL = { global: "https://api.sendgrid.com", eu: "https://api.eu.sendgrid.com" } as const;

export async function sendWithSendGrid(config: SendGridSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const res = await request(
    `${BASE_URL[config.region]}/v3/mail/send`,
    {
      method: "POST",
      headers: { Authorization: `Bearer ${config.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        personalizations: [{ to: [{ email: message.to }] }],
        from: config.fromName ? { email: config.from, name: config.fromName } : { email: config.from },
        subject: message.subject,
        // SendGrid requires text/plain before text/html.
        content: [
          { type: "text/plain", value: message.text },
          { type: "text/html", value: message.html },
        ],
        custom_args: { latchkey_message_id: message.id },
      }),
    },
    ctx,
  );
  // 202 with an empty body; the id is a header.
  await res.body?.cancel();
  return { providerMessageId: res.headers.get("X-Message-Id") ?? undefined };
}
