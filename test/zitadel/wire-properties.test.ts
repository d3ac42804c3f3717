// Issue 9: generated bad input on every ZITADEL protocol. Arbitrary bytes as Connect proto
// bodies and as gRPC-web frames, arbitrary JSON on Connect and REST, arbitrary paths and methods
// under /v2 and /zitadel.user.v2.UserService: never a 5xx (Unimplemented, for what Latchkey does
// not serve, is the one 5xx status ZITADEL's dialect gives and is checked for its shape), always
// the protocol's error shape with ZITADEL's ErrorDetail, and nothing stored changes.
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { Code } from "@connectrpc/connect";
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { call, everyShard } from "../helpers";
import { resetRow, userRow } from "../kii/password-helpers";
import { addHuman, type HumanUser, type ZitadelApp, zitadelApp } from "./helpers";
import { connectError, grpcWebError } from "./wire-helpers";

const RUNS = 150;
const METHODS = ["PasswordReset", "SetPassword", "AddHumanUser", "GetUserByID"] as const;
// Codes a caller's bad input may produce; Internal, Unknown, DataLoss, Unavailable never.
const INPUT_CODES = [Code.InvalidArgument, Code.NotFound, Code.FailedPrecondition, Code.PermissionDenied, Code.Unauthenticated, Code.ResourceExhausted, Code.Unimplemented, Code.AlreadyExists];

let app: ZitadelApp;
let user: HumanUser;
beforeAll(async () => {
  app = await zitadelApp();
  user = await addHuman(app);
});

/** What no bad request may change: the app's users, the known user's row and its reset state. */
async function state() {
  const users = await everyShard.prepare("SELECT id, sequence FROM users WHERE app_id = ? ORDER BY id").bind(app.appId).all();
  return { users: users.results, user: await userRow(user.userId), reset: await resetRow(user.userId) };
}

const post = (method: string, contentType: string, body: BodyInit, token: string | null = app.admin) =>
  call(`/zitadel.user.v2.UserService/${method}`, {
    method: "POST",
    headers: { "Content-Type": contentType, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body,
  });

const method = fc.constantFrom(...METHODS);
const token = fc.constantFrom<string | null>("admin", "admin", "admin", null, "not-a-token").map((t) => (t === "admin" ? app.admin : t));

async function expectConnectError(res: Response) {
  const { status, error } = await connectError(res);
  expect(INPUT_CODES).toContain(error.code);
  if (status >= 500) expect(error.code).toBe(Code.Unimplemented);
  expect(error.rawMessage).not.toMatch(/premature EOF|parse binary|invalid wire type|illegal tag/i);
}

describe("generated bad input", () => {
  it("arbitrary bytes as Connect proto bodies", async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(method, token, fc.uint8Array({ maxLength: 300 }), async (m, t, bytes) => {
        const res = await post(m, "application/proto", bytes, t);
        if (res.status === 200) return; // bytes that happen to decode into a harmless valid request
        await expectConnectError(res);
      }),
      { numRuns: RUNS },
    );
    expect(await state()).toEqual(before);
  });

  it("arbitrary bytes as gRPC-web bodies, framed or not", async () => {
    const before = await state();
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => encodeEnvelope(0, b)),
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 })).map(([flags, b]) => encodeEnvelope(flags, b)),
    );
    await fc.assert(
      fc.asyncProperty(method, token, body, async (m, t, bytes) => {
        const res = await post(m, "application/grpc-web+proto", bytes, t);
        expect(res.status).toBe(200);
        const { error } = await grpcWebError(res);
        expect(INPUT_CODES).toContain(error.code);
        expect(error.rawMessage).not.toMatch(/premature EOF|parse binary|invalid wire type|illegal tag/i);
      }),
      { numRuns: RUNS },
    );
    expect(await state()).toEqual(before);
  });

  it("arbitrary JSON on Connect", async () => {
    const before = await state();
    const body = fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string(), fc.json());
    await fc.assert(
      fc.asyncProperty(method, token, body, async (m, t, text) => {
        const res = await post(m, "application/json", text, t);
        if (res.status === 200) return;
        await expectConnectError(res);
      }),
      { numRuns: RUNS },
    );
    expect(await state()).toEqual(before);
  });

  it("arbitrary JSON on REST", async () => {
    const before = await state();
    const route = fc.constantFrom("/v2/users/human", `/v2/users/{id}/password_reset`, `/v2/users/{id}/password`);
    const body = fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string());
    await fc.assert(
      fc.asyncProperty(route, token, body, fc.constantFrom("404404", "me", "x".repeat(201)), async (r, t, text, id) => {
        const res = await call(r.replace("{id}", id), {
          method: "POST",
          headers: { "Content-Type": "application/json", ...(t ? { Authorization: `Bearer ${t}` } : {}) },
          body: text,
        });
        if (res.status === 200) return;
        await expectRestError(res);
      }),
      { numRuns: RUNS },
    );
    expect(await state()).toEqual(before);
  });

  it("arbitrary paths and methods under /v2 and /zitadel.user.v2.UserService", async () => {
    const before = await state();
    const segment = fc.oneof(
      fc.constantFrom("users", "human", "password", "password_reset", "GetUserByID", "DeleteUser", "me", "%ZZ", "%2F", "...", "", "%00", "%E2%80%AE"),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    ).filter((s) => !/^(\.|%2e){1,2}$/i.test(s)); // "." and ".." leave the prefix once the URL is normalised
    const path = fc.tuple(fc.constantFrom("/v2", "/zitadel.user.v2.UserService"), fc.array(segment, { maxLength: 4 })).map(([root, segs]) => [root, ...segs].join("/"));
    const httpMethod = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH");
    const contentType = fc.constantFrom("application/json", "application/proto", "application/grpc-web+proto", "text/plain", "");
    await fc.assert(
      fc.asyncProperty(path, httpMethod, contentType, token, async (p, m, ct, t) => {
        const res = await call(p, {
          method: m,
          headers: { ...(ct ? { "Content-Type": ct } : {}), ...(t ? { Authorization: `Bearer ${t}` } : {}) },
          ...(m === "GET" ? {} : { body: "{}" }),
        });
        if (res.status === 200 && !ct.startsWith("application/grpc-web")) return; // e.g. GET /v2/users/{the user}
        if (p.startsWith("/zitadel.user.v2.UserService")) {
          if (ct.startsWith("application/grpc-web")) {
            const { error } = await grpcWebError(res);
            expect(INPUT_CODES).toContain(error.code);
          } else await expectConnectError(res);
        } else await expectRestError(res);
      }),
      { numRuns: RUNS },
    );
    expect(await state()).toEqual(before);
  });
});

async function expectRestError(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { code: number; message: string; details: { "@type": string; id: string; message: string }[] };
  expect(INPUT_CODES).toContain(body.code);
  if (res.status >= 500) {
    expect(res.status, text).toBe(501);
    expect(body.code).toBe(Code.Unimplemented);
  }
  expect(body.details).toHaveLength(1);
  expect(body.details[0]!["@type"]).toBe("type.googleapis.com/zitadel.v1.ErrorDetail");
  expect(body.message).toBe(`${body.details[0]!.message} (${body.details[0]!.id})`);
}
