// Resend (https://resend.com/docs/api-reference/emails/send-email). The only email API here with
// idempotency: the message id as Idempotency-Key makes a retried attempt a replay (kept 24 h).
import type { DeliveryMessage } from "../message";
import type { EmailProviderSettings } from "../../config/delivery";
import { formatAddress, jsonOf, request, type SendContext, type Sent, stringOf } from "./http";

type ResendSettings = Extract<EmailProviderSettings, { provider: "resend" }>;

export async function sendWithResend(config: ResendSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const res = await request(
    "https://api.resend.com/emails",
    {
      method: "POST",
      headers: {
        Authorization: `Bearer ${config.apiKey}`,
        "Content-Type": "application/json",
        "Idempotency-Key": message.id,
      },
      body: JSON.stringify({
        from: formatAddress(config.from, config.fromName),
        to: [message.to],
        subject: message.subject,
        text: message.text,
        html: message.html,
      }),
    },
    ctx,
    // 409 concurrent_idempotent_requests: the first attempt is still being processed; asking again
    // later returns its result. 409 invalid_idempotent_request (same key, other payload) is final.
    (status, body) => status === 409 && body.includes("concurrent_idempotent_requests"),
  );
  return { providerMessageId: stringOf((await jsonOf(res)).id) };
}
