// What every provider shares: the send context, the failure type the consumer classifies, and
// one fetch wrapper that turns timeouts, network errors and HTTP statuses into that type.
import type { Env } from "../../config/env";
import { base64, fromBase64 } from "../../lib/encoding";

export interface SendContext {
  env: Env;
  development: boolean;
  now: () => number;
  /** Per-attempt limit; a provider slower than this is treated like one that is down. */
  timeoutMs: number;
}

export interface Sent {
  /** The provider's own id for the message, for correlating with its logs. */
  providerMessageId?: string;
}

/**
 * A failed attempt. `retryable` failures go back to the queue (with `retryAfterSeconds` when the
 * provider said when); the others go to the dead-letter queue at once. `reason` is a short code
 * and never carries the message, the address or the provider's answer (which may echo either).
 */
export class DeliveryFailure extends Error {
  constructor(
    readonly retryable: boolean,
    readonly reason: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(reason);
  }
}

export const permanent = (reason: string, status?: number) => new DeliveryFailure(false, reason, status);

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Sends one request with a timeout. Resolves with a 2xx response; otherwise throws a
 * DeliveryFailure: network errors, timeouts, 408, 429 and 5xx are retryable, any other status is
 * not (a bad key or a rejected address does not improve by asking again). `isRetryable` lets a
 * provider mark a specific answer retryable (Resend's 409 for a request still in flight).
 */
export async function request(
  url: string,
  init: RequestInit,
  ctx: SendContext,
  isRetryable?: (status: number, body: string) => boolean,
): Promise<Response> {
  let res: Response;
  try {
    // A redirected POST would be replayed as GET or to a place nobody configured.
    res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(ctx.timeoutMs) });
  } catch (e) {
    const name = e instanceof Error ? e.name : "";
    throw new DeliveryFailure(true, name === "TimeoutError" || name === "AbortError" ? "timeout" : "network_error");
  }
  if (res.status >= 200 && res.status < 300) return res;
  const retryAfterSeconds = parseRetryAfter(res.headers.get("Retry-After"), ctx.now());
  const body = isRetryable ? await res.text().catch(() => "") : (await res.body?.cancel(), "");
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500 || (isRetryable?.(res.status, body) ?? false);
  throw new DeliveryFailure(retryable, `http_${res.status}`, res.status, retryable ? retryAfterSeconds : undefined);
}

/** `Name <address>`, quoting the name unless it is plain words (RFC 5322 atoms). */
export function formatAddress(address: string, name?: string): string {
  if (!name) return address;
  return /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name) ? `${name} <${address}>` : `"${name}" <${address}>`;
}

export const basicAuth = (user: string, password: string) => `Basic ${base64(new TextEncoder().encode(`${user}:${password}`))}`;

export { base64, fromBase64 };

/** The JSON a provider answered with, or {} when it is not JSON (the message was still accepted). */
export async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  try {
    const value: unknown = await res.json();
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export const stringOf = (value: unknown): string | undefined => (typeof value === "string" && value ? value : undefined);
