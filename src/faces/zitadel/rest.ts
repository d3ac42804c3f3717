// The ZITADEL REST face (grpc-gateway's mapping of the same RPCs), mounted at /v2. One table,
// REST_ROUTES, says for each route its method, its path and the RPC it calls; the routes are
// registered from it and the OpenAPI document (./openapi.ts) is written from it, so a served route
// cannot go undocumented. Bodies are decoded into the RPC's generated request message
// (@zitadel/proto's, trimmed: ./protos.gen.ts) with the path's fields on top, as grpc-gateway does.
import { type DescMessage, type DescMethodUnary, fromJson, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf";
import { SessionService, UserService } from "./protos.gen";
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import { type AppContext, type AppEnv, clientIp, MAX_BODY_BYTES, publicOrigin } from "../../http";
import type { HttpMethod } from "../../lib/openapi";
import { logError } from "../../lib/log";
import { internal, invalidArgument, restErrorResponse, unimplemented, ZitadelError } from "./errors";
import {
  addHumanUser,
  authenticateCaller,
  type Caller,
  deactivateUser,
  deleteUser,
  getUserByID,
  lockUser,
  passwordReset,
  reactivateUser,
  setPassword,
  unlockUser,
} from "./service";
import { createSessionRpc, deleteSessionRpc, getSessionRpc, listSessionsRpc, setSessionRpc } from "./sessions";
import { removePhone, resendEmailCode, resendPhoneCode, setEmail, setPhone, verifyEmail, verifyPhone } from "./verification";

export interface RestRoute {
  method: HttpMethod;
  /** Under /v2, as an OpenAPI path template; each {name} is the request message's field of that JSON name. */
  path: string;
  rpc: DescMethodUnary;
  /** The RPC body (service.ts, sessions.ts, verification.ts), shared with Connect and gRPC-web. */
  call: (req: never, caller: Caller) => Promise<unknown>;
  /** false: the request is the path (and query) alone; no body is read. */
  body: boolean;
  /** Request fields read from the query string (by JSON name, or by proto name). */
  query?: readonly string[];
  summary: string;
}

const route = <I extends DescMessage, O extends DescMessage>(
  method: HttpMethod,
  path: string,
  rpc: DescMethodUnary<I, O>,
  call: (req: MessageShape<I>, caller: Caller) => Promise<MessageShape<O>>,
  summary: string,
  options: { body?: boolean; query?: readonly string[] } = {},
): RestRoute => ({ method, path, rpc: rpc as unknown as DescMethodUnary, call: call as RestRoute["call"], body: options.body ?? true, ...(options.query ? { query: options.query } : {}), summary });

const users = UserService.method;
const sessions = SessionService.method;

export const REST_ROUTES: readonly RestRoute[] = [
  route("post", "/users/human", users.addHumanUser, addHumanUser, "Create a human user"),
  route("get", "/users/{userId}", users.getUserByID, getUserByID, "Get a user by id", { body: false }),
  route("delete", "/users/{userId}", users.deleteUser, deleteUser, "Delete a user", { body: false }),
  route("post", "/users/{userId}/password_reset", users.passwordReset, passwordReset, "Request a password reset code (sent by email or SMS, or returned)"),
  route("post", "/users/{userId}/password", users.setPassword, setPassword, "Set a password (with the current password, a reset code, or as an admin)"),
  // Addresses (./verification.ts)
  route("post", "/users/{userId}/email", users.setEmail, setEmail, "Change the email address"),
  route("post", "/users/{userId}/email/resend", users.resendEmailCode, resendEmailCode, "Resend the email verification code"),
  route("post", "/users/{userId}/email/verify", users.verifyEmail, verifyEmail, "Verify the email address with its code"),
  route("post", "/users/{userId}/phone", users.setPhone, setPhone, "Change the phone number"),
  route("delete", "/users/{userId}/phone", users.removePhone, removePhone, "Remove the phone number"),
  route("post", "/users/{userId}/phone/resend", users.resendPhoneCode, resendPhoneCode, "Resend the phone verification code"),
  route("post", "/users/{userId}/phone/verify", users.verifyPhone, verifyPhone, "Verify the phone number with its code"),
  // Lifecycle, each with an empty body.
  route("post", "/users/{userId}/deactivate", users.deactivateUser, deactivateUser, "Deactivate a user"),
  route("post", "/users/{userId}/reactivate", users.reactivateUser, reactivateUser, "Reactivate a user"),
  route("post", "/users/{userId}/lock", users.lockUser, lockUser, "Lock a user"),
  route("post", "/users/{userId}/unlock", users.unlockUser, unlockUser, "Unlock a user"),
  // SessionService (./sessions.ts)
  route("post", "/sessions", sessions.createSession, createSessionRpc, "Create a session (user and password checks)"),
  route("post", "/sessions/search", sessions.listSessions, listSessionsRpc, "List sessions"),
  route("patch", "/sessions/{sessionId}", sessions.setSession, setSessionRpc, "Update a session's checks"),
  route("get", "/sessions/{sessionId}", sessions.getSession, getSessionRpc, "Get a session", { body: false, query: ["sessionToken"] }),
  route("delete", "/sessions/{sessionId}", sessions.deleteSession, deleteSessionRpc, "Terminate a session"),
];

/** The path's field names: {userId} → userId. */
export const pathFields = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

export const zitadelRest = new Hono<AppEnv>();

zitadelRest.use(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => restErrorResponse(invalidArgument(`Request bodies are limited to ${MAX_BODY_BYTES} bytes`)),
  }),
);

zitadelRest.onError((err) => {
  if (err instanceof ZitadelError) return restErrorResponse(err);
  logError({ face: "zitadel-rest" }, err);
  return restErrorResponse(internal());
});

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** Reads a protojson body (either field-name style, unknown fields ignored) with the path's fields on top. */
async function readMessage<D extends DescMessage>(c: AppContext, schema: D, fields: Record<string, string>): Promise<MessageShape<D>> {
  const encoding = c.req.header("Content-Encoding");
  if (encoding !== undefined && !/^\s*identity\s*$/i.test(encoding)) {
    throw invalidArgument("Compressed request bodies are not accepted on REST; send the body uncompressed, or use Connect, which accepts gzip");
  }
  const type = c.req.header("Content-Type");
  if (type !== undefined && !JSON_TYPE.test(type)) throw invalidArgument("The request body must be application/json");
  const raw = await c.req.text();
  let json: JsonValue = {};
  if (raw.trim() !== "") {
    try {
      json = JSON.parse(raw) as JsonValue;
    } catch {
      throw invalidArgument("The request body is not valid JSON");
    }
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalidArgument("The request body must be a JSON object");
  for (const [name, value] of Object.entries(fields)) {
    // As in grpc-gateway, the path's value wins over the body's.
    delete json[name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)];
    json[name] = value;
  }
  try {
    return fromJson(schema, json, { ignoreUnknownFields: true });
  } catch (e) {
    throw invalidArgument(`The request body does not match ${schema.typeName}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The caller of a request, whichever protocol it came by: the token's app and principal. */
export async function callerFor(c: AppContext, authorization: string | undefined): Promise<Caller> {
  const { svc, app, principal } = await authenticateCaller(c.var.svc, authorization);
  return { svc, app, principal, clientIp: clientIp(c), origin: publicOrigin(c) };
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);

for (const r of REST_ROUTES) {
  const honoPath = r.path.replace(/\{(\w+)\}/g, ":$1");
  zitadelRest.on(r.method.toUpperCase(), honoPath, async (c) => {
    const caller = await callerFor(c, c.req.header("Authorization"));
    const fields: Record<string, string> = {};
    for (const name of pathFields(r.path)) fields[name] = c.req.param(name)!;
    for (const name of r.query ?? []) {
      const value = c.req.query(name) ?? c.req.query(snakeCase(name));
      if (value !== undefined) fields[name] = value;
    }
    const req = r.body ? await readMessage(c, r.rpc.input, fields) : fromJson(r.rpc.input, fields);
    const res = await r.call(req as never, caller);
    return new Response(JSON.stringify(toJson(r.rpc.output, res as MessageShape<DescMessage>)), { status: 200, headers: { "Content-Type": "application/json" } });
  });
}

// Other UserService paths (a mounted sub-app's notFound is not consulted, so a catch-all route).
zitadelRest.all("*", (c) => restErrorResponse(unimplemented(`${c.req.method} ${new URL(c.req.url).pathname} is not served by Latchkey`)));
