// The operator API (/admin/apps), behind the ADMIN_TOKEN secret. Errors are plain JSON:
// {"error": code, "message": text, "field"?: path}.
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import * as z from "zod/mini";
import { describeZodError, isZodError } from "../../config/settings";
import { APP_ID, createApp, deleteApp, describeApp, listApps, MAX_ROTATION_GRACE_SECONDS, requireApp, rotateAppCredentials, updateAppSettings } from "../../core/apps";
import { constantTimeEqual } from "../../lib/digest";
import { coreErrorOf, moveApp } from "../../core/shards";
import { type AppContext, type AppEnv, bearerToken, MAX_BODY_BYTES } from "../../http";
import { logError } from "../../lib/log";
import "../../lib/zod-locale";
import { importUsersRoute } from "./import";

class AdminError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 500 | 503,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const adminError = (e: AdminError) =>
  new Response(JSON.stringify({ error: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) }), {
    status: e.status,
    headers: { "Content-Type": "application/json", ...(e.retryAfterSeconds !== undefined ? { "Retry-After": String(e.retryAfterSeconds) } : {}) },
  });

/** Settings are checked as a whole by the core (config/settings.ts appSettingsSchema, then its rules). */
export const settingsField = z.record(z.string(), z.unknown());
export const createSchema = z.strictObject({
  appId: z.optional(z.string().check(z.regex(APP_ID, "8 to 64 lower-case letters and digits"))),
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  settings: z.optional(settingsField),
  /** The shard for the app's users (USERS_{shard}); by default the one holding the fewest apps. */
  shard: z.optional(z.int().check(z.gte(0), z.lte(999))),
});
export const patchSchema = z.strictObject({ settings: settingsField });

export const admin = new Hono<AppEnv>();

const limitBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => adminError(new AdminError(413, "too_large", "Request body too large")) });
// The bulk import streams its body line by line with a per-line cap (import.ts), so the
// whole-body limit does not apply to it.
const IMPORT_PATH = /\/apps\/[^/]+\/users:import$/;
admin.use((c, next) => (IMPORT_PATH.test(c.req.path) ? next() : limitBody(c, next)));

admin.use(async (c, next) => {
  const expected = c.var.svc.config.adminToken;
  const given = bearerToken(c.req.header("Authorization"));
  if (!expected || !given || !constantTimeEqual(given, expected)) {
    throw new AdminError(401, "unauthorized", "A valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)");
  }
  await next();
});

admin.onError((err, c) => {
  if (err instanceof AdminError) return adminError(err);
  if (isZodError(err)) {
    const { field, message } = describeZodError(err, "settings");
    return adminError(new AdminError(400, "invalid_settings", message, field));
  }
  const core = coreErrorOf(err);
  if (core) {
    if (core.kind === "app_not_found") return adminError(new AdminError(404, "not_found", core.message));
    if (core.kind === "user_exists") return adminError(new AdminError(409, "conflict", core.message, "appId"));
    if (core.kind === "invalid_input") return adminError(new AdminError(400, "invalid_request", core.message, core.details.field));
    if (core.kind === "state_conflict") return adminError(new AdminError(409, "conflict", core.message, core.details.field));
    if (core.kind === "unavailable") return adminError(new AdminError(503, "unavailable", core.message, undefined, core.details.retryAfterSeconds ?? 5));
  }
  logError({ face: "admin", route: c.req.routePath }, err);
  return adminError(new AdminError(500, "internal", "Internal server error"));
});

admin.notFound(() => adminError(new AdminError(404, "not_found", "No such resource")));

async function readBody<T>(c: AppContext, schema: z.ZodMiniType<T>): Promise<T> {
  if (!/^application\/json\s*(;|$)/i.test(c.req.header("Content-Type") ?? "")) {
    throw new AdminError(415, "unsupported_media_type", "The request body must be application/json");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new AdminError(400, "invalid_json", "The request body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = describeZodError(parsed.error);
    throw new AdminError(400, "invalid_request", message, field);
  }
  return parsed.data;
}

admin.post("/apps", async (c) => {
  const body = await readBody(c, createSchema);
  const { app, clientSecret } = await createApp(c.var.svc, body);
  return c.json({ ...describeApp(app), clientSecret }, 201);
});

export const listQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 50),
  after: z.optional(z.string().check(z.regex(/^[a-z0-9]{1,64}$/, "an appId from a previous page's next"))),
});

/** GET /admin/apps?limit=50&after=<next>: apps in id order, a page at a time. */
admin.get("/apps", async (c) => {
  const parsed = listQuery.safeParse(c.req.query());
  if (!parsed.success) {
    const { field, message } = describeZodError(parsed.error);
    throw new AdminError(400, "invalid_request", message, field);
  }
  return c.json(await listApps(c.var.svc, { after: parsed.data.after ?? null, limit: parsed.data.limit }));
});

admin.get("/apps/:appId", async (c) => c.json(describeApp(await requireApp(c.var.svc, c.req.param("appId")))));

admin.patch("/apps/:appId", async (c) => {
  const svc = c.var.svc;
  const app = await requireApp(svc, c.req.param("appId"));
  const body = await readBody(c, patchSchema);
  return c.json(describeApp(await updateAppSettings(svc, app, body.settings)));
});

export const rotateSchema = z.strictObject({
  /** How long the old key and secret keep working (default one day; 0 ends them at once). */
  graceSeconds: z._default(z.int().check(z.gte(0), z.lte(MAX_ROTATION_GRACE_SECONDS)), 86_400),
});

/** POST /admin/apps/{appId}/rotate: a new appKey and clientSecret, shown once. */
admin.post("/apps/:appId/rotate", async (c) => {
  const svc = c.var.svc;
  const app = await requireApp(svc, c.req.param("appId"));
  const body = await readBody(c, rotateSchema);
  return c.json({ appId: app.id, ...(await rotateAppCredentials(svc, app, body.graceSeconds)) });
});

admin.post("/apps/:appId/:action{users:import}", (c) =>
  importUsersRoute(c, (status, code, message, field) => {
    throw new AdminError(status, code, message, field);
  }),
);

export const moveSchema = z.strictObject({
  /** The target shard (binding USERS_{shard}); the app's current shard cancels an unfinished move. */
  shard: z.int().check(z.gte(0), z.lte(999)),
  /** Seconds between the switch and deleting the source's copy: above the isolates' app cache lifetime (10 s) plus replica lag. */
  settleSeconds: z._default(z.int().check(z.gte(0), z.lte(60)), 15),
});

/**
 * POST /admin/apps/{appId}/move {shard}: copies the app's users to another shard and switches its
 * routing (core/shards.ts moveApp). The app's writes answer 503 with Retry-After while it copies.
 */
admin.post("/apps/:appId/move", async (c) => {
  const body = await readBody(c, moveSchema);
  return c.json(await moveApp(c.var.svc, c.req.param("appId"), body.shard, { settleMs: body.settleSeconds * 1000 }));
});

admin.delete("/apps/:appId", async (c) => {
  await deleteApp(c.var.svc, c.req.param("appId"));
  return c.body(null, 204);
});
