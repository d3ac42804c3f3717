// The ZITADEL v2 User Service dialect: REST (/v2/users/..., ./rest.ts) and Connect + gRPC-web
// (/zitadel.user.v2.UserService/*, here). Both protocols decode into the official messages
// (@zitadel/proto's descriptors, trimmed to what is served: ./protos.gen.ts) and call the same RPC
// bodies in ./service.
import { ConnectError, createConnectRouter, createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { universalServerResponseToFetch } from "@connectrpc/connect/protocol";
import { parseContentType as parseConnectType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcWebType } from "@connectrpc/connect/protocol-grpc-web";
import { SessionService, UserService } from "./protos.gen";
import { Hono } from "hono/tiny";
import { type AppContext, type AppEnv, MAX_BODY_BYTES } from "../../http";
import { internal, invalidArgument, toConnectError, unimplemented, ZitadelError } from "./errors";
import {
  addHumanUser,
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
import { callerFor } from "./rest";
import { connectErrorResponse, grpcHeadersOnly, gzip, lazyBody, shapeConnectResponse, shapeGrpcWebResponse } from "./wire";
import { removePhone, resendEmailCode, resendPhoneCode, setEmail, setPhone, verifyEmail, verifyPhone } from "./verification";

export { zitadelRest } from "./rest";

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
