// The Hono app: shared middleware, then the faces.
import type { MiddlewareHandler } from "hono";
import { Hono } from "hono/tiny";
import { secureHeaders } from "hono/secure-headers";
import { ConfigError } from "./config/runtime";
import { checkHealth } from "./core/health";
import type { Via } from "./core/events";
import { createServices } from "./core/services";
import { admin } from "./faces/admin/routes";
import { kii } from "./faces/kii/routes";
import { zitadelRest, zitadelRpc } from "./faces/zitadel";
import type { AppEnv } from "./http";
import { cors } from "./middleware/cors";
import { devPages } from "./web/dev";
import { resetPage } from "./web/reset-page";
import { verifyPage } from "./web/verify-page";
import { logError } from "./lib/log";
import { canonicalAddress } from "./lib/ip";

/** Set by wrangler's `define` (wrangler.toml); undefined where nothing defines it (the tests). */
declare const LATCHKEY_DEV_PAGES: boolean | undefined;

export const app = new Hono<AppEnv>();

app.use(async (c, next) => {
  try {
    const origin = { via: null, ip: canonicalAddress(c.req.header("CF-Connecting-IP")) };
    c.set("svc", createServices(c.env, (work) => c.executionCtx.waitUntil(work), origin));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(JSON.stringify({ level: "error", event: "bad_configuration", error: e.message }));
      return c.json({ error: "misconfigured", message: "The service is misconfigured; see its logs" }, 503);
    }
    throw e;
  }
  await next();
});

app.use(secureHeaders({ referrerPolicy: "no-referrer", crossOriginResourcePolicy: false, xFrameOptions: "DENY" }));

// Which surface a request came through, for security events (core/events.ts).
const via = (name: Via): MiddlewareHandler<AppEnv> => async (c, next) => {
  c.var.svc.origin.via = name;
  await next();
};
app.use("/api/*", via("kii"));
app.use("/v2/*", via("zitadel"));
app.use("/zitadel.user.v2.UserService/*", via("zitadel"));
app.use("/zitadel.session.v2.SessionService/*", via("zitadel"));
app.use("/reset/*", via("web"));
app.use("/verify/*", via("web"));
app.use("/admin/*", via("admin"));

app.use("/api/*", cors);
app.use("/v2/*", cors);
app.use("/zitadel.user.v2.UserService/*", cors);
app.use("/zitadel.session.v2.SessionService/*", cors);

app.get("/", (c) => c.json({ service: "latchkey", dialects: ["/api (Kii Cloud)", "/v2 (ZITADEL v2 User Service)"] }));
// For uptime monitors: 200 when the control database and every shard (each with its schema up to
// date), KV, the limiter and the queue all answer, else 503 naming which did not. No
// authentication, and nothing in it that is secret.
app.get("/healthz", async (c) => {
  const report = await checkHealth(c.var.svc);
  c.header("Cache-Control", "no-store");
  return c.json(report, report.status === "ok" ? 200 : 503);
});
// GET /openapi.json and GET /docs are static files (public/, written at build time by
// `npm run gen:openapi` from src/openapi/), answered before this Worker runs.
app.route("/api", kii);
app.route("/v2", zitadelRest);
app.route("/zitadel.user.v2.UserService", zitadelRpc);
app.route("/zitadel.session.v2.SessionService", zitadelRpc);
app.route("/reset", resetPage);
app.route("/verify", verifyPage);
app.route("/admin", admin);
// The dev pages answer only when ENVIRONMENT=development. The production build defines
// LATCHKEY_DEV_PAGES as false (wrangler.toml [env.production.define]), which leaves them out of
// the bundle; elsewhere (wrangler dev, the tests) it is true or not defined at all.
if (typeof LATCHKEY_DEV_PAGES === "undefined" || LATCHKEY_DEV_PAGES) app.route("/dev", devPages());

app.notFound((c) => c.json({ error: "not_found", message: "No such resource" }, 404));
app.onError((err, c) => {
  logError({ route: c.req.routePath }, err);
  return c.json({ error: "internal", message: "Internal server error" }, 500);
});
