// The ZITADEL v2 User Service dialect: REST (/v2/users/...) and Connect + gRPC-web
// (/zitadel.user.v2.UserService/*). Both protocols decode into the official messages (@zitadel/proto's
// descriptors, trimmed to what is served: ./protos.gen.ts) and call the same RPC bodies in ./service.
import { type DescMessage, fromJson, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf";
import { ConnectError, createConnectRouter, createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { universalServerResponseToFetch } from "@connectrpc/connect/protocol";
import { parseContentType as parseConnectType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcWebType } from "@connectrpc/connect/protocol-grpc-web";
import {
  AddHumanUserRequestSchema,
  AddHumanUserResponseSchema,
  CreateSessionRequestSchema,
  CreateSessionResponseSchema,
  DeactivateUserRequestSchema,
  DeactivateUserResponseSchema,
  DeleteSessionRequestSchema,
  DeleteSessionResponseSchema,
  DeleteUserRequestSchema,
  DeleteUserResponseSchema,
  GetSessionRequestSchema,
  GetSessionResponseSchema,
  GetUserByIDRequestSchema,
  GetUserByIDResponseSchema,
  ListSessionsRequestSchema,
  ListSessionsResponseSchema,
  LockUserRequestSchema,
  LockUserResponseSchema,
  PasswordResetRequestSchema,
  PasswordResetResponseSchema,
  ReactivateUserRequestSchema,
  ReactivateUserResponseSchema,
  RemovePhoneRequestSchema,
  RemovePhoneResponseSchema,
  ResendEmailCodeRequestSchema,
  ResendEmailCodeResponseSchema,
  ResendPhoneCodeRequestSchema,
  ResendPhoneCodeResponseSchema,
  SessionService,
  SetEmailRequestSchema,
  SetEmailResponseSchema,
  SetPasswordRequestSchema,
  SetPasswordResponseSchema,
  SetPhoneRequestSchema,
  SetPhoneResponseSchema,
  SetSessionRequestSchema,
  SetSessionResponseSchema,
  UnlockUserRequestSchema,
  UnlockUserResponseSchema,
  UserService,
  VerifyEmailRequestSchema,
  VerifyEmailResponseSchema,
  VerifyPhoneRequestSchema,
  VerifyPhoneResponseSchema,
} from "./protos.gen";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type AppContext, type AppEnv, clientIp, MAX_BODY_BYTES, publicOrigin } from "../../http";
import { internal, invalidArgument, restErrorResponse, toConnectError, unimplemented, ZitadelError } from "./errors";
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
import { logError } from "../../lib/log";
import { connectErrorResponse, grpcHeadersOnly, gzip, lazyBody, shapeConnectResponse, shapeGrpcWebResponse } from "./wire";
import { removePhone, resendEmailCode, resendPhoneCode, setEmail, setPhone, verifyEmail, verifyPhone } from "./verification";

// ---------------------------------------------------------------------------------------------
// Connect and gRPC-web

interface RequestInfo {
  c: AppContext;
  caller?: Caller;
}
const requestInfo = createContextKey<RequestInfo | null>(null, { description: "latchkey request" });

function callerOf(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(requestInfo)?.caller;
  if (!caller) throw toConnectError(internal());
  return caller;
}

/**
 * ZitadelErrors become ConnectErrors with the ErrorDetail. Anything else is a fault of ours: it is
 * logged and answered Internal, since connect-es would otherwise send its raw message to the client.
 */
function asConnectError(e: unknown): ConnectError {
  if (e instanceof ZitadelError) return toConnectError(e);
  if (e instanceof ConnectError) return e;
  logError({ face: "zitadel-connect" }, e);
  return toConnectError(internal());
}

/** Runs a service call under Connect. */
const connectCall =
  <Req, Res>(call: (req: Req, caller: Caller) => Promise<Res>) =>
  async (req: Req, ctx: HandlerContext): Promise<Res> => {
    try {
      return await call(req, callerOf(ctx));
    } catch (e) {
      throw asConnectError(e);
    }
  };

const router = createConnectRouter({
  readMaxBytes: MAX_BODY_BYTES,
  acceptCompression: [gzip],
  // Answers are small; compressing them would only cost CPU (and hide the trailer from ./wire).
  compressMinBytes: Number.MAX_SAFE_INTEGER,
  // Authentication before the body is read or parsed: a request without a valid token costs little.
  async requestGate(ctx) {
    const info = ctx.values.get(requestInfo);
    if (!info) throw toConnectError(internal());
    try {
      info.caller = await callerFor(info.c, ctx.requestHeader.get("Authorization") ?? undefined);
    } catch (e) {
      throw asConnectError(e);
    }
  },
});
// Every method of ./protos.gen.ts is implemented; any other path answers Unimplemented (below),
// before authentication, as REST does.
router.service(UserService, {
  passwordReset: connectCall(passwordReset),
  setPassword: connectCall(setPassword),
  addHumanUser: connectCall(addHumanUser),
  getUserByID: connectCall(getUserByID),
  // Addresses (./verification.ts)
  setEmail: connectCall(setEmail),
  resendEmailCode: connectCall(resendEmailCode),
  verifyEmail: connectCall(verifyEmail),
  setPhone: connectCall(setPhone),
  resendPhoneCode: connectCall(resendPhoneCode),
  verifyPhone: connectCall(verifyPhone),
  removePhone: connectCall(removePhone),
  deleteUser: connectCall(deleteUser),
  deactivateUser: connectCall(deactivateUser),
  reactivateUser: connectCall(reactivateUser),
  lockUser: connectCall(lockUser),
  unlockUser: connectCall(unlockUser),
});
router.service(SessionService, {
  createSession: connectCall(createSessionRpc),
  setSession: connectCall(setSessionRpc),
  getSession: connectCall(getSessionRpc),
  deleteSession: connectCall(deleteSessionRpc),
  listSessions: connectCall(listSessionsRpc),
});
const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));

const NATIVE_GRPC = /^application\/grpc(\+[\w-]+)?\s*(;|$)/i;

export const zitadelRpc = new Hono<AppEnv>();

zitadelRpc.all("*", async (c) => {
  const contentType = c.req.header("Content-Type") ?? "";
  // Native gRPC needs HTTP/2 response trailers, which a Worker cannot send; connect-es would run
  // the method and then lose its status. Refuse it before anything runs.
  if (NATIVE_GRPC.test(contentType)) {
    return grpcHeadersOnly(
      "application/grpc",
      unimplemented(
        "Native gRPC is not supported by Latchkey (Workers cannot send HTTP/2 trailers); use gRPC-web (application/grpc-web+proto) or Connect (application/json, application/proto)",
      ),
    );
  }
  const path = new URL(c.req.url).pathname;
  const grpcWeb = parseGrpcWebType(contentType);
  const connect = grpcWeb ? undefined : parseConnectType(contentType);
  // Everything connect-es would answer with an empty 404/405/415 is answered here, in the
  // protocol's error shape, before the body is touched.
  const refuse = (e: ZitadelError, status?: number, headers?: Record<string, string>) =>
    grpcWeb ? grpcHeadersOnly(contentType, e) : connectErrorResponse(e, { ...(status ? { status } : {}), ...(headers ? { headers } : {}) });
  const handler = handlers.get(path);
  if (!handler) return refuse(unimplemented(`Method ${path} is not served by Latchkey`));
  if (c.req.method !== "POST") return refuse(unimplemented(`${c.req.method} is not supported; call ${path} with POST`), 405, { Allow: "POST" });
  if (grpcWeb?.text) return refuse(unimplemented("application/grpc-web-text is not supported; use application/grpc-web+proto"));
  if (!grpcWeb && (!connect || connect.stream)) {
    return refuse(invalidArgument("Content-Type must be application/json or application/proto (Connect) or application/grpc-web+proto"), 415);
  }
  const inputType = handler.method.input.typeName;
  const body = lazyBody(c.req.raw.body);
  try {
    const response = await handler({
      httpVersion: "",
      method: c.req.method,
      url: c.req.url,
      header: c.req.raw.headers,
      body: body.iterable,
      signal: c.req.raw.signal,
      contextValues: createContextValues().set(requestInfo, { c }),
    });
    return universalServerResponseToFetch(grpcWeb ? await shapeGrpcWebResponse(response, inputType) : await shapeConnectResponse(response, inputType));
  } finally {
    await body.release();
  }
});

// ---------------------------------------------------------------------------------------------
// REST (grpc-gateway's mapping of the same RPCs)

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

/** Reads a protojson body (either field-name style, unknown fields ignored) with the path's fields (a userId, or named ones) on top. */
async function readMessage<D extends DescMessage>(c: AppContext, schema: D, path?: string | Record<string, string>): Promise<MessageShape<D>> {
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
  const fields = typeof path === "string" ? { userId: path } : (path ?? {});
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
async function callerFor(c: AppContext, authorization: string | undefined): Promise<Caller> {
  const { svc, app, principal } = await authenticateCaller(c.var.svc, authorization);
  return { svc, app, principal, clientIp: clientIp(c), origin: publicOrigin(c) };
}

const restCaller = (c: AppContext) => callerFor(c, c.req.header("Authorization"));

const restJson = <D extends DescMessage>(schema: D, message: MessageShape<D>) =>
  new Response(JSON.stringify(toJson(schema, message)), { status: 200, headers: { "Content-Type": "application/json" } });

zitadelRest.post("/users/human", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, AddHumanUserRequestSchema);
  return restJson(AddHumanUserResponseSchema, await addHumanUser(req, caller));
});

zitadelRest.post("/users/:userId/password_reset", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, PasswordResetRequestSchema, c.req.param("userId"));
  return restJson(PasswordResetResponseSchema, await passwordReset(req, caller));
});

zitadelRest.post("/users/:userId/password", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, SetPasswordRequestSchema, c.req.param("userId"));
  return restJson(SetPasswordResponseSchema, await setPassword(req, caller));
});

zitadelRest.get("/users/:userId", async (c) => {
  const caller = await restCaller(c);
  const req = fromJson(GetUserByIDRequestSchema, { userId: c.req.param("userId") });
  return restJson(GetUserByIDResponseSchema, await getUserByID(req, caller));
});

// Addresses (grpc-gateway paths of ./verification.ts's RPCs)
zitadelRest.post("/users/:userId/email", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, SetEmailRequestSchema, c.req.param("userId"));
  return restJson(SetEmailResponseSchema, await setEmail(req, caller));
});
zitadelRest.post("/users/:userId/email/resend", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, ResendEmailCodeRequestSchema, c.req.param("userId"));
  return restJson(ResendEmailCodeResponseSchema, await resendEmailCode(req, caller));
});
zitadelRest.post("/users/:userId/email/verify", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, VerifyEmailRequestSchema, c.req.param("userId"));
  return restJson(VerifyEmailResponseSchema, await verifyEmail(req, caller));
});
zitadelRest.post("/users/:userId/phone", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, SetPhoneRequestSchema, c.req.param("userId"));
  return restJson(SetPhoneResponseSchema, await setPhone(req, caller));
});
zitadelRest.delete("/users/:userId/phone", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, RemovePhoneRequestSchema, c.req.param("userId"));
  return restJson(RemovePhoneResponseSchema, await removePhone(req, caller));
});
zitadelRest.post("/users/:userId/phone/resend", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, ResendPhoneCodeRequestSchema, c.req.param("userId"));
  return restJson(ResendPhoneCodeResponseSchema, await resendPhoneCode(req, caller));
});
zitadelRest.post("/users/:userId/phone/verify", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, VerifyPhoneRequestSchema, c.req.param("userId"));
  return restJson(VerifyPhoneResponseSchema, await verifyPhone(req, caller));
});

zitadelRest.delete("/users/:userId", async (c) => {
  const caller = await restCaller(c);
  const req = fromJson(DeleteUserRequestSchema, { userId: c.req.param("userId") });
  return restJson(DeleteUserResponseSchema, await deleteUser(req, caller));
});

// POST /v2/users/{userId}/deactivate | reactivate | lock | unlock, each with an empty body.
zitadelRest.post("/users/:userId/deactivate", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, DeactivateUserRequestSchema, c.req.param("userId"));
  return restJson(DeactivateUserResponseSchema, await deactivateUser(req, caller));
});

zitadelRest.post("/users/:userId/reactivate", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, ReactivateUserRequestSchema, c.req.param("userId"));
  return restJson(ReactivateUserResponseSchema, await reactivateUser(req, caller));
});

zitadelRest.post("/users/:userId/lock", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, LockUserRequestSchema, c.req.param("userId"));
  return restJson(LockUserResponseSchema, await lockUser(req, caller));
});

zitadelRest.post("/users/:userId/unlock", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, UnlockUserRequestSchema, c.req.param("userId"));
  return restJson(UnlockUserResponseSchema, await unlockUser(req, caller));
});

// SessionService over REST (grpc-gateway's mapping).
zitadelRest.post("/sessions", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, CreateSessionRequestSchema);
  return restJson(CreateSessionResponseSchema, await createSessionRpc(req, caller));
});

zitadelRest.post("/sessions/search", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, ListSessionsRequestSchema);
  return restJson(ListSessionsResponseSchema, await listSessionsRpc(req, caller));
});

zitadelRest.patch("/sessions/:sessionId", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, SetSessionRequestSchema, { sessionId: c.req.param("sessionId") });
  return restJson(SetSessionResponseSchema, await setSessionRpc(req, caller));
});

zitadelRest.get("/sessions/:sessionId", async (c) => {
  const caller = await restCaller(c);
  const token = c.req.query("sessionToken") ?? c.req.query("session_token");
  const req = fromJson(GetSessionRequestSchema, { sessionId: c.req.param("sessionId"), ...(token !== undefined ? { sessionToken: token } : {}) });
  return restJson(GetSessionResponseSchema, await getSessionRpc(req, caller));
});

zitadelRest.delete("/sessions/:sessionId", async (c) => {
  const caller = await restCaller(c);
  const req = await readMessage(c, DeleteSessionRequestSchema, { sessionId: c.req.param("sessionId") });
  return restJson(DeleteSessionResponseSchema, await deleteSessionRpc(req, caller));
});

// Other UserService paths (a mounted sub-app's notFound is not consulted, so a catch-all route).
zitadelRest.all("*", (c) => restErrorResponse(unimplemented(`${c.req.method} ${new URL(c.req.url).pathname} is not served by Latchkey`)));
