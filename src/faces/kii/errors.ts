// Kii's error dialect: `{errorCode, message, ...fields}` as application/vnd.kii.<Name>+json, with
// the HTTP status the Kii SDK derives from errorCode (so the two must agree). OAuth errors are
// `{errorCode, error, error_description}`. Messages never contain "%": the JS SDK runs
// decodeURIComponent over error bodies and would fail to parse them.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type CoreError } from "../../core/errors";

export const KII_ERRORS = {
  USER_NOT_FOUND: [404, "UserNotFoundException"],
  UNAUTHORIZED: [401, "UnauthorizedAccessException"],
  WRONG_PASSWORD: [401, "WrongPasswordException"],
  USER_DISABLED: [401, "UserDisabledException"],
  OPERATION_NOT_ALLOWED: [409, "OperationNotAllowedException"],
  INVALID_STATUS: [409, "InvalidStatusException"],
  INVALID_INPUT_DATA: [400, "ValidationException"],
  PASSWORD_TOO_SHORT: [400, "PasswordTooShortException"],
  INVALID_VERIFICATION_CODE: [403, "InvalidVerificationCodeException"],
  PIN_CODE_EXPIRED: [410, "PINCodeExpiredException"],
  USER_ALREADY_EXISTS: [409, "UserAlreadyExistsException"],
  TOO_MANY_REQUESTS: [429, "TooManyRequestsException"],
  APP_NOT_FOUND: [404, "AppNotFoundException"],
  UNSUPPORTED_MEDIA_TYPE: [415, "UnsupportedMediaTypeException"],
  REQUEST_TOO_LARGE: [413, "RequestEntityTooLargeException"],
  NOT_FOUND: [404, "NotFoundException"],
  METHOD_NOT_ALLOWED: [405, "MethodNotAllowedException"],
  INTERNAL_SERVER_ERROR: [500, "InternalServerErrorException"],
  SERVICE_UNAVAILABLE: [503, "ServiceUnavailableException"],
} as const satisfies Record<string, readonly [number, string]>;

export type KiiErrorCode = keyof typeof KII_ERRORS;

export class KiiError extends Error {
  constructor(
    readonly errorCode: KiiErrorCode,
    message: string,
    readonly fields: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function kiiErrorResponse(e: KiiError): Response {
  const [status, name] = KII_ERRORS[e.errorCode];
  const body = JSON.stringify({ errorCode: e.errorCode, message: e.message.replace(/%/g, " percent"), ...e.fields });
  return new Response(body, { status, headers: { "Content-Type": `application/vnd.kii.${name}+json`, ...e.headers } });
}

export function oauthErrorResponse(error: "invalid_grant" | "invalid_client" | "invalid_request" | "unsupported_grant_type", description: string): Response {
  const status = error === "invalid_client" ? 401 : 400;
  return new Response(JSON.stringify({ errorCode: error, error, error_description: description }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/**
 * A throttled token request, in the token endpoint's OAuth shape: 429 with Retry-After, and
 * Kii's TOO_MANY_REQUESTS as errorCode (the code the SDK maps to 429).
 */
export function oauthTooManyRequests(description: string, retryAfterSeconds: number): Response {
  return new Response(JSON.stringify({ errorCode: "TOO_MANY_REQUESTS", error: "too_many_requests", error_description: description }), {
    status: 429,
    headers: { "Content-Type": "application/json", "Retry-After": String(retryAfterSeconds) },
  });
}

export interface KiiErrorContext {
  appId?: string;
  principalId?: string;
}

/** Maps a core error to Kii's code and fields. Route-specific cases are mapped by the route. */
export function fromCoreError(e: CoreError, ctx: KiiErrorContext = {}): KiiError {
  const d = e.details;
  switch (e.kind) {
    case "invalid_input":
    case "invalid_template":
    case "unsupported":
      return new KiiError("INVALID_INPUT_DATA", e.message, d.field ? { field: d.field } : {});
    case "password_policy":
      return d.policy === "min_length"
        ? new KiiError("PASSWORD_TOO_SHORT", e.message, { minimumLength: d.minimumLength })
        : new KiiError("INVALID_INPUT_DATA", e.message, { field: "password" });
    case "app_not_found":
      return new KiiError("APP_NOT_FOUND", e.message, { appID: ctx.appId });
    case "unauthenticated":
    case "permission_denied":
      return new KiiError("UNAUTHORIZED", e.message, {
        authenticatedAppID: ctx.appId ?? null,
        authenticatedPrincipalID: ctx.principalId ?? null,
      });
    case "user_not_found":
      return new KiiError("USER_NOT_FOUND", e.message, { field: d.field, value: d.value, appID: ctx.appId });
    case "user_exists":
      return new KiiError("USER_ALREADY_EXISTS", e.message, { field: d.field });
    case "wrong_password":
      return new KiiError("WRONG_PASSWORD", e.message, { appID: ctx.appId, principalID: d.userID ?? ctx.principalId, address: null });
    case "user_disabled":
      return new KiiError("USER_DISABLED", e.message, { UserID: d.userID, appID: ctx.appId });
    case "no_password":
      return new KiiError("OPERATION_NOT_ALLOWED", e.message);
    case "address_unverified":
      return new KiiError("INVALID_STATUS", e.message, { appID: ctx.appId });
    case "code_not_found":
      return new KiiError("INVALID_STATUS", e.message, { appID: ctx.appId });
    case "code_invalid":
      return new KiiError("INVALID_VERIFICATION_CODE", e.message, { appID: ctx.appId });
    case "code_expired":
      return new KiiError("PIN_CODE_EXPIRED", e.message, { appID: ctx.appId });
    case "address_verified":
    case "address_not_found":
    case "session_not_found":
    case "session_expired":
    case "session_token_invalid":
    case "state_conflict":
      return new KiiError("INVALID_STATUS", e.message, { appID: ctx.appId });
    case "rate_limited":
      return new KiiError("TOO_MANY_REQUESTS", e.message, {}, { "Retry-After": String(d.retryAfterSeconds ?? 60) });
    case "unavailable":
      // The app's shard is pausing writes for a move, or its schema is behind: temporary.
      return new KiiError("SERVICE_UNAVAILABLE", e.message, { appID: ctx.appId }, { "Retry-After": String(d.retryAfterSeconds ?? 5) });
  }
}
