// CORS for browser apps, only for origins an app lists in settings.corsOrigins (SPEC §8).
// On app-scoped Kii paths only that app's list counts; on paths that name no app (the shared
// token endpoint, ZITADEL routes, which identify the app by token) an origin passes when some app
// lists it — the response still needs that app's credentials to be of any use.
// hono/cors writes the headers; this file only decides the origin, once per request, and
// refuses a preflight from an origin nobody lists (hono/cors would answer it 204 without
// Allow-Origin, which browsers refuse too, but a 403 says so plainly).
import { cors as honoCors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { originAllowed } from "../core/apps";
import type { AppContext, AppEnv } from "../http";

const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-Kii-AppID",
  "X-Kii-AppKey",
  "X-Kii-SDK",
  "Connect-Protocol-Version",
  "Connect-Timeout-Ms",
  "X-Grpc-Web",
  "X-User-Agent",
  "Grpc-Timeout",
];
const EXPOSED_HEADERS = ["Location", "Retry-After", "Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"];

const decided = new WeakMap<Request, boolean>();

async function allowed(c: AppContext, origin: string): Promise<boolean> {
  const known = decided.get(c.req.raw);
  if (known !== undefined) return known;
  const appId = /^\/api\/apps\/([a-z0-9]{8,64})\//.exec(c.req.path)?.[1] ?? null;
  const answer = await originAllowed(c.var.svc, origin, appId);
  decided.set(c.req.raw, answer);
  return answer;
}

const headers = honoCors({
  origin: async (origin, c) => ((await allowed(c as AppContext, origin)) ? origin : null),
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ALLOWED_HEADERS,
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: 600,
});

export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("Origin");
  if (!origin) return next();
  const preflight = c.req.method === "OPTIONS" && c.req.header("Access-Control-Request-Method");
  if (preflight && !(await allowed(c, origin))) return c.body(null, 403, { Vary: "Origin" });
  if (!preflight && !(await allowed(c, origin))) {
    // No CORS headers at all for an origin nobody listed; caches still learn the answer varies.
    await next();
    c.res.headers.append("Vary", "Origin");
    return;
  }
  return headers(c, next);
});
