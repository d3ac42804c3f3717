// Issue 9 item 5 on the Connect and gRPC-web paths: every malformed request gets a 4xx (or
// Unimplemented) in the protocol's error shape with ZITADEL's ErrorDetail, never a bare body,
// an Internal, or the protobuf parser's text; gzip works within the body limit.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { createEnvelopeReadableStream, encodeEnvelope } from "@connectrpc/connect/protocol";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { GetUserByIDRequestSchema } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { describe, expect, it } from "vitest";
import { call } from "../helpers";
import { addHuman, zitadelApp } from "./helpers";
import { connectError, grpcWebError, rpc } from "./wire-helpers";

const METHOD = "/zitadel.user.v2.UserService/GetUserByID";

async function gzipped(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

const TRUNCATED = Uint8Array.of(0x0a, 0xff, 0xff); // field 1, length-delimited, length never ends

describe("malformed binary protobuf", () => {
  it("is InvalidArgument on Connect, without the parser's text", async () => {
    const app = await zitadelApp();
    const { status, error, detail } = await connectError(await rpc(METHOD, { token: app.admin, contentType: "application/proto", body: TRUNCATED }));
    expect(status).toBe(400);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(detail.id).toBe("LATCHKEY-INPUT");
    expect(error.rawMessage).not.toMatch(/premature|EOF|parse binary|varint/i);
  });

  it("is InvalidArgument on gRPC-web, without the parser's text", async () => {
    const app = await zitadelApp();
    const res = await rpc(METHOD, { token: app.admin, contentType: "application/grpc-web+proto", body: encodeEnvelope(0, TRUNCATED) });
    const { error, detail } = await grpcWebError(res);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(detail.id).toBe("LATCHKEY-INPUT");
    expect(error.rawMessage).not.toMatch(/premature|EOF|parse binary|varint/i);
  });

  it("is InvalidArgument for a gRPC-web frame that promises more bytes than it has", async () => {
    const app = await zitadelApp();
    const res = await rpc(METHOD, { token: app.admin, contentType: "application/grpc-web+proto", body: Uint8Array.of(0, 0, 0, 0, 9, 0x0a) });
    expect((await grpcWebError(res)).error.code).toBe(Code.InvalidArgument);
  });

  it("keeps the ErrorDetail on Connect JSON that does not decode", async () => {
    const app = await zitadelApp();
    const { status, detail } = await connectError(await rpc(METHOD, { token: app.admin, contentType: "application/json", body: '{"userId": 5}' }));
    expect(status).toBe(400);
    expect(detail.id).toBe("LATCHKEY-INPUT");
  });
});

describe("requests connect-es would answer with an empty body", () => {
  it.each(["GET", "PUT", "DELETE"])("%s on a served method is a Connect error, 405 with Allow: POST", async (method) => {
    const app = await zitadelApp();
    const res = await rpc(METHOD, { token: app.admin, method, contentType: "application/json", ...(method === "GET" ? {} : { body: "{}" }) });
    expect(res.headers.get("Allow")).toBe("POST");
    const { status, error } = await connectError(res);
    expect(status).toBe(405);
    expect(error.code).toBe(Code.Unimplemented);
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/connect+json", ""])("Content-Type %j is a Connect error, 415", async (contentType) => {
    const app = await zitadelApp();
    const { status, error, detail } = await connectError(await rpc(METHOD, { token: app.admin, contentType, body: "{}" }));
    expect(status).toBe(415);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(detail.id).toBe("LATCHKEY-INPUT");
  });

  it("application/grpc-web-text is Unimplemented in gRPC-web's shape", async () => {
    const app = await zitadelApp();
    const res = await rpc(METHOD, { token: app.admin, contentType: "application/grpc-web-text", body: "AAAAAAA=" });
    const { error, detail } = await grpcWebError(res);
    expect(error.code).toBe(Code.Unimplemented);
    expect(detail.id).toBe("LATCHKEY-UNIMPLEMENTED");
    expect(error.rawMessage).toContain("application/grpc-web+proto");
  });

  it("a method Latchkey does not serve is Unimplemented with the ErrorDetail on Connect", async () => {
    const app = await zitadelApp();
    const { error, detail } = await connectError(await rpc("/zitadel.user.v2.UserService/RegisterTOTP", { token: app.admin, contentType: "application/json", body: "{}" }));
    expect(error.code).toBe(Code.Unimplemented);
    expect(detail.id).toBe("LATCHKEY-UNIMPLEMENTED");
  });

  it("a method Latchkey does not serve is Unimplemented with the ErrorDetail on gRPC-web", async () => {
    const app = await zitadelApp();
    const res = await rpc("/zitadel.user.v2.UserService/RegisterTOTP", { token: app.admin, contentType: "application/grpc-web+proto", body: encodeEnvelope(0, new Uint8Array()) });
    expect((await grpcWebError(res)).error.code).toBe(Code.Unimplemented);
  });

  it("native gRPC's refusal carries the ErrorDetail too", async () => {
    const res = await rpc(METHOD, { contentType: "application/grpc", body: encodeEnvelope(0, new Uint8Array()) });
    expect((await grpcWebError(res)).error.code).toBe(Code.Unimplemented);
  });
});

describe("gzip", () => {
  it("is accepted on Connect (Content-Encoding)", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const body = await gzipped(new TextEncoder().encode(JSON.stringify({ userId: user.userId })));
    const res = await rpc(METHOD, { token: app.admin, contentType: "application/json", body, headers: { "Content-Encoding": "gzip" } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { user: { userId: string } }).user.userId).toBe(user.userId);
  });

  it("is accepted on gRPC-web (grpc-encoding, compressed frame)", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const message = toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: user.userId }));
    const res = await rpc(METHOD, {
      token: app.admin,
      contentType: "application/grpc-web+proto",
      body: encodeEnvelope(1, await gzipped(message)),
      headers: { "grpc-encoding": "gzip" },
    });
    const reader = createEnvelopeReadableStream(res.body!).getReader();
    let status: string | null = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.flags & trailerFlag) status = trailerParse(value.data).get("grpc-status");
    }
    expect(status).toBe("0");
  });

  it("refuses a body that inflates past 64 KiB with resource_exhausted", async () => {
    const app = await zitadelApp();
    const body = await gzipped(new TextEncoder().encode(JSON.stringify({ userId: "1", padding: "x".repeat(200 * 1024) })));
    expect(body.byteLength).toBeLessThan(4096);
    const { status, error } = await connectError(await rpc(METHOD, { token: app.admin, contentType: "application/json", body, headers: { "Content-Encoding": "gzip" } }));
    expect(status).toBeLessThan(500);
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("refuses bytes that are not gzip with invalid_argument", async () => {
    const app = await zitadelApp();
    const { status, error } = await connectError(await rpc(METHOD, { token: app.admin, contentType: "application/json", body: "not gzip", headers: { "Content-Encoding": "gzip" } }));
    expect(status).toBe(400);
    expect(error.code).toBe(Code.InvalidArgument);
  });

  it("answers an encoding it does not know with Unimplemented naming gzip", async () => {
    const app = await zitadelApp();
    const { error } = await connectError(await rpc(METHOD, { token: app.admin, contentType: "application/json", body: "{}", headers: { "Content-Encoding": "br" } }));
    expect(error.code).toBe(Code.Unimplemented);
    expect(error.rawMessage).toContain("gzip");
  });

  it("is refused clearly on REST", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const body = await gzipped(new TextEncoder().encode("{}"));
    const res = await call(`/v2/users/${user.userId}/password_reset`, {
      method: "POST",
      headers: { Authorization: `Bearer ${app.admin}`, "Content-Type": "application/json", "Content-Encoding": "gzip" },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain("Compressed request bodies");
  });
});
