// POST /zitadel.user.v2.UserService/{Method} on the wire: Connect JSON and proto, gRPC-web
// frames and trailers, native gRPC refused before anything runs. (The official clients are
// driven end to end in test/e2e/zitadel.e2e.ts.)
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import {
  GetUserByIDRequestSchema,
  GetUserByIDResponseSchema,
  PasswordResetRequestSchema,
} from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { describe, expect, it } from "vitest";
import { call } from "../helpers";
import { outbox, resetRow, userRow } from "../kii/password-helpers";
import { addHuman, zitadelApp } from "./helpers";

const rpc = (method: string, init: { token?: string; contentType: string; body: BodyInit; headers?: Record<string, string> }) =>
  call(`/zitadel.user.v2.UserService/${method}`, {
    method: "POST",
    headers: { "Content-Type": init.contentType, ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    body: init.body,
  });

/** A length-prefixed message frame (flag 0 = message, 0x80 = trailers). */
function frame(payload: Uint8Array, flag = 0): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

function unframe(bytes: Uint8Array): { messages: Uint8Array[]; trailer: Headers } {
  const messages: Uint8Array[] = [];
  const trailer = new Headers();
  for (let at = 0; at < bytes.length; ) {
    const flag = bytes[at]!;
    const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    const payload = bytes.slice(at + 5, at + 5 + length);
    at += 5 + length;
    if (flag & 0x80) {
      for (const line of new TextDecoder().decode(payload).split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
    } else messages.push(payload);
  }
  return { messages, trailer };
}

describe("Connect", () => {
  it("answers GetUserByID in JSON", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/json", body: JSON.stringify({ userId: user.userId }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: { userId: string; state: string; human: { email: { email: string } } } };
    expect(body.user).toMatchObject({ userId: user.userId, state: "USER_STATE_ACTIVE", human: { email: { email: user.email } } });
  });

  it("answers GetUserByID in binary proto", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const request = toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: user.userId }));
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/proto", body: request });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/proto");
    const message = fromBinary(GetUserByIDResponseSchema, new Uint8Array(await res.arrayBuffer()));
    expect(message.user?.userId).toBe(user.userId);
    expect(message.details?.resourceOwner).toBe(app.orgId);
  });

  it("renders an error as Connect JSON with the binary ErrorDetail", async () => {
    const app = await zitadelApp();
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/json", body: JSON.stringify({ userId: "404404" }) });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { code: string; message: string; details: { type: string; value: string }[] };
    expect(body.code).toBe("not_found");
    expect(body.message).toBe("User could not be found (COMMAND-SAF4f)");
    expect(body.details[0]!.type).toBe("zitadel.v1.ErrorDetail");
    const detail = fromBinary(ErrorDetailSchema, Uint8Array.from(atob(body.details[0]!.value.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));
    expect(detail).toMatchObject({ id: "COMMAND-SAF4f", message: "User could not be found" });
  });

  it("answers a missing token with unauthenticated before parsing the body", async () => {
    const res = await rpc("GetUserByID", { contentType: "application/json", body: "{not json" });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("unauthenticated");
  });

  it("answers an oversize field with invalid_argument", async () => {
    const app = await zitadelApp();
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/json", body: JSON.stringify({ userId: "9".repeat(201) }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("answers malformed JSON with invalid_argument", async () => {
    const app = await zitadelApp();
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/json", body: "{not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("refuses a body over 64 KiB with resource_exhausted and changes nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const before = await userRow(user.userId);
    const body = JSON.stringify({ userId: user.userId, returnCode: {}, padding: "x".repeat(70 * 1024) });
    const res = await rpc("PasswordReset", { token: app.admin, contentType: "application/json", body });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as { code: string }).code).toBe("resource_exhausted");
    expect(await userRow(user.userId)).toEqual(before);
  });

  it("answers another UserService method with unimplemented", async () => {
    const app = await zitadelApp();
    const res = await rpc("RegisterTOTP", { token: app.admin, contentType: "application/json", body: JSON.stringify({ userId: "1" }) });
    expect(((await res.json()) as { code: string }).code).toBe("unimplemented");
  });

  it("answers a wrong content type with 415", async () => {
    const app = await zitadelApp();
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "text/plain", body: "userId=1" });
    expect(res.status).toBe(415);
  });
});

describe("gRPC-web", () => {
  it("answers GetUserByID with a message frame and grpc-status 0", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const body = frame(toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: user.userId })));
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/grpc-web+proto", body });
    expect(res.status).toBe(200);
    const { messages, trailer } = unframe(new Uint8Array(await res.arrayBuffer()));
    expect(trailer.get("grpc-status")).toBe("0");
    expect(fromBinary(GetUserByIDResponseSchema, messages[0]!).user?.userId).toBe(user.userId);
  });

  it("puts the error in trailers with grpc-status-details-bin", async () => {
    const app = await zitadelApp();
    const body = frame(toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: "404404" })));
    const res = await rpc("GetUserByID", { token: app.admin, contentType: "application/grpc-web+proto", body });
    expect(res.status).toBe(200);
    const { messages, trailer } = unframe(new Uint8Array(await res.arrayBuffer()));
    expect(messages).toEqual([]);
    expect(trailer.get("grpc-status")).toBe(String(Code.NotFound));
    expect(decodeURIComponent(trailer.get("grpc-message")!)).toBe("User could not be found (COMMAND-SAF4f)");
    expect(trailer.get("grpc-status-details-bin")).toBeTruthy();
    const error = findTrailerError(trailer);
    expect(error?.findDetails(ErrorDetailSchema)).toMatchObject([{ id: "COMMAND-SAF4f", message: "User could not be found" }]);
  });
});

describe("native gRPC", () => {
  it("is refused with grpc-status 12 and a message naming gRPC-web and Connect, before anything runs", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const before = await userRow(user.userId);
    const body = frame(toBinary(PasswordResetRequestSchema, create(PasswordResetRequestSchema, { userId: user.userId })));
    const res = await rpc("PasswordReset", { token: app.admin, contentType: "application/grpc", body, headers: { TE: "trailers" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("grpc-status")).toBe("12");
    const message = decodeURIComponent(res.headers.get("grpc-message")!);
    expect(message).toContain("gRPC-web");
    expect(message).toContain("Connect");
    expect(new Uint8Array(await res.arrayBuffer()).length).toBe(0);
    expect(await userRow(user.userId)).toEqual(before);
    expect(await resetRow(user.userId)).toBeNull();
    expect(await outbox(user.email)).toEqual([]);
  });

  it("is refused for application/grpc+proto too", async () => {
    const res = await rpc("GetUserByID", { contentType: "application/grpc+proto", body: frame(new Uint8Array()) });
    expect(res.headers.get("grpc-status")).toBe("12");
  });
});

describe("faults of ours under Connect", () => {
  it("answer Internal without the raw error text, and are logged", async () => {
    const { app: worker } = await import("../../src/app");
    const { createExecutionContext, env } = await import("cloudflare:test");
    const { vi } = await import("vitest");
    const secret = "D1 internals: table access_tokens on replica 7";
    const brokenDb = { prepare: () => { throw new Error(secret); }, batch: () => { throw new Error(secret); } } as unknown as D1Database;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const request = new Request("http://latchkey.test/zitadel.user.v2.UserService/GetUserByID", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer some-token-value" },
      body: JSON.stringify({ userId: "123" }),
    });
    // The control database and every shard fail: the token (from before shards: no app in it) is looked for in each.
    const res = await worker.fetch(request, { ...env, DB: brokenDb, USERS_0: brokenDb, USERS_1: brokenDb }, createExecutionContext());
    const text = await res.text();
    const logged = errors.mock.calls.map((c) => String(c[0]));
    errors.mockRestore();
    expect(res.status).toBe(500);
    expect(JSON.parse(text).code).toBe("internal");
    expect(text).not.toContain("replica");
    expect(logged.some((l) => l.includes("zitadel-connect") && l.includes("replica"))).toBe(true);
  });
});
