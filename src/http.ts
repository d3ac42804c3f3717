// Types and helpers shared by the HTTP faces.
import type { Context } from "hono";
import type { Env } from "./config";
import type { Services } from "./core/services";

export interface AppEnv {
  Bindings: Env;
  Variables: { svc: Services };
}

export type AppContext = Context<AppEnv>;

/**
 * The caller's address as Cloudflare reports it (null locally when absent), as a rate-limit key.
 * An IPv6 client usually holds a whole /64 and could rotate through it, so IPv6 addresses are
 * keyed by their /64 prefix.
 */
export const clientIp = (c: Context) => {
  const ip = c.req.header("CF-Connecting-IP");
  return ip ? rateLimitAddress(ip) : null;
};

export function rateLimitAddress(ip: string): string {
  if (!ip.includes(":")) return ip;
  const [head = "", tail = ""] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/** The public origin for links: PUBLIC_URL when set, else the origin the request came to. */
export const publicOrigin = (c: AppContext) => c.var.svc.config.publicUrl ?? new URL(c.req.url).origin;

/** Request bodies larger than this are refused before they are read. */
export const MAX_BODY_BYTES = 64 * 1024;

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
