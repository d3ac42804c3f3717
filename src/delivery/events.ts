// The security event webhook: one signed POST per event to the app's settings.events.url, with
// the body Standard Webhooks recommends ({type, timestamp, data}). The consumer retries and
// dead-letters it like any message; webhook-id is the event's id on every attempt.
import { type EventSettings } from "../config/events";
import type { EventMessage } from "./message";
import type { SendContext } from "./providers/http";
import { postSigned } from "./providers/webhook";

export async function sendEvent(destination: NonNullable<EventSettings>, event: EventMessage, ctx: SendContext): Promise<void> {
  const body = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
  await postSigned(destination, event.id, body, ctx);
}
