// Postmark (https://postmarkapp.com/developer/user-guide/send-email-with-api). Postmark has no
// idempotency key: an attempt whose answer is lost (timeout after acceptance) and is retried can
// send a second email. The message id travels as Metadata so duplicates can be told apart.
import type { DeliveryMessage } from "../message";
import type { EmailProviderSettings } from "../../config/delivery";
import { formatAddress, jsonOf, request, type SendContext, type Sent, stringOf } from "./http";

type PostmarkSettings = Extract<EmailProviderSettings, { provider: "postmark" }>;

/** Postmark answers most rejections with 422 and an ErrorCode; 429 there means rate limited. */
const POSTMARK_RATE_LIMITED = 429;

export async function sendWithPostmark(config: PostmarkSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const res = await request(
    "https://api.postmarkapp.com/email",
    {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-Postmark-Server-Token": config.serverToken,
      },
      body: JSON.stringify({
        From: formatAddress(config.from, config.fromName),
        To: message.to,
        Subject: message.subject,
        TextBody: message.text,
        HtmlBody: message.html,
        MessageStream: config.messageStream,
        Metadata: { latchkeyMessageId: message.id },
      }),
    },
    ctx,
    (status, body) => status === 422 && errorCodeOf(body) === POSTMARK_RATE_LIMITED,
  );
  return { providerMessageId: stringOf((await jsonOf(res)).MessageID) };
}

function errorCodeOf(body: string): number | undefined {
  try {
    const code = (JSON.parse(body) as { ErrorCode?: unknown }).ErrorCode;
    return typeof code === "number" ? code : undefined;
  } catch {
    return undefined;
  }
}
