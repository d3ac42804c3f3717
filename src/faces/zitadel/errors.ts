// ZITADEL's error dialect, in one place. ZITADEL answers every failure with a gRPC code, a
// status message "<text> (<ID>)" and one zitadel.v1.ErrorDetail {id, message}; each protocol
// carries these differently:
// - REST (grpc-gateway): JSON {code, message, details: [{"@type", id, message}]} with the
//   gateway's HTTP status for the code;
// - Connect: connect-es renders the ConnectError (JSON body with the binary detail);
// - gRPC-web: connect-es writes grpc-status, grpc-message and grpc-status-details-bin trailers.
// IDs come from ZITADEL's sources where ZITADEL has the same condition; conditions only Latchkey
// has use the LATCHKEY- prefix, so no client mistakes them for ZITADEL's.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "./protos.gen";
import type { CoreError, PolicyViolation } from "../../core/errors";

export type Rpc =
  | "PasswordReset"
  | "SetPassword"
  | "AddHumanUser"
  | "GetUserByID"
  | "SetEmail"
  | "ResendEmailCode"
  | "VerifyEmail"
  | "SetPhone"
  | "ResendPhoneCode"
  | "VerifyPhone"
  | "RemovePhone"

  | "DeleteUser"
  | "DeactivateUser"
  | "ReactivateUser"
  | "LockUser"
  | "UnlockUser"
  | "CreateSession"
  | "SetSession"
  | "GetSession"
  | "DeleteSession"
  | "ListSessions";

// ZITADEL's commands each carry their own id for a missing user.
const USER_NOT_FOUND_IDS: Partial<Record<Rpc, string>> = {
  DeleteUser: "COMMAND-m9od",
  DeactivateUser: "COMMAND-3M9ds",
  ReactivateUser: "COMMAND-4M0sd",
  LockUser: "COMMAND-5M9fs",
  UnlockUser: "COMMAND-M0dos",
};

// ZITADEL's preconditions on a user's state (internal/command/user.go), by what stood in the way.
const STATE_CONFLICTS = {
  already_inactive: [Code.FailedPrecondition, "COMMAND-5M0sf", "User is already deactivated"],
  initial: [Code.NotFound, "COMMAND-ke0fw", "Cannot deactivate a user in state initial"],
  not_inactive: [Code.FailedPrecondition, "COMMAND-6M0sf", "User is not deactivated"],
  not_lockable: [Code.FailedPrecondition, "COMMAND-3NN8v", "User must be active or initial"],
  not_locked: [Code.FailedPrecondition, "COMMAND-4M0ds", "User is not locked"],
} as const;

export class ZitadelError extends Error {
  override readonly name = "ZitadelError";
  constructor(
    readonly code: Code,
    readonly id: string,
    readonly text: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${text} (${id})`);
  }
}

export const invalidArgument = (text: string) => new ZitadelError(Code.InvalidArgument, "LATCHKEY-INPUT", text);
export const unauthenticated = () => new ZitadelError(Code.Unauthenticated, "AUTH-7fs1e", "Token is invalid");
export const permissionDenied = () => new ZitadelError(Code.PermissionDenied, "AUTH-5mWD2", "No matching permissions found");
export const unimplemented = (text: string) => new ZitadelError(Code.Unimplemented, "LATCHKEY-UNIMPLEMENTED", text);
/**
 * A move pausing the app's writes, or its shard's schema behind the code: gRPC's Unavailable
 * (HTTP 503 on REST) is the code clients retry, and Retry-After says when.
 */
export const unavailable = (e: CoreError) => new ZitadelError(Code.Unavailable, "LATCHKEY-UNAVAILABLE", e.message, e.details.retryAfterSeconds ?? 5);
export const internal = () => new ZitadelError(Code.Internal, "LATCHKEY-INTERNAL", "Internal error");

const POLICY_IDS: Record<PolicyViolation, [string, string]> = {
  min_length: ["DOMAIN-HuJf6", "Password is too short"],
  lowercase: ["DOMAIN-co3Xw", "Password must contain lower case"],
  uppercase: ["DOMAIN-VoaRj", "Password must contain upper case"],
  number: ["DOMAIN-ZBv4H", "Password must contain number"],
  symbol: ["DOMAIN-ZDLwA", "Password must contain symbol"],
  max_length: ["LATCHKEY-PWMAX", "Password is too long"],
  same_as_old: ["COMMAND-Aesh5", "The new password must differ from the current one"],
  breached: ["LATCHKEY-PWBREACHED", "Password is known from a data breach"],
};

/** Maps a core error to ZITADEL's code, id and text; `rpc` decides the few ids that differ by call. */
export function fromCoreError(e: CoreError, rpc: Rpc): ZitadelError {
  const z = (code: Code, id: string, text: string) => new ZitadelError(code, id, text);
  switch (e.kind) {
    case "invalid_input":
      return z(Code.InvalidArgument, "LATCHKEY-INPUT", e.message);
    case "password_policy": {
      const [id, text] = POLICY_IDS[e.details.policy ?? "min_length"];
      return z(Code.InvalidArgument, id, text);
    }
    case "app_not_found":
    case "unauthenticated":
      return unauthenticated();
    case "permission_denied":
      return permissionDenied();
    case "user_not_found":
      // ZITADEL's SetPassword looks the user up through the password write model.
      return rpc === "SetPassword"
        ? z(Code.FailedPrecondition, "COMMAND-G8dh3", "Password not found")
        : z(Code.NotFound, USER_NOT_FOUND_IDS[rpc] ?? "COMMAND-SAF4f", "User could not be found");
    case "user_exists":
      // As ZITADEL: a taken userId is a failed precondition, a taken username an existing user.
      return e.details.field === "userId"
        ? z(Code.FailedPrecondition, "COMMAND-7yiox1isql", "User already exists")
        : z(Code.AlreadyExists, "COMMA-CxDKf", "User already exists");
    case "wrong_password":
      // ZITADEL names a locked user's state where Kii answers as for a wrong password.
      return e.details.locked
        ? z(Code.FailedPrecondition, "COMMAND-JLK35", "User is locked")
        : z(Code.InvalidArgument, "COMMAND-3M0fs", "Password is invalid");
    case "session_not_found":
      return z(Code.NotFound, "QUERY-SFeaa", "Session does not exist");
    case "session_expired":
      return z(Code.FailedPrecondition, "COMMAND-Hkl3d", "Session has expired");
    case "session_token_invalid":
      return z(Code.PermissionDenied, "COMMAND-sGr42", "Session token is invalid");
    case "state_conflict": {
      const [code, id, text] = STATE_CONFLICTS[e.details.state ?? "not_lockable"];
      return z(code, id, text);
    }
    case "user_disabled":
      return z(Code.FailedPrecondition, "COMMAND-JLK35", "User is locked");
    case "no_password":
      return rpc === "PasswordReset"
        ? z(Code.FailedPrecondition, "COMMAND-Sfe4g", "User is not yet initialised")
        : z(Code.FailedPrecondition, "COMMAND-Fds3s", "Password not set");
    case "address_unverified":
      return z(Code.FailedPrecondition, "LATCHKEY-UNVERIFIED", e.message);
    case "code_not_found":
      return z(Code.FailedPrecondition, "COMMAND-2M9fs", "Code not found");
    case "code_invalid":
      // ZITADEL's v2 email and phone verification answer a wrong code with its own id.
      return rpc === "VerifyEmail" || rpc === "VerifyPhone"
        ? z(Code.InvalidArgument, "COMMAND-eis9R", "Code is invalid")
        : z(Code.InvalidArgument, "CODE-woT0xc", "Code is invalid");
    case "code_expired":
      return z(Code.FailedPrecondition, "CODE-QvUQ4P", "Code is expired");
    case "address_verified":
      if (e.details.unchanged) return z(Code.FailedPrecondition, "COMMAND-Uch5e", e.details.channel === "phone" ? "Phone not changed" : "Email not changed");
      return e.details.channel === "phone"
        ? z(Code.FailedPrecondition, "COMMAND-2M9sf", "Phone is already verified")
        : z(Code.FailedPrecondition, "COMMAND-3M9ds", "Email is already verified");
    case "address_not_found":
      return e.details.channel === "phone"
        ? z(Code.NotFound, "COMMAND-2b7Hf", "Phone not found")
        : z(Code.FailedPrecondition, "EMAIL-5w5ilin4yt", "Code is empty");
    case "rate_limited":
      return new ZitadelError(Code.ResourceExhausted, "LATCHKEY-RATE", e.message, e.details.retryAfterSeconds ?? 60);
    case "invalid_template":
      return z(Code.InvalidArgument, "DOMAIN-oGh5e", "Invalid URL template");
    case "unsupported":
      return z(Code.Unimplemented, "LATCHKEY-UNIMPLEMENTED", e.message);
    case "unavailable":
      return unavailable(e);
  }
}

/** For the Connect router: connect-es writes it as Connect JSON or gRPC-web trailers. */
export function toConnectError(e: ZitadelError): ConnectError {
  const headers = e.retryAfterSeconds !== undefined ? { "Retry-After": String(e.retryAfterSeconds) } : undefined;
  return new ConnectError(e.message, e.code, headers, [{ desc: ErrorDetailSchema, value: { id: e.id, message: e.text } }]);
}

// grpc-gateway's runtime.HTTPStatusFromCode.
const HTTP_STATUS: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The HTTP status REST answers a gRPC code with. */
export const httpStatusOf = (code: Code): number => HTTP_STATUS[code];

export function restErrorResponse(e: ZitadelError): Response {
  const body = {
    code: e.code,
    message: e.message,
    details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: e.id, message: e.text }],
  };
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (e.retryAfterSeconds !== undefined) headers["Retry-After"] = String(e.retryAfterSeconds);
  return new Response(JSON.stringify(body), { status: HTTP_STATUS[e.code], headers });
}
