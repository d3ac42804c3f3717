// Rate limits: one SQLite-backed Durable Object per key (idFromName), so each counter is
// strongly consistent wherever the requests come from. A sliding-window log: each accepted hit
// is a row; hits older than the window are forgotten; an alarm clears the object when idle.
import { DurableObject } from "cloudflare:workers";

export interface LimitDecision {
  allowed: boolean;
  /** Seconds until the next hit would be accepted (0 when allowed). */
  retryAfterSeconds: number;
}

export class RateLimiter extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  /** Counts one hit if fewer than `limit` were accepted in the last `windowSeconds`. */
  hit(limit: number, windowSeconds: number, now = Date.now()): LimitDecision {
    // Synchronous SQL with no await between read and write: no other request interleaves.
    // Created here, not in the constructor: the idle alarm's deleteAll() drops the table while
    // this instance may live on.
    this.sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)");
    const windowStart = now - windowSeconds * 1000;
    this.sql.exec("DELETE FROM hits WHERE at <= ?", windowStart);
    // Newest first: a hit is accepted again once the limit-th newest leaves the window (right
    // even when the limit was lowered and more hits than the new limit are still inside it).
    const rows = this.sql.exec<{ at: number }>("SELECT at FROM hits ORDER BY at DESC LIMIT ?", limit).toArray();
    if (rows.length >= limit) {
      const leaving = rows[limit - 1]!.at;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((leaving + windowSeconds * 1000 - now) / 1000)) };
    }
    this.sql.exec("INSERT INTO hits (at) VALUES (?)", now);
    void this.ctx.storage.setAlarm(now + windowSeconds * 1000 + 1000);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** For /healthz: the object answers and its storage reads, without counting anything. */
  ping(): "ok" {
    this.sql.exec("SELECT 1").toArray();
    return "ok";
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}

export interface LimitRule {
  limit: number;
  windowSeconds: number;
}

/** The Worker-side view of the limiter: one object per key. */
export class Limits {
  constructor(private readonly namespace: DurableObjectNamespace<RateLimiter>) {}

  async hit(key: string, rule: LimitRule): Promise<LimitDecision> {
    const stub = this.namespace.get(this.namespace.idFromName(key));
    return stub.hit(rule.limit, rule.windowSeconds);
  }

  /** Reaches one object (its own key, never a real limit's) and back. */
  async ping(): Promise<void> {
    const stub = this.namespace.get(this.namespace.idFromName("healthz"));
    await stub.ping();
  }
}
