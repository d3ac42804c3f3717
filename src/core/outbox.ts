// The development outbox as the /dev pages see it (storage/outbox.ts holds the messages).
import { type OutboxMessage, outboxStub } from "../storage/outbox";
import type { Services } from "./services";

export type { OutboxMessage };

/** Newest first, optionally only those sent to one address or number. */
export const listOutbox = (svc: Services, to?: string): Promise<OutboxMessage[]> => outboxStub(svc.env.OUTBOX).list(to);

export const clearOutbox = async (svc: Services): Promise<void> => {
  await outboxStub(svc.env.OUTBOX).clear();
};
