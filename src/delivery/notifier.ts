// Puts messages on the delivery Queue. The API answers without waiting for any provider; the
// queue consumer (consumer.ts) delivers, retries and dead-letters.
import { type Channel, type DeliveryMessage, type EventMessage, type SealedEnvelope, sealForQueue, type TemplateName } from "./message";
import type { TemplateSettings } from "../config/delivery";
import { renderTemplate, type TemplateVars } from "./templates";
import { type Locale } from "../i18n/locale";

export interface Outgoing {
  appId: string;
  channel: Channel;
  to: string;
  template: TemplateName;
  locale: Locale;
  vars: TemplateVars;
  /** The app's overrides (settings.templates); built-in templates fill the gaps. */
  templates?: TemplateSettings;
  /** The user it is for: the consumer drops it if the user has been deleted by then. */
  userId?: string;
}

export class Notifier {
  constructor(
    private readonly queue: Queue<SealedEnvelope>,
    /** QUEUE_KEY: every body is sealed before it is queued (message.ts). */
    private readonly queueKey: string,
  ) {}

  compose(out: Outgoing, now = Date.now()): DeliveryMessage {
    const rendered = renderTemplate(out.template, out.locale, out.vars, out.templates);
    return {
      id: `msg_${crypto.randomUUID()}`,
      appId: out.appId,
      channel: out.channel,
      to: out.to,
      template: out.template,
      locale: out.locale,
      ...rendered,
      createdAt: new Date(now).toISOString(),
      ...(out.userId !== undefined ? { userId: out.userId } : {}),
    };
  }

  /** A queue message the consumer drops: enumeration protection's stand-in for a real send. */
  async sendDecoy(): Promise<void> {
    // Sealed like a real message: same work, same size class, indistinguishable on the queue.
    await this.queue.send(await sealForQueue(this.queueKey, { decoy: true }), { contentType: "json" });
  }

  async send(out: Outgoing): Promise<DeliveryMessage> {
    const message = this.compose(out);
    await this.enqueue(message);
    return message;
  }

  /** Queues a message composed beforehand (compose), e.g. to render it before anything is written. */
  async enqueue(message: DeliveryMessage): Promise<void> {
    await this.queue.send(await sealForQueue(this.queueKey, message), { contentType: "json" });
  }

  /** Security events for an app's event webhook (core/events.ts), sealed like every message. */
  async sendEvents(events: EventMessage[]): Promise<void> {
    if (events.length === 0) return;
    const bodies = await Promise.all(events.map(async (event) => ({ body: await sealForQueue(this.queueKey, event), contentType: "json" as const })));
    // Queues takes at most 100 messages per sendBatch.
    for (let i = 0; i < bodies.length; i += 100) {
      const chunk = bodies.slice(i, i + 100);
      if (chunk.length === 1) await this.queue.send(chunk[0]!.body, { contentType: "json" });
      else await this.queue.sendBatch(chunk);
    }
  }
}
