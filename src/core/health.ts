// GET /healthz: whether each binding the service depends on answers, quickly, for uptime monitors.
// Each check is bounded by a timeout and reports only "ok", "timeout", "error" or, for a D1
// database whose schema is behind the code, "behind" with our own message naming the missing
// migrations: never an error's text, which could name a query or a configuration value.
import { missingMigrations } from "../storage/shards";
import type { Services } from "./services";
import { behindMessage } from "./shards";

/** A binding slower than this counts as down: a monitor wants an answer within seconds. */
export const HEALTH_TIMEOUT_MS = 1_500;

export type CheckResult = "ok" | "timeout" | "error" | "behind";

export interface Check {
  result: CheckResult;
  ms: number;
  /** Only for "behind": which migrations are missing and what to run. */
  message?: string;
}

export interface HealthReport {
  status: "ok" | "fail";
  /** d1 is the control database (DB): it answers, and its schema is not behind. */
  checks: Record<"d1" | "kv" | "limiter" | "queue", Check>;
  /** Each user-data shard by binding name (USERS_0 …): it answers, and its schema is not behind. */
  shards: Record<string, Check>;
}

async function timed(work: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const start = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<CheckResult>((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  const attempt = Promise.resolve()
    .then(work)
    .then(
      (): CheckResult => "ok",
      (): CheckResult => "error",
    );
  const result = await Promise.race([attempt, timeout]);
  clearTimeout(timer);
  return { result, ms: Date.now() - start };
}

/** A database answers, and has every migration the code needs (a refused shard's apps answer 503). */
async function database(name: string, d1: D1Database, timeoutMs: number): Promise<Check> {
  let missing: string[] = [];
  const check = await timed(async () => (missing = await missingMigrations(d1)), timeoutMs);
  if (check.result !== "ok" || missing.length === 0) return check;
  return { result: "behind", ms: check.ms, message: behindMessage(name, missing) };
}

export async function checkHealth(svc: Services, timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthReport> {
  const shardChecks = Promise.all(svc.shards.map((s) => database(s.name, s.d1, timeoutMs)));
  const [d1, kv, limiter, queue] = await Promise.all([
    database("DB", svc.env.DB, timeoutMs),
    // A key no code ever writes: a read that finds nothing still proves the namespace answers.
    timed(() => svc.env.CODES.get("healthz"), timeoutMs),
    timed(() => svc.limits.ping(), timeoutMs),
    // The consumer drops decoys unsent (delivery/consumer.ts); this proves the producer binding works.
    timed(() => svc.notifier.sendDecoy(), timeoutMs),
  ]);
  const checks = { d1, kv, limiter, queue };
  const shards = Object.fromEntries((await shardChecks).map((check, i) => [svc.shards[i]!.name, check]));
  const ok = [...Object.values(checks), ...Object.values(shards)].every((c) => c.result === "ok");
  return { status: ok ? "ok" : "fail", checks, shards };
}
