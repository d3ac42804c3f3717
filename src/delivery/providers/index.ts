// Picks the provider function for a channel's settings. One file per provider beside this one.
import type { DeliveryMessage } from "../message";
import type { ProviderSettings } from "../../config/delivery";
import { sendWithCloudflare } from "./cloudflare";
import { permanent, type SendContext, type Sent } from "./http";
import { sendWithMailgun } from "./mailgun";
import { sendToOutbox } from "./outbox";
import { sendWithPostmark } from "./postmark";
import { sendWithResend } from "./resend";
import { sendWithSendGrid } from "./sendgrid";
import { sendWithTwilio } from "./twilio";
import { sendWithWebhook } from "./webhook";

export async function sendWith(settings: ProviderSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  switch (settings.provider) {
    case "outbox":
      // The outbox keeps codes in clear text for people testing locally; never in production.
      if (!ctx.development) throw permanent("outbox_outside_development");
      await sendToOutbox(ctx.env, message);
      return {};
    case "cloudflare":
      return sendWithCloudflare(settings, message, ctx);
    case "resend":
      return sendWithResend(settings, message, ctx);
    case "postmark":
      return sendWithPostmark(settings, message, ctx);
    case "sendgrid":
      return sendWithSendGrid(settings, message, ctx);
    case "mailgun":
      return sendWithMailgun(settings, message, ctx);
    case "twilio":
      return sendWithTwilio(settings, message, ctx);
    case "webhook":
      return sendWithWebhook(settings, message, ctx);
  }
}
