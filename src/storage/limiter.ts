// Rate limits: SQLite-backed Durable Objects (idFromName), so each counter is strongly
// consistent wherever the requests come from. A sliding-window log: each accepted hit is a row;
// hits older than the window are forgotten; an alarm clears the object when idle.
// - hit(): one object per key, one counter (sign-in and registration throttles, verification).
// - hitEach(): several keyed counters in one object, decided in one call (a reset request's
//   per-IP and per-address limits, in one object per app): one round trip instead of two.
import { DurableObject } from "cloudflare:workers";

export interface LimitDecision {
  allowed: boolean;
  /** Seconds until the next hit would be accepted (0 when allowed). */
  retryAfterSeconds: number;
}

/** One counter of a hitEach call: its key within the object, and its rule. */
export interface KeyedRule {
  key: string;
  limit: number;
  windowSeconds: number;
}

/** The longest window a setting allows (config/settings.ts): hitEach's rows never need to outlive it. */
export const MAX_WINDOW_SECONDS = 86_400;

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

  /**
   * Counts one hit under each rule, in order, each against its own key's hits in this object. The
   * first rule that refuses stops there: the hits counted before it stay counted and the later
   * rules count nothing, as separate calls one after the other would have left them. All of it
   * runs without an await, so no other call interleaves.
   */
  hitEach(rules: readonly KeyedRule[], now = Date.now()): LimitDecision {
    this.sql.exec("CREATE TABLE IF NOT EXISTS keyed_hits (key TEXT NOT NULL, at INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS keyed_hits_key_at ON keyed_hits (key, at)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS keyed_hits_at ON keyed_hits (at)");
    // Keys that are never hit again (an address asked for once) must not pile up while the
    // object stays busy: nothing older than the longest possible window can count.
    this.sql.exec("DELETE FROM keyed_hits WHERE at <= ?", now - MAX_WINDOW_SECONDS * 1000);
    for (const rule of rules) {
      const windowMs = Math.min(rule.windowSeconds, MAX_WINDOW_SECONDS) * 1000;
      this.sql.exec("DELETE FROM keyed_hits WHERE key = ? AND at <= ?", rule.key, now - windowMs);
      const rows = this.sql.exec<{ at: number }>("SELECT at FROM keyed_hits WHERE key = ? ORDER BY at DESC LIMIT ?", rule.key, rule.limit).toArray();
      if (rows.length >= rule.limit) {
        const leaving = rows[rule.limit - 1]!.at;
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((leaving + windowMs - now) / 1000)) };
      }
      this.sql.exec("INSERT INTO keyed_hits (key, at) VALUES (?, ?)", rule.key, now);
    }
    // Idle for the longest window: nothing left here can count. (Not the rules' own windows: a
    // later call with a shorter one must not clear hits a longer window still counts.)
    if (rules.length) void this.ctx.storage.setAlarm(now + MAX_WINDOW_SECONDS * 1000 + 1000);
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

  /** Several counters kept together in the object named `name`, in one round trip (RateLimiter.hitEach). */
  async hitEach(name: string, rules: readonly KeyedRule[]): Promise<LimitDecision> {
    const stub = this.namespace.get(this.namespace.idFromName(name));
    return stub.hitEach(rules);
  }

  /** Reaches one object (its own key, never a real limit's) and back. */
  async ping(): Promise<void> {
    const stub = this.namespace.get(this.namespace.idFromName("healthz"));
    await stub.ping();
  }
}
