// The ZITADEL REST routes in the OpenAPI document (src/openapi/document.ts), written from the
// table that registers them (./rest.ts REST_ROUTES) and the generated messages their bodies are
// decoded into: each request and response schema comes from the RPC's descriptors. Connect and
// gRPC-web serve the same RPCs; the protos document those. Field descriptions, examples and
// lengths come from the annotations in @zitadel/proto's own descriptors, which the trimmed ones
// the Worker carries (./protos.gen.ts) leave out; this file runs at build time only.
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { SessionService as UpstreamSessionService } from "@zitadel/proto/zitadel/session/v2/session_service_pb.js";
import { UserService as UpstreamUserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import * as z from "zod";
import { MAX_BODY_BYTES } from "../../http";
import { content, type FaceDoc, jsonSchema, mergeResponses, type Parameter, type Response, type RouteDoc } from "../../lib/openapi";
import { ProtoSchemas } from "../../lib/proto-schema";
import { httpStatusOf } from "./errors";
import { pathFields, REST_ROUTES, type RestRoute } from "./rest";

const SERVICE_TAGS: Record<string, string> = {
  "zitadel.user.v2.UserService": "ZITADEL UserService",
  "zitadel.session.v2.SessionService": "ZITADEL SessionService",
};

export const securitySchemes = {
  ZitadelBearer: {
    type: "http",
    scheme: "bearer",
    description: "An app admin token (acts as the organization's owner) or a user's token (may act on its own user); session tokens are not bearer tokens",
  },
} as const;

// ZITADEL's REST errors (grpc-gateway): {code, message, details: [ErrorDetail]}.
const errorBody = z.object({
  code: z.int().describe("the gRPC status code"),
  message: z.string().describe("text (ID), e.g. User could not be found (COMMAND-SAF4f)"),
  details: z.array(
    z.object({
      "@type": z.literal("type.googleapis.com/zitadel.v1.ErrorDetail"),
      id: z.string().describe("a stable id: ZITADEL's where ZITADEL has the same condition, LATCHKEY-… otherwise"),
      message: z.string(),
    }),
  ),
});

// Every route authenticates, validates and may be throttled; AlreadyExists only where an address or a name is taken.
const COMMON = [Code.InvalidArgument, Code.FailedPrecondition, Code.Unauthenticated, Code.PermissionDenied, Code.NotFound, Code.ResourceExhausted, Code.Internal, Code.Unimplemented];
const TAKES_NAMES = new Set(["AddHumanUser", "SetEmail", "SetPhone", "VerifyEmail", "VerifyPhone"]);

const ERROR_REF = { $ref: "#/components/schemas/ZitadelError" };

function errors(codes: Code[]): Record<string, Response> {
  const schema = ERROR_REF;
  return mergeResponses(
    ...codes.map((code) => {
      const response: Response = { description: Code[code], content: content(["application/json"], schema) };
      if (code === Code.ResourceExhausted) response.headers = { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } };
      return { [httpStatusOf(code)]: response };
    }),
  );
}

function doc(r: RestRoute, schemas: ProtoSchemas): RouteDoc {
  const rpc = r.rpc;
  const service = rpc.parent.typeName;
  const inPath = pathFields(r.path);
  const outside = [...inPath, ...(r.query ?? [])];
  const fields = schemas.inline(rpc.input).properties as Record<string, Record<string, unknown>>;
  const param = (name: string, where: "path" | "query"): Parameter => ({ name, in: where, required: where === "path", schema: fields[name] ?? { type: "string" } });
  const body = r.body ? schemas.inline(rpc.input, outside) : null;
  const hasBody = body !== null && Object.keys(body.properties as object).length > 0;
  return {
    method: r.method,
    path: `/v2${r.path}`,
    operation: {
      operationId: `${rpc.parent.name}_${rpc.name}`,
      summary: r.summary,
      description: `${service}.${rpc.name}; over Connect and gRPC-web: POST /${service}/${rpc.name}. Bodies are protojson: lowerCamelCase or snake_case names, unknown fields ignored; the path's fields win over the body's. Parts of a message Latchkey does not serve (e.g. metadata, IdP links, other session factors) are answered Unimplemented (docs/zitadel.md).`,
      tags: [SERVICE_TAGS[service] ?? service],
      security: [{ ZitadelBearer: [] }],
      parameters: [...inPath.map((name) => param(name, "path")), ...(r.query ?? []).map((name) => param(name, "query"))],
      ...(hasBody ? { requestBody: { required: false, description: `At most ${MAX_BODY_BYTES} bytes.`, content: content(["application/json"], body) } } : {}),
      responses: mergeResponses(
        { 200: { description: rpc.output.name, content: content(["application/json"], schemas.ref(rpc.output)) } },
        errors(TAKES_NAMES.has(rpc.name) ? [...COMMON, Code.AlreadyExists] : COMMON),
      ),
    },
  };
}

/** @zitadel/proto's messages that the served methods reach, by type name, with their annotations. */
function upstreamMessages(): Map<string, DescMessage> {
  const found = new Map<string, DescMessage>();
  const visit = (message: DescMessage) => {
    if (found.has(message.typeName)) return;
    found.set(message.typeName, message);
    for (const field of message.fields) if (field.message) visit(field.message);
  };
  for (const service of [UpstreamUserService, UpstreamSessionService]) {
    for (const method of service.methods) {
      visit(method.input);
      visit(method.output);
    }
  }
  return found;
}

export function zitadelApiDoc(): FaceDoc[] {
  const upstream = upstreamMessages();
  const annotated = (field: DescField) => upstream.get(field.parent.typeName)?.fields.find((f) => f.number === field.number);
  const schemas = new ProtoSchemas(annotated);
  const routes = REST_ROUTES.map((r) => doc(r, schemas));
  const byTag = new Map<string, RouteDoc[]>();
  for (const route of routes) {
    const tag = route.operation.tags[0]!;
    byTag.set(tag, [...(byTag.get(tag) ?? []), route]);
  }
  const description: Record<string, string> = {
    "ZITADEL UserService": "ZITADEL v2's UserService over REST (grpc-gateway's paths), as @zitadel/client and ZITADEL's REST users call it. Errors are {code, message, details}.",
    "ZITADEL SessionService": "ZITADEL v2's SessionService over REST: sessions with user and password checks.",
  };
  return [...byTag].map(([name, tagRoutes], i) => ({
    tag: { name, description: description[name] ?? name },
    routes: tagRoutes,
    // The message schemas go in once, with the first face.
    schemas: i === 0 ? { ZitadelError: jsonSchema(errorBody), ...schemas.schemas } : {},
    securitySchemes,
  }));
}
