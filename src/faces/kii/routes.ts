// The Kii Cloud REST dialect, mounted at /api. It parses Kii's wire format, calls the core and
// renders results and errors the way kii-cloud-sdk expects them. No business rule lives here.
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import * as z from "zod/mini";
import { describeZodError } from "../../config/settings";
import { isCoreError } from "../../core/errors";
import { coreErrorOf } from "../../core/shards";
import { E164, EMAIL, type Principal, requireUser, requireUserFor } from "../../core/identity";
import { changePassword, completeResetFor, requestReset, type ResetDelivery } from "../../core/reset";
import { issueAdminToken, type ResolvedToken, resolveToken, setUserDisabled, signIn, signInRef } from "../../core/users";
import { registerWithVerification, viewUserWithPending } from "../../core/verification";
import { type AppContext, type AppEnv, bearerToken, clientIp, MAX_BODY_BYTES, publicOrigin } from "../../http";
import { type App, APP_ID, appKeyMatches, findApp } from "../../core/apps";
import { deleteUser } from "../../core/lifecycle";
import { fromCoreError, KiiError, kiiErrorResponse, oauthErrorResponse, oauthTooManyRequests } from "./errors";
import { parseUserIdentifier } from "./identifiers";
import { kiiUserJson } from "./users-json";
import { verificationRoutes } from "./verification-routes";
import { logError } from "../../lib/log";
import "../../lib/zod-locale";

interface KiiCaller {
  app: App;
  principal: Principal | null;
  /** The token's user and its pending verifications, when identify was asked for them (withUser). */
  holder?: ResolvedToken["holder"];
}

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
// Stored and later put into messages, headers and other products' screens: no control characters,
// no lone surrogates, no bidirectional embeddings, overrides or isolates (which make a name
// display as another), as the ZITADEL face refuses them too.
const printable = (schema: z.ZodMiniString<string>) =>
  schema.check(z.regex(/^[^\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]*$/u, "must not contain control characters, lone surrogates or bidirectional overrides"));

export const registrationSchema = z.object({
  loginName: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{3,64}$/, "3 to 64 letters, digits, '.', '_' or '-'"))),
  emailAddress: z.optional(printable(z.string().check(z.maxLength(254), z.regex(EMAIL, "not an email address")))),
  phoneNumber: z.optional(z.string().check(z.regex(E164, "an international number such as +819012345678"))),
  password: z.string().check(z.minLength(1), z.maxLength(1024)),
  displayName: z.optional(printable(text(50))),
  country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/, "two letters"))),
  locale: z.optional(z.string().check(z.regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$/, "a language tag such as en or ja-JP"))),
});

export const tokenSchema = z.object({
  grant_type: z.optional(text(100)),
  username: z.optional(text(254)),
  password: z.optional(z.string().check(z.maxLength(1024))),
  client_id: z.optional(text(200)),
  client_secret: z.optional(text(200)),
  expiresAt: z.optional(z.number().check(z.int(), z.positive())),
});

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * A token request as JSON (what kii-cloud-sdk sends) or as a form (RFC 6749 §4.3.2 and Kii's REST
 * reference). Form values are strings: expiresAt is read as a number, repeated fields are refused.
 */
async function readTokenRequest(c: AppContext): Promise<z.infer<typeof tokenSchema>> {
  if (!FORM_TYPE.test(c.req.header("Content-Type") ?? "")) return readJson(c, tokenSchema);
  // Decoded by hand: workerd warns when .text() reads a body whose type is not text.
  const form = new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()));
  const fields: Record<string, unknown> = {};
  for (const key of new Set(form.keys())) {
    const values = form.getAll(key);
    if (values.length > 1) throw new KiiError("INVALID_INPUT_DATA", `${key} must be given once`, { field: key });
    fields[key] = values[0];
  }
  if (typeof fields.expiresAt === "string") fields.expiresAt = /^\d{1,16}$/.test(fields.expiresAt) ? Number(fields.expiresAt) : fields.expiresAt;
  const parsed = tokenSchema.safeParse(fields);
  if (!parsed.success) {
    const { field, message } = describeZodError(parsed.error);
    throw new KiiError("INVALID_INPUT_DATA", message, { field });
  }
  return parsed.data;
}

export const changePasswordSchema = z.object({ oldPassword: z.optional(z.nullable(z.string().check(z.maxLength(1024)))), newPassword: z.string().check(z.maxLength(1024)) });
export const resetRequestSchema = z.object({
  notificationMethod: z.enum(["EMAIL", "SMS"]),
  smsResetMethod: z.optional(z.enum(["URL", "PIN"])),
});
export const completeResetSchema = z.object({ pinCode: z.string().check(z.maxLength(200)), newPassword: z.string().check(z.maxLength(1024)) });
export const statusSchema = z.object({ disabled: z.boolean() });

export const kii = new Hono<AppEnv>();

kii.use(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => kiiErrorResponse(new KiiError("REQUEST_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`)),
  }),
);

kii.onError((err, c) => {
  if (err instanceof KiiError) return kiiErrorResponse(err);
  const core = coreErrorOf(err);
  if (core) return kiiErrorResponse(fromCoreError(core, { appId: c.req.param("appID") }));
  logError({ face: "kii", route: c.req.routePath }, err);
  return kiiErrorResponse(new KiiError("INTERNAL_SERVER_ERROR", "Internal server error"));
});

kii.notFound(() => kiiErrorResponse(new KiiError("NOT_FOUND", "No such resource")));

/** Reads a JSON body, refusing a content type that is not JSON (Kii's vnd types end in +json). */
export async function readJson<T>(c: AppContext, schema: z.ZodMiniType<T>): Promise<T> {
  const type = c.req.header("Content-Type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new KiiError("UNSUPPORTED_MEDIA_TYPE", "The request body must be JSON (application/json or application/vnd.kii.*+json)");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new KiiError("INVALID_INPUT_DATA", "The request body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = describeZodError(parsed.error);
    throw new KiiError("INVALID_INPUT_DATA", message, { field });
  }
  return parsed.data;
}

function decodeBasic(header: string | undefined): { id: string; key: string } | null {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]!);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : { id: decoded.slice(0, colon), key: decoded.slice(colon + 1) };
}

export const unauthorized = (appId: string | null, message: string) =>
  new KiiError("UNAUTHORIZED", message, { authenticatedAppID: appId, authenticatedPrincipalID: null });

/**
 * Identifies the app and the caller. Anonymous calls name the app by Basic appID:appKey or by
 * X-Kii-AppID/X-Kii-AppKey (the JS SDK sends only the headers); a Bearer token names its own app.
 */
export async function identify(c: AppContext, pathAppId: string | null, options: { withUser?: boolean } = {}): Promise<KiiCaller> {
  const svc = c.var.svc;
  const basic = decodeBasic(c.req.header("Authorization"));
  const headerId = c.req.header("X-Kii-AppID");
  const headerKey = c.req.header("X-Kii-AppKey");
  const appId = pathAppId ?? basic?.id ?? headerId ?? null;
  if (!appId) throw unauthorized(null, "The app is not identified (X-Kii-AppID/X-Kii-AppKey or Basic credentials)");
  if (!APP_ID.test(appId)) throw new KiiError("APP_NOT_FOUND", "The app was not found", { appID: appId.slice(0, 64) });
  const token = bearerToken(c.req.header("Authorization"));
  // The app's row names the shard that holds the token (a token also names its app; one from
  // before shards is looked for in this app's shard).
  const app = await findApp(svc, appId);
  if (!app) throw new KiiError("APP_NOT_FOUND", "The app was not found", { appID: appId });
  for (const [id, key] of [
    [basic?.id, basic?.key],
    [headerId, headerKey],
  ] as const) {
    if (id !== undefined && (id !== app.id || !appKeyMatches(svc, app, key ?? ""))) throw unauthorized(appId, "The app credentials are not valid");
  }
  if (token) {
    const resolved = await resolveToken(svc, token, app, options);
    if (!resolved || resolved.principal.appId !== app.id) throw unauthorized(app.id, "The access token is not valid or has expired");
    // The token's app as its resolution found it: fresher than `app` if a move happened meanwhile.
    return { app: resolved.app, principal: resolved.principal, holder: resolved.holder };
  }
  if (!basic && headerId === undefined) throw unauthorized(app.id, "The app is not identified (X-Kii-AppID/X-Kii-AppKey or Basic credentials)");
  return { app, principal: null };
}

const principalId = (p: Principal | null) => (p ? (p.kind === "user" ? p.userId : "admin") : undefined);

async function issueToken(c: AppContext, pathAppId: string | null): Promise<Response> {
  const { app } = await identify(c, pathAppId);
  const svc = c.var.svc;
  let body: z.infer<typeof tokenSchema>;
  try {
    body = await readTokenRequest(c);
  } catch (e) {
    if (e instanceof KiiError && e.errorCode !== "UNSUPPORTED_MEDIA_TYPE") return oauthErrorResponse("invalid_request", e.message);
    throw e;
  }
  const grant = body.grant_type ?? (body.client_id !== undefined ? "client_credentials" : "password");
  if (grant !== "password" && grant !== "client_credentials") {
    return oauthErrorResponse("unsupported_grant_type", "grant_type must be password or client_credentials");
  }
  if (grant === "client_credentials") {
    if (!body.client_id || !body.client_secret) return oauthErrorResponse("invalid_request", "client_id and client_secret are required");
    try {
      const issued = await issueAdminToken(svc, app, body.client_id, body.client_secret);
      return c.json(tokenResponse(app.clientId, issued, svc.now()));
    } catch (e) {
      if (isCoreError(e) && e.kind === "unauthenticated") return oauthErrorResponse("invalid_client", e.message);
      throw e;
    }
  }
  if (!body.username || body.password === undefined) return oauthErrorResponse("invalid_request", "username and password are required");
  try {
    const { user, issued } = await signIn(svc, app, signInRef(body.username), body.password, { principal: null, clientIp: clientIp(c) }, body.expiresAt);
    return c.json(tokenResponse(user.id, issued, svc.now()));
  } catch (e) {
    // A locked account answers exactly like a wrong password (details.locked is not shown).
    if (isCoreError(e) && e.kind === "wrong_password") return oauthErrorResponse("invalid_grant", e.message);
    if (isCoreError(e) && e.kind === "rate_limited") return oauthTooManyRequests(e.message, e.details.retryAfterSeconds ?? 60);
    // /api/oauth2/token has no appID in its path; the error names the app the headers identified.
    if (isCoreError(e)) throw fromCoreError(e, { appId: app.id });
    throw e;
  }
}

const tokenResponse = (id: string, issued: { token: string; expiresAt: number }, now: number) => ({
  id,
  access_token: issued.token,
  expires_in: Math.max(0, Math.floor((issued.expiresAt - now) / 1000)),
  token_type: "bearer",
});

kii.post("/oauth2/token", (c) => issueToken(c, null));
kii.post("/apps/:appID/oauth2/token", (c) => issueToken(c, c.req.param("appID")));

kii.post("/apps/:appID/users", async (c) => {
  const { app, principal } = await identify(c, c.req.param("appID"));
  const body = await readJson(c, registrationSchema);
  const { user } = await registerWithVerification(c.var.svc, app, {
    loginName: body.loginName,
    email: body.emailAddress,
    phone: body.phoneNumber,
    password: body.password,
    displayName: body.displayName,
    country: body.country?.toUpperCase(),
    locale: body.locale,
  }, { principal: null, clientIp: clientIp(c), origin: publicOrigin(c), dialect: "kii", throttle: { principal, clientIp: clientIp(c) } });
  const location = `${publicOrigin(c)}/api/apps/${app.id}/users/${user.id}`;
  return new Response(JSON.stringify(kiiUserJson(user, true)), {
    status: 201,
    headers: { "Content-Type": "application/vnd.kii.RegistrationResponse+json", Location: location },
  });
});

kii.get("/apps/:appID/users/:id", async (c) => {
  // For "me", the token's check also reads its user and pending addresses: one round trip.
  const { app, principal, holder } = await identify(c, c.req.param("appID"), { withUser: c.req.param("id") === "me" });
  if (!principal) throw unauthorized(app.id, "An access token is required");
  const { user, full, pending } = await viewUserWithPending(c.var.svc, app, parseUserIdentifier(c.req.param("id")), principal, holder);
  return new Response(JSON.stringify(kiiUserJson(user, full, pending)), {
    headers: { "Content-Type": "application/vnd.kii.UserDataRetrievalResponse+json" },
  });
});

// kii-cloud-sdk's user.delete(): DELETE with the user's own token (or an app admin's) → 204.
kii.delete("/apps/:appID/users/:id", async (c) => {
  const { app, principal } = await identify(c, c.req.param("appID"));
  if (!principal) throw unauthorized(app.id, "An access token is required");
  const user = await requireUser(c.var.svc, app, parseUserIdentifier(c.req.param("id")), principal);
  try {
    await deleteUser(c.var.svc, app, principal, user);
  } catch (e) {
    if (isCoreError(e)) throw fromCoreError(e, { appId: app.id, principalId: principalId(principal) });
    throw e;
  }
  return c.body(null, 204);
});

kii.put("/apps/:appID/users/:id/password", async (c) => {
  const { app, principal } = await identify(c, c.req.param("appID"));
  if (!principal) throw unauthorized(app.id, "An access token is required");
  const body = await readJson(c, changePasswordSchema);
  try {
    const user = await requireUserFor(c.var.svc, app, parseUserIdentifier(c.req.param("id")), principal);
    await changePassword(c.var.svc, app, { user, principal, oldPassword: body.oldPassword, newPassword: body.newPassword });
  } catch (e) {
    if (isCoreError(e)) throw fromCoreError(e, { appId: app.id, principalId: principalId(principal) });
    throw e;
  }
  return c.body(null, 204);
});

/** An empty body asks for an email link (Kii's original API), whatever its content type. */
async function readResetDelivery(c: AppContext): Promise<ResetDelivery> {
  const raw = await c.req.text();
  if (raw.trim() === "") return { via: "email_link" };
  const type = c.req.header("Content-Type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new KiiError("UNSUPPORTED_MEDIA_TYPE", "The request body must be application/vnd.kii.ResetPasswordRequest+json");
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new KiiError("INVALID_INPUT_DATA", "The request body is not valid JSON");
  }
  const parsed = resetRequestSchema.safeParse(json);
  if (!parsed.success) {
    const { field, message } = describeZodError(parsed.error);
    throw new KiiError("INVALID_INPUT_DATA", message, { field });
  }
  const { notificationMethod, smsResetMethod } = parsed.data;
  if (notificationMethod === "EMAIL") {
    if (smsResetMethod !== undefined) throw new KiiError("INVALID_INPUT_DATA", "smsResetMethod applies to SMS only", { field: "smsResetMethod" });
    return { via: "email_link" };
  }
  return smsResetMethod === "PIN" ? { via: "sms_pin" } : { via: "sms_link" };
}

const requestResetRoute = async (c: AppContext) => {
  const { app, principal } = await identify(c, c.req.param("appID")!);
  const ref = parseUserIdentifier(c.req.param("id")!);
  const delivery = await readResetDelivery(c);
  await requestReset(c.var.svc, app, { ref, delivery, principal, clientIp: clientIp(c), origin: publicOrigin(c) });
  return c.body(null, 204);
};
kii.post("/apps/:appID/users/:id/password/request-reset", requestResetRoute);
kii.post("/apps/:appID/users/:id/password/reset", requestResetRoute);

kii.post("/apps/:appID/users/:id/password/complete-reset", async (c) => {
  const { app, principal } = await identify(c, c.req.param("appID"));
  const body = await readJson(c, completeResetSchema);
  if (!/^\d{6}$/.test(body.pinCode)) throw new KiiError("INVALID_INPUT_DATA", "pinCode must be the 6 digits that were sent", { field: "pinCode" });
  const ref = parseUserIdentifier(c.req.param("id"));
  try {
    await completeResetFor(c.var.svc, app, ref, principal, { code: body.pinCode, newPassword: body.newPassword, refuseSamePassword: true, kinds: ["sms_pin"] });
  } catch (e) {
    if (isCoreError(e) && e.kind === "code_invalid") {
      // Only a user who exists has a code to get wrong, so naming the user here reveals nothing.
      throw new KiiError("INVALID_VERIFICATION_CODE", e.message, { userID: e.details.userID, appID: app.id });
    }
    throw e;
  }
  return c.body(null, 204);
});

kii.put("/apps/:appID/users/:id/status", async (c) => {
  const { app, principal } = await identify(c, c.req.param("appID"));
  if (principal?.kind !== "admin") throw unauthorized(app.id, "Only an app admin can change a user's status");
  const body = await readJson(c, statusSchema);
  const user = await requireUser(c.var.svc, app, parseUserIdentifier(c.req.param("id")), principal);
  await setUserDisabled(c.var.svc, app, principal, user, body.disabled);
  return c.body(null, 204);
});

verificationRoutes(kii, { identify, readJson, unauthorized });

// Keep this last. Hono does not call a mounted sub-app's notFound, so without this catch-all an
// unknown /api path (e.g. an empty user identifier) would get the generic JSON 404, not Kii's shape.
kii.all("*", () => kiiErrorResponse(new KiiError("NOT_FOUND", "No such resource")));
