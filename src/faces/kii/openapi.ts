// The Kii routes in the OpenAPI document (src/openapi/document.ts), from the zod schemas the
// routes validate with (./routes.ts, ./verification-routes.ts) and the error table the face renders
// with (./errors.ts). test/web/openapi.test.ts fails when a served route is missing here.
import * as z from "zod/mini";
import { APP_ID } from "../../core/apps";
import { MAX_BODY_BYTES } from "../../http";
import { content, described, type FaceDoc, jsonSchema, mergeResponses, type Operation, parameters, type Response, type RouteDoc, type SecurityRequirement } from "../../lib/openapi";
import { KII_ERRORS, type KiiErrorCode } from "./errors";
import { changePasswordSchema, completeResetSchema, registrationSchema, resetRequestSchema, statusSchema, tokenSchema } from "./routes";
import { kiiUserSchema } from "./users-json";
import { emailSchema, phoneSchema, SEGMENT, verifySchema } from "./verification-routes";

const TAG = "Kii";

const userIdentifier = z
  .string()
  .check(z.minLength(1), z.maxLength(270))
  .register(z.globalRegistry, {
    description:
      "A userID, or EMAIL:address, PHONE:+number or LOGIN_NAME:name (percent-encoded; EMAIL and PHONE match verified addresses only), or me for the bearer's own user",
    examples: ["me", "EMAIL:ann@example.com", "PHONE:+819012345678", "LOGIN_NAME:ann"],
  });
const appParams = z.object({ appID: described(z.string().check(z.regex(APP_ID)), "The app's id") });
const userParams = z.extend(appParams, { userID: userIdentifier });

// Anonymous calls name the app by X-Kii-AppID + X-Kii-AppKey (what the JS SDK sends) or Basic.
const APP: SecurityRequirement[] = [{ KiiAppID: [], KiiAppKey: [] }, { KiiBasic: [] }];
const BEARER: SecurityRequirement[] = [{ KiiBearer: [] }];

export const securitySchemes = {
  KiiAppID: { type: "apiKey", in: "header", name: "X-Kii-AppID", description: "The app's id, sent with X-Kii-AppKey" },
  KiiAppKey: { type: "apiKey", in: "header", name: "X-Kii-AppKey", description: "The app's key, sent with X-Kii-AppID" },
  KiiBasic: { type: "http", scheme: "basic", description: "Basic base64(appID:appKey)" },
  KiiBearer: {
    type: "http",
    scheme: "bearer",
    description: "An access token from POST /api/oauth2/token: a user's (username and password) or an app admin's (client_id and client_secret)",
  },
} as const;

// One schema per error code under components/schemas (KiiUserNotFoundException, ...), referred to by each route.
const errorSchemaName = (code: KiiErrorCode) => `Kii${KII_ERRORS[code][1]}`;
const errorSchemas = () =>
  Object.fromEntries(
    (Object.keys(KII_ERRORS) as KiiErrorCode[]).map((code) => [errorSchemaName(code), jsonSchema(z.looseObject({ errorCode: z.literal(code), message: z.string() }))]),
  );

/** Kii errors in Kii's shape: one response per status, each error code under its own vnd media type. */
function kiiErrors(codes: readonly KiiErrorCode[]): Record<string, Response> {
  return mergeResponses(
    ...codes.map((code) => {
      const [status, name] = KII_ERRORS[code];
      const response: Response = { description: code, content: content([`application/vnd.kii.${name}+json`], { $ref: `#/components/schemas/${errorSchemaName(code)}` }) };
      if (code === "TOO_MANY_REQUESTS") response.headers = { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } };
      return { [status]: response };
    }),
  );
}

// Every route identifies the app; every body is size-limited and must be JSON.
const COMMON: KiiErrorCode[] = ["APP_NOT_FOUND", "UNAUTHORIZED", "REQUEST_TOO_LARGE", "INTERNAL_SERVER_ERROR"];
const BODY: KiiErrorCode[] = ["INVALID_INPUT_DATA", "UNSUPPORTED_MEDIA_TYPE"];

const kiiBody = (vnd: string, schema: z.core.$ZodType, required = true) => ({
  required,
  description: `At most ${MAX_BODY_BYTES} bytes.`,
  content: content([vnd, "application/json"], jsonSchema(schema)),
});

const NO_CONTENT: Record<string, Response> = { 204: { description: "Done" } };

interface KiiRoute {
  method: RouteDoc["method"];
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  deprecated?: boolean;
  security: SecurityRequirement[];
  params: z.core.$ZodObject;
  body?: Operation["requestBody"];
  success: Record<string, Response>;
  errors: KiiErrorCode[];
}

const doc = (r: KiiRoute): RouteDoc => ({
  method: r.method,
  path: `/api${r.path}`,
  operation: {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    ...(r.deprecated ? { deprecated: true } : {}),
    tags: [TAG],
    security: r.security,
    ...(Object.keys(r.params._zod.def.shape).length > 0 ? { parameters: parameters("path", r.params) } : {}),
    ...(r.body ? { requestBody: r.body } : {}),
    responses: mergeResponses(r.success, kiiErrors([...COMMON, ...(r.body ? BODY : []), ...r.errors])),
  },
});

// The token endpoint answers in OAuth's shape (RFC 6749 §5.2), with Kii's errorCode beside it.
const oauthError = (errors: string[]) =>
  jsonSchema(z.object({ errorCode: z.enum(errors), error: z.enum(errors), error_description: z.string() }));
const tokenResponse = z.object({ id: described(z.string(), "the user's id, or the app's client_id for an admin token"), access_token: z.string(), expires_in: z.int(), token_type: z.literal("bearer") });
const tokenRoute = (path: string, operationId: string, params: z.core.$ZodObject): KiiRoute => ({
  method: "post",
  path,
  operationId,
  summary: path.includes("{appID}") ? "Sign in (app named in the path)" : "Sign in: a user's token (password grant) or an app admin's (client_credentials)",
  description:
    "grant_type may be left out: client_id means client_credentials, otherwise password. username may be a login name, an email address, +phone, EMAIL:x or PHONE:+x.",
  security: APP,
  params,
  body: { required: true, content: { ...content(["application/json"], jsonSchema(tokenSchema)), ...content(["application/x-www-form-urlencoded"], jsonSchema(tokenSchema)) } },
  success: {
    200: { description: "An access token", content: content(["application/json"], jsonSchema(tokenResponse)) },
    400: { description: "OAuth error", content: content(["application/json"], oauthError(["invalid_grant", "invalid_request", "unsupported_grant_type"])) },
    401: { description: "OAuth error", content: content(["application/json"], oauthError(["invalid_client"])) },
    429: {
      description: "Too many sign-ins",
      headers: { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } },
      content: content(["application/json"], jsonSchema(z.object({ errorCode: z.literal("TOO_MANY_REQUESTS"), error: z.literal("too_many_requests"), error_description: z.string() }))),
    },
  },
  errors: ["USER_DISABLED", "UNSUPPORTED_MEDIA_TYPE"],
});

const userJson = (vnd: string) => content([vnd], jsonSchema(kiiUserSchema, { io: "output" }));

const addressRoutes = () => Object.entries(SEGMENT).flatMap(([segment, channel]): KiiRoute[] => {
  const what = channel === "email" ? "email address" : "phone number";
  const name = channel === "email" ? "EmailAddress" : "PhoneNumber";
  return [
    {
      method: "post",
      path: `/apps/{appID}/users/{userID}/${segment}/resend-verification`,
      operationId: `kiiResend${name}Verification`,
      summary: `Send a new verification code to the ${what}`,
      security: [...APP, ...BEARER],
      params: userParams,
      success: NO_CONTENT,
      errors: ["USER_NOT_FOUND", "INVALID_STATUS", "USER_DISABLED", "TOO_MANY_REQUESTS"],
    },
    {
      method: "post",
      path: `/apps/{appID}/users/{userID}/${segment}/verify`,
      operationId: `kiiVerify${name}`,
      summary: `Verify the ${what} with the code sent to it`,
      security: [...APP, ...BEARER],
      params: userParams,
      body: kiiBody("application/vnd.kii.AddressVerificationRequest+json", verifySchema),
      success: NO_CONTENT,
      errors: ["USER_NOT_FOUND", "INVALID_VERIFICATION_CODE", "PIN_CODE_EXPIRED", "INVALID_STATUS", "USER_ALREADY_EXISTS", "TOO_MANY_REQUESTS"],
    },
    {
      method: "put",
      path: `/apps/{appID}/users/{userID}/${segment}`,
      operationId: `kiiChange${name}`,
      summary: `Change the ${what}`,
      description: "verified: true is an app admin's word; anyone else gets a code sent to the new address, which stays pending until verified.",
      security: BEARER,
      params: userParams,
      body: kiiBody(`application/vnd.kii.${name}ModificationRequest+json`, channel === "email" ? emailSchema : phoneSchema),
      success: NO_CONTENT,
      errors: ["USER_NOT_FOUND", "USER_ALREADY_EXISTS", "INVALID_STATUS", "TOO_MANY_REQUESTS"],
    },
  ];
});

const requestReset = (path: string, operationId: string, deprecated: boolean): KiiRoute => ({
  method: "post",
  path,
  operationId,
  summary: deprecated ? "Request a password reset (legacy path)" : "Request a password reset by email link, SMS link or SMS PIN",
  description: "An empty body (any content type) asks for an email link. The current password stays valid until the reset is completed.",
  ...(deprecated ? { deprecated } : {}),
  security: [...APP, ...BEARER],
  params: userParams,
  body: kiiBody("application/vnd.kii.ResetPasswordRequest+json", resetRequestSchema, false),
  success: NO_CONTENT,
  errors: ["USER_NOT_FOUND", "OPERATION_NOT_ALLOWED", "INVALID_STATUS", "USER_DISABLED", "TOO_MANY_REQUESTS"],
});

// Built on the first request for the document, not when the Worker starts.
const routes = (): KiiRoute[] => [
  tokenRoute("/oauth2/token", "kiiSignIn", z.object({})),
  tokenRoute("/apps/{appID}/oauth2/token", "kiiSignInToApp", appParams),
  {
    method: "post",
    path: "/apps/{appID}/users",
    operationId: "kiiRegisterUser",
    summary: "Register a user",
    security: APP,
    params: appParams,
    body: kiiBody("application/vnd.kii.RegistrationRequest+json", registrationSchema),
    success: {
      201: {
        description: "Registered",
        headers: { Location: { description: "The new user's URL", schema: { type: "string" } } },
        content: userJson("application/vnd.kii.RegistrationResponse+json"),
      },
    },
    errors: ["USER_ALREADY_EXISTS", "PASSWORD_TOO_SHORT", "TOO_MANY_REQUESTS"],
  },
  {
    method: "get",
    path: "/apps/{appID}/users/{userID}",
    operationId: "kiiGetUser",
    summary: "Get a user",
    description: "Addresses, flags and dates are shown to the user themselves and to app admins; other users see userID, loginName and displayName.",
    security: BEARER,
    params: userParams,
    success: { 200: { description: "The user", content: userJson("application/vnd.kii.UserDataRetrievalResponse+json") } },
    errors: ["USER_NOT_FOUND", "INVALID_INPUT_DATA"],
  },
  {
    method: "delete",
    path: "/apps/{appID}/users/{userID}",
    operationId: "kiiDeleteUser",
    summary: "Delete a user (the user themselves or an app admin)",
    security: BEARER,
    params: userParams,
    success: NO_CONTENT,
    errors: ["USER_NOT_FOUND", "INVALID_INPUT_DATA"],
  },
  {
    method: "put",
    path: "/apps/{appID}/users/{userID}/password",
    operationId: "kiiChangePassword",
    summary: "Change a password",
    description: "The user gives oldPassword; an app admin leaves it out (or null). Every token of the user is revoked.",
    security: BEARER,
    params: userParams,
    body: kiiBody("application/vnd.kii.ChangePasswordRequest+json", changePasswordSchema),
    success: NO_CONTENT,
    errors: ["USER_NOT_FOUND", "PASSWORD_TOO_SHORT", "WRONG_PASSWORD", "OPERATION_NOT_ALLOWED", "USER_DISABLED", "TOO_MANY_REQUESTS"],
  },
  requestReset("/apps/{appID}/users/{userID}/password/request-reset", "kiiRequestPasswordReset", false),
  requestReset("/apps/{appID}/users/{userID}/password/reset", "kiiRequestPasswordResetLegacy", true),
  {
    method: "post",
    path: "/apps/{appID}/users/{userID}/password/complete-reset",
    operationId: "kiiCompletePasswordReset",
    summary: "Complete a reset with the SMS PIN",
    description: "pinCode is the 6 digits that were sent. Every token of the user is revoked.",
    security: [...APP, ...BEARER],
    params: userParams,
    body: kiiBody("application/vnd.kii.CompletePasswordResetRequest+json", completeResetSchema),
    success: NO_CONTENT,
    errors: ["USER_NOT_FOUND", "PASSWORD_TOO_SHORT", "INVALID_VERIFICATION_CODE", "PIN_CODE_EXPIRED", "INVALID_STATUS", "TOO_MANY_REQUESTS"],
  },
  {
    method: "put",
    path: "/apps/{appID}/users/{userID}/status",
    operationId: "kiiSetUserStatus",
    summary: "Disable or enable a user (app admin)",
    description: "Disabling revokes the user's tokens.",
    security: BEARER,
    params: userParams,
    body: kiiBody("application/vnd.kii.UserStatusUpdateRequest+json", statusSchema),
    success: NO_CONTENT,
    errors: ["USER_NOT_FOUND"],
  },
  ...addressRoutes(),
];

export function kiiApiDoc(): FaceDoc {
  return {
    tag: { name: TAG, description: "The Kii Cloud REST dialect, as kii-cloud-sdk and Kii's mobile SDKs call it. Errors are {errorCode, message, ...} under application/vnd.kii.<Name>Exception+json." },
    routes: routes().map(doc),
    schemas: errorSchemas(),
    securitySchemes,
  };
}
