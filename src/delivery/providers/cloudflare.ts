// Cloudflare Email Sending through a [[send_email]] binding (structured form: the runtime builds
// the MIME). The binding is named in settings (default EMAIL) and must exist in wrangler.toml.
// No idempotency key is documented: a retried attempt whose first answer was lost can send twice.
import type { DeliveryMessage } from "../message";
import type { EmailProviderSettings } from "../../config/delivery";
import { DeliveryFailure, permanent, type SendContext, type Sent } from "./http";

type CloudflareSettings = Extract<EmailProviderSettings, { provider: "cloudflare" }>;

// Error codes of the binding that say "try again later"; every other code is final (a sender not
// verified, a suppressed recipient, a malformed message).
const RETRYABLE_CODES = new Set(["E_RATE_LIMIT_EXCEEDED", "E_DAILY_LIMIT_EXCEEDED", "E_INTERNAL_SERVER_ERROR", "E_DELIVERY_FAILED"]);

export async function sendWithCloudflare(config: CloudflareSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const binding = (ctx.env as unknown as Record<string, unknown>)[config.binding] as Partial<SendEmail> | undefined;
  if (typeof binding?.send !== "function") throw permanent("send_email_binding_missing");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryFailure(true, "timeout")), ctx.timeoutMs);
  });
  try {
    const result = await Promise.race([
      binding.send({
        from: config.fromName ? { email: config.from, name: config.fromName } : config.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      }),
      timeout,
    ]);
    return { providerMessageId: result.messageId };
  } catch (e) {
    if (e instanceof DeliveryFailure) throw e;
    const code = typeof (e as { code?: unknown })?.code === "string" ? (e as { code: string }).code : "";
    if (!code) throw new DeliveryFailure(true, "send_email_error");
    throw new DeliveryFailure(RETRYABLE_CODES.has(code), code.toLowerCase());
  } finally {
    clearTimeout(timer);
  }
}
