// The core → ZITADEL error mapping (src/faces/zitadel/errors.ts): codes, ids and wire shapes.
import { Code } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { describe, expect, it } from "vitest";
import { CoreError, type CoreErrorDetails, type CoreErrorKind } from "../../src/core/errors";
import { fromCoreError, restErrorResponse, type Rpc, toConnectError, ZitadelError } from "../../src/faces/zitadel/errors";

const cases: [CoreErrorKind, CoreErrorDetails, Rpc, Code, string][] = [
  ["user_not_found", {}, "GetUserByID", Code.NotFound, "COMMAND-SAF4f"],
  ["user_not_found", {}, "PasswordReset", Code.NotFound, "COMMAND-SAF4f"],
  ["user_not_found", {}, "SetPassword", Code.FailedPrecondition, "COMMAND-G8dh3"],
  ["code_not_found", {}, "SetPassword", Code.FailedPrecondition, "COMMAND-2M9fs"],
  ["code_expired", {}, "SetPassword", Code.FailedPrecondition, "CODE-QvUQ4P"],
  ["code_invalid", {}, "SetPassword", Code.InvalidArgument, "CODE-woT0xc"],
  ["wrong_password", {}, "SetPassword", Code.InvalidArgument, "COMMAND-3M0fs"],
  ["user_disabled", {}, "PasswordReset", Code.FailedPrecondition, "COMMAND-JLK35"],
  ["invalid_template", {}, "PasswordReset", Code.InvalidArgument, "DOMAIN-oGh5e"],
  ["password_policy", { policy: "min_length" }, "SetPassword", Code.InvalidArgument, "DOMAIN-HuJf6"],
  ["password_policy", { policy: "lowercase" }, "SetPassword", Code.InvalidArgument, "DOMAIN-co3Xw"],
  ["password_policy", { policy: "uppercase" }, "SetPassword", Code.InvalidArgument, "DOMAIN-VoaRj"],
  ["password_policy", { policy: "number" }, "SetPassword", Code.InvalidArgument, "DOMAIN-ZBv4H"],
  ["password_policy", { policy: "symbol" }, "SetPassword", Code.InvalidArgument, "DOMAIN-ZDLwA"],
  ["permission_denied", {}, "AddHumanUser", Code.PermissionDenied, "AUTH-5mWD2"],
  ["unauthenticated", {}, "GetUserByID", Code.Unauthenticated, "AUTH-7fs1e"],
  ["user_exists", { field: "loginName" }, "AddHumanUser", Code.AlreadyExists, "COMMA-CxDKf"],
  ["no_password", {}, "PasswordReset", Code.FailedPrecondition, "COMMAND-Sfe4g"],
  ["rate_limited", { retryAfterSeconds: 30 }, "PasswordReset", Code.ResourceExhausted, "LATCHKEY-RATE"],
  ["invalid_input", { field: "x" }, "AddHumanUser", Code.InvalidArgument, "LATCHKEY-INPUT"],
];

describe("fromCoreError", () => {
  it.each(cases)("maps %s (%j) on %s to code %i, %s", (kind, details, rpc, code, id) => {
    const mapped = fromCoreError(new CoreError(kind, "core text", details), rpc);
    expect(mapped.code).toBe(code);
    expect(mapped.id).toBe(id);
    expect(mapped.message).toBe(`${mapped.text} (${id})`);
  });

  it("says 'No matching permissions found' for PermissionDenied", () => {
    expect(fromCoreError(new CoreError("permission_denied", "x"), "GetUserByID").text).toBe("No matching permissions found");
  });
});

describe("restErrorResponse", () => {
  it.each([
    [Code.InvalidArgument, 400],
    [Code.NotFound, 404],
    [Code.PermissionDenied, 403],
    [Code.ResourceExhausted, 429],
    [Code.FailedPrecondition, 400],
    [Code.Internal, 500],
    [Code.Unauthenticated, 401],
  ])("gives code %i the HTTP status %i", (code, status) => {
    expect(restErrorResponse(new ZitadelError(code, "TEST-1", "text")).status).toBe(status);
  });

  it("sets Retry-After for ResourceExhausted", () => {
    const res = restErrorResponse(fromCoreError(new CoreError("rate_limited", "slow down", { retryAfterSeconds: 42 }), "PasswordReset"));
    expect(res.headers.get("Retry-After")).toBe("42");
  });
});

describe("toConnectError", () => {
  it("carries the ErrorDetail as a binary detail and the status message", () => {
    const err = toConnectError(fromCoreError(new CoreError("code_invalid", "x"), "SetPassword"));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("Code is invalid (CODE-woT0xc)");
    expect(err.findDetails(ErrorDetailSchema)).toMatchObject([{ id: "CODE-woT0xc", message: "Code is invalid" }]);
  });

});
