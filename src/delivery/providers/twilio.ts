// Twilio Programmable Messaging (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
// Creating a Message has no documented idempotency key (I-Twilio-Idempotency-Token is what Twilio
// sends on its own webhooks), so a retried attempt whose first answer was lost can send a second
// SMS. A 429 is safe to retry: Twilio does not process a request it answered with 429.
import type { DeliveryMessage } from "../message";
import type { SmsProviderSettings } from "../../config/delivery";
import { basicAuth, jsonOf, request, type SendContext, type Sent, stringOf } from "./http";

type TwilioSettings = Extract<SmsProviderSettings, { provider: "twilio" }>;

export async function sendWithTwilio(config: TwilioSettings, message: DeliveryMessage, ctx: SendContext): Promise<Sent> {
  const form = new URLSearchParams({ To: message.to, Body: message.text });
  if (config.messagingServiceSid) form.set("MessagingServiceSid", config.messagingServiceSid);
  else form.set("From", config.from!);
  const res = await request(
    `https://api.twilio.com/2010-04-01/Accounts/${config.accountSid}/Messages.json`,
    {
      method: "POST",
      headers: { Authorization: basicAuth(config.accountSid, config.authToken), "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    },
    ctx,
  );
  return { providerMessageId: stringOf((await jsonOf(res)).sid) };
}
