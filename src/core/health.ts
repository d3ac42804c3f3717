// GET /healthz: whether each binding the service depends on answers, quickly, for uptime monitors.
// Each check is bounded by a timeout and reports only "ok", "timeout" or "error": never an error's
// text, which could name a query or a configuration value.
import type { Services } from "./services";

/** A binding slower than this counts as down: a monitor wants an answer within seconds. */
export const HEALTH_TIMEOUT_MS = 1_500;

export type CheckResult = "ok" | "timeout" | "error";

export interface HealthReport {
  status: "ok" | "fail";
  checks: Record<"d1" | "kv" | "limiter" | "queue", { result: CheckResult; ms: number }>;
}

async function timed(work: () => Promise<unknown>, timeoutMs: number): Promise<{ result: CheckResult; ms: number }> {
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

export async function checkHealth(svc: Services, timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthReport> {
  const [d1, kv, limiter, queue] = await Promise.all([
    timed(() => svc.env.DB.prepare("SELECT 1 AS ok").first(), timeoutMs),
    // A key no code ever writes: a read that finds nothing still proves the namespace answers.
    timed(() => svc.env.CODES.get("healthz"), timeoutMs),
    timed(() => svc.limits.ping(), timeoutMs),
    // The consumer drops decoys unsent (delivery/consumer.ts); this proves the producer binding works.
    timed(() => svc.notifier.sendDecoy(), timeoutMs),
  ]);
  const checks = { d1, kv, limiter, queue };
  return { status: Object.values(checks).every((c) => c.result === "ok") ? "ok" : "fail", checks };
}
