// The calls a request makes to its bindings (D1, KV, Durable Objects, Queues), traced by handing
// the Worker an env whose bindings record when each call was issued and when it settled, on one
// counter. From that: how many calls (what D1's per-invocation limit counts) and how many round
// trips the answer waited for one after another (what a network hop costs each, in production).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { app as worker } from "../src/app";

export interface IoCall {
  /** The binding's name in env (`USERS_0`, `LIMITER`, …) and the method called. */
  binding: string;
  op: string;
  issued: number;
  settled: number;
}

type Method = (...args: unknown[]) => unknown;

const KINDS: Record<string, string> = { DB: "control", CODES: "kv", LIMITER: "limiter", DELIVERY: "queue", OUTBOX: "outbox" };
const kindOf = (binding: string) => (/^USERS_\d+$/.test(binding) ? "shard" : (KINDS[binding] ?? binding));

export class IoTrace {
  readonly calls: IoCall[] = [];
  private tick = 0;
  /** The counter's value when the answer came back (Infinity until then). */
  answeredAt = Infinity;

  now(): number {
    return ++this.tick;
  }

  private track<T>(binding: string, op: string, work: () => T): T {
    const call: IoCall = { binding, op, issued: this.now(), settled: Infinity };
    this.calls.push(call);
    const result = work();
    if (!result || typeof (result as { then?: unknown }).then !== "function") {
      call.settled = this.now();
      return result;
    }
    return Promise.resolve(result).finally(() => (call.settled = this.now())) as T;
  }

  /** Each of the object's methods tracked under `binding`. */
  private methods<T extends object>(binding: string, target: T): T {
    return new Proxy(target, {
      get: (t, prop) => {
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => this.track(binding, String(prop), () => Reflect.apply(value as Method, t, args));
      },
    });
  }

  /** A D1 database: each statement run alone (all, first, run, raw), each batch and each exec is one call. */
  d1(binding: string, d1: D1Database): D1Database {
    const real = new WeakMap<object, D1PreparedStatement>();
    const statement = (s: D1PreparedStatement): D1PreparedStatement => {
      const run = (k: "all" | "run" | "first" | "raw") => (...args: unknown[]) => this.track(binding, k, () => Reflect.apply(s[k] as Method, s, args));
      const w = { bind: (...values: unknown[]) => statement(s.bind(...values)), all: run("all"), run: run("run"), first: run("first"), raw: run("raw") };
      real.set(w, s);
      return w as unknown as D1PreparedStatement;
    };
    return {
      prepare: (query: string) => statement(d1.prepare(query)),
      batch: (statements: D1PreparedStatement[]) => this.track(binding, "batch", () => d1.batch(statements.map((s) => real.get(s) ?? s))),
      exec: (query: string) => this.track(binding, "exec", () => d1.exec(query)),
    } as unknown as D1Database;
  }

  /** A Durable Object namespace: each call on a stub it hands out is one call (ids and stubs are local). */
  durableObjects(binding: string, ns: DurableObjectNamespace): DurableObjectNamespace {
    return new Proxy(ns, {
      get: (t, prop) => {
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        if (prop !== "get" && prop !== "getByName") return (value as Method).bind(t);
        return (...args: unknown[]) => this.methods(binding, Reflect.apply(value as Method, t, args) as object);
      },
    });
  }

  /** Every binding a request can reach, traced; the rest of env as it is. */
  env(vars: Record<string, unknown> = {}): Record<string, unknown> {
    const traced: Record<string, unknown> = { ...env, ...vars };
    for (const [name, value] of Object.entries(traced)) {
      if (name === "DB" || /^USERS_\d+$/.test(name)) traced[name] = this.d1(name, value as D1Database);
      else if (name === "CODES" || name === "DELIVERY") traced[name] = this.methods(name, value as object);
      else if (name === "LIMITER" || name === "OUTBOX") traced[name] = this.durableObjects(name, value as DurableObjectNamespace);
    }
    return traced;
  }

  /**
   * The calls that settled before the answer came back: those it may have waited for. Work left
   * to waitUntil (svc.defer) is still pending when the answer comes, and is not counted.
   */
  beforeAnswer(): IoCall[] {
    return this.calls.filter((c) => c.settled < this.answeredAt);
  }

  /**
   * The calls before the answer in the round trips they waited for: a call is in round trip n + 1
   * when the latest call that settled before it was issued is in round trip n (1 when none had).
   */
  roundTrips(): IoCall[][] {
    const calls = this.beforeAnswer();
    const depth = new Map<IoCall, number>();
    for (const call of calls) {
      const before = calls.filter((c) => c.settled < call.issued).map((c) => depth.get(c) ?? 0);
      depth.set(call, 1 + Math.max(0, ...before));
    }
    const trips: IoCall[][] = [];
    for (const call of calls) (trips[depth.get(call)! - 1] ??= []).push(call);
    return trips;
  }

  /**
   * The round trips as one line, each binding by what it is (a shard is any USERS_n), e.g.
   * `limiter.hit + shard.first | kv.put + shard.batch`.
   */
  describe(): string {
    return this.roundTrips().map((trip) => trip.map((c) => `${kindOf(c.binding)}.${c.op}`).sort().join(" + ")).join(" | ");
  }
}

/**
 * One request through the Worker with its bindings traced; the answer is read before the
 * execution context's remaining work (waitUntil) is waited for.
 */
export async function traced(request: Request, vars: Record<string, unknown> = {}): Promise<{ res: Response; body: string; trace: IoTrace }> {
  const trace = new IoTrace();
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, trace.env(vars), ctx);
  trace.answeredAt = trace.now();
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, body, trace };
}
