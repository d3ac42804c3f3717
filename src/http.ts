// Types and helpers shared by the HTTP faces.
import type { Context } from "hono";
import type { Env } from "./config";
import type { Services } from "./core/services";

export interface AppEnv {
  Bindings: Env;
  Variables: { svc: Services };
}

export type AppContext = Context<AppEnv>;

/** The caller's address as Cloudflare reports it (null locally when absent). */
export const clientIp = (c: Context) => c.req.header("CF-Connecting-IP") ?? null;

/** The public origin for links: PUBLIC_URL when set, else the origin the request came to. */
export const publicOrigin = (c: AppContext) => c.var.svc.config.publicUrl ?? new URL(c.req.url).origin;

/** Request bodies larger than this are refused before they are read. */
export const MAX_BODY_BYTES = 64 * 1024;

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
