// Types and helpers shared by the HTTP faces.
import type { Context } from "hono";
import type { Env } from "./config/env";
import type { Services } from "./core/services";
import { rateLimitAddress } from "./lib/ip";

export interface AppEnv {
  Bindings: Env;
  Variables: { svc: Services };
}

export type AppContext = Context<AppEnv>;

/**
 * The caller's address as Cloudflare reports it (null locally when absent), as a rate-limit key
 * (lib/ip.ts: IPv6 by /64, IPv4-mapped as IPv4). A value that is no address still counts, as itself.
 */
export const clientIp = (c: Context): string | null => {
  const ip = c.req.header("CF-Connecting-IP")?.trim();
  if (!ip) return null;
  return rateLimitAddress(ip) ?? ip.slice(0, 64);
};

/** The public origin for links: always PUBLIC_URL, never the Host the request names (config/runtime.ts). */
export const publicOrigin = (c: AppContext) => c.var.svc.config.publicUrl;

/** Request bodies larger than this are refused before they are read. */
export const MAX_BODY_BYTES = 64 * 1024;

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
