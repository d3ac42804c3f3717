// CORS for browser apps, only for origins an app lists in settings.corsOrigins (SPEC §8).
// On app-scoped Kii paths only that app's list counts; on paths that name no app (the shared
// token endpoint, ZITADEL routes, which identify the app by token) an origin passes when some app
// lists it — the response still needs that app's credentials to be of any use.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../http";

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
].join(", ");
const EXPOSED_HEADERS = "Location, Retry-After, Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin";

async function originAllowed(db: D1Database, origin: string, appId: string | null): Promise<boolean> {
  const query = appId
    ? db.prepare("SELECT 1 FROM apps, json_each(apps.settings, '$.corsOrigins') AS o WHERE apps.id = ? AND o.value = ? LIMIT 1").bind(appId, origin)
    : db.prepare("SELECT 1 FROM apps, json_each(apps.settings, '$.corsOrigins') AS o WHERE o.value = ? LIMIT 1").bind(origin);
  return (await query.first()) !== null;
}

export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("Origin");
  if (!origin) return next();
  const appId = /^\/api\/apps\/([a-z0-9]{8,64})\//.exec(c.req.path)?.[1] ?? null;
  const allowed = await originAllowed(c.env.DB, origin, appId);
  if (c.req.method === "OPTIONS" && c.req.header("Access-Control-Request-Method")) {
    if (!allowed) return c.body(null, 403);
    return c.body(null, 204, {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
      "Access-Control-Allow-Headers": ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
      Vary: "Origin",
    });
  }
  await next();
  if (allowed) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  }
  c.res.headers.append("Vary", "Origin");
});
