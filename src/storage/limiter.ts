// Rate limits: one SQLite-backed Durable Object per key (idFromName), so each counter is
// strongly consistent wherever the requests come from. A sliding-window log: each accepted hit
// is a row; hits older than the window are forgotten; an alarm clears the object when idle.
// A request under several limits asks their objects at once (Limits.hitAll).
import { DurableObject } from "cloudflare:workers";

export interface LimitDecision {
  allowed: boolean;
  /** Seconds until the next hit would be accepted (0 when allowed). */
  retryAfterSeconds: number;
}

/** A decision, and for an accepted hit the moment it was counted (release() takes it back). */
export interface Reservation extends LimitDecision {
  at: number | null;
}

export class RateLimiter extends DurableObject {
  private readonly sql: SqlStorage;
  /** Whether the table and its index exist (the idle alarm's deleteAll() drops them). */
  private ready = false;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  /** Counts one hit if fewer than `limit` were accepted in the last `windowSeconds`. */
  hit(limit: number, windowSeconds: number, now = Date.now()): LimitDecision {
    const { allowed, retryAfterSeconds } = this.reserve(limit, windowSeconds, now);
    return { allowed, retryAfterSeconds };
  }

  /**
   * hit(), also telling when an accepted hit was counted, so that release() can take it back
   * (a request refused by another limit checked at the same time).
   */
  reserve(limit: number, windowSeconds: number, now = Date.now()): Reservation {
    // Synchronous SQL with no await between read and write: no other request interleaves.
    this.prepare();
    const windowStart = now - windowSeconds * 1000;
    this.sql.exec("DELETE FROM hits WHERE at <= ?", windowStart);
    // Counted in SQLite, not by reading the rows: a roomy limit (10,000 a minute, say) would
    // otherwise bring every hit in the window into JavaScript on every request.
    const inWindow = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM hits").one().n;
    if (inWindow >= limit) {
      // Newest first: a hit is accepted again once the limit-th newest leaves the window (right
      // even when the limit was lowered and more hits than the new limit are still inside it).
      const leaving = this.sql.exec<{ at: number }>("SELECT at FROM hits ORDER BY at DESC LIMIT 1 OFFSET ?", limit - 1).one().at;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((leaving + windowSeconds * 1000 - now) / 1000)), at: null };
    }
    this.sql.exec("INSERT INTO hits (at) VALUES (?)", now);
    void this.ctx.storage.setAlarm(now + windowSeconds * 1000 + 1000);
    return { allowed: true, retryAfterSeconds: 0, at: now };
  }

  /** Takes back one hit counted at `at` (hits at the same moment count alike, so any one of them). */
  release(at: number): void {
    this.prepare();
    this.sql.exec("DELETE FROM hits WHERE rowid = (SELECT rowid FROM hits WHERE at = ? LIMIT 1)", at);
  }

  /** For /healthz: the object answers and its storage reads, without counting anything. */
  ping(): "ok" {
    this.sql.exec("SELECT 1").toArray();
    return "ok";
  }

  override async alarm(): Promise<void> {
    this.ready = false;
    await this.ctx.storage.deleteAll();
  }

  /** The table of hits, indexed by time (the window's clean-up and the limit-th newest use it). */
  private prepare(): void {
    if (this.ready) return;
    this.sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS hits_at ON hits (at)");
    this.ready = true;
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

  /**
   * Several limits for one request, each in its own object, asked at the same time: one round
   * trip rather than one per limit. Accepted only if every one accepts; when any refuses, the
   * hits the others counted are taken back (one more call, on that path only), so a refused
   * request counts under no limit. Meanwhile a concurrent request may see those hits: the limits
   * err towards refusing, never towards letting more through.
   */
  async hitAll(checks: readonly { key: string; rule: LimitRule }[]): Promise<LimitDecision & { refusedKeys: string[] }> {
    const stubs = checks.map(({ key }) => this.namespace.get(this.namespace.idFromName(key)));
    const reservations = await Promise.all(checks.map(({ rule }, i) => stubs[i]!.reserve(rule.limit, rule.windowSeconds)));
    const refused = reservations.filter((r) => !r.allowed);
    if (!refused.length) return { allowed: true, retryAfterSeconds: 0, refusedKeys: [] };
    await Promise.all(reservations.map((r, i) => (r.at === null ? null : stubs[i]!.release(r.at))));
    const refusedKeys = checks.filter((_, i) => !reservations[i]!.allowed).map((c) => c.key);
    return { allowed: false, retryAfterSeconds: Math.max(...refused.map((r) => r.retryAfterSeconds)), refusedKeys };
  }

  /** Reaches one object (its own key, never a real limit's) and back. */
  async ping(): Promise<void> {
    const stub = this.namespace.get(this.namespace.idFromName("healthz"));
    await stub.ping();
  }
}
