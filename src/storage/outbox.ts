// The development outbox: a mailbox simulation that stands in for real email/SMS providers
// during `npm start`. It is a Durable Object, not a D1 table, on purpose: messages hold codes
// and links in clear text, and Latchkey's own storage never does (SPEC §8). Production never
// writes to it and /dev/* answers 404 there.
import { DurableObject } from "cloudflare:workers";

export interface OutboxMessage {
  id: string;
  appId: string;
  channel: "email" | "sms";
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Which message this was (reset_link, reset_code, …). */
  template: string;
  createdAt: string;
}

const KEEP = 500;

export class DevOutbox extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
        recipient TEXT NOT NULL, body TEXT NOT NULL)`,
    );
  }

  /** Stores a message once: a redelivered queue message with the same id is not added twice. */
  put(message: OutboxMessage): boolean {
    const inserted = this.sql
      .exec("INSERT INTO messages (id, recipient, body) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING RETURNING seq", message.id, message.to.toLowerCase(), JSON.stringify(message))
      .toArray();
    this.sql.exec("DELETE FROM messages WHERE seq <= (SELECT MAX(seq) FROM messages) - ?", KEEP);
    return inserted.length > 0;
  }

  list(to?: string, limit = 100): OutboxMessage[] {
    const rows = to
      ? this.sql.exec<{ body: string }>("SELECT body FROM messages WHERE recipient = ? ORDER BY seq DESC LIMIT ?", to.toLowerCase(), limit)
      : this.sql.exec<{ body: string }>("SELECT body FROM messages ORDER BY seq DESC LIMIT ?", limit);
    return rows.toArray().map((r) => JSON.parse(r.body) as OutboxMessage);
  }

  clear(): void {
    this.sql.exec("DELETE FROM messages");
  }
}

export const outboxStub = (ns: DurableObjectNamespace<DevOutbox>) => ns.get(ns.idFromName("outbox"));
