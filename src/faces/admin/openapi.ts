// The operator API in the OpenAPI document (src/openapi/document.ts), from the zod schemas its
// routes validate with (./routes.ts, ./import.ts) and the settings schema the core checks
// settings with (config/settings.ts). test/web/openapi.test.ts fails when a served route is missing here.
import * as z from "zod/mini";
import { APP_ID, MAX_ROTATION_GRACE_SECONDS } from "../../core/apps";
import { MIN_IMPORT_QUERY_BUDGET } from "../../config/runtime";
import { settingsObject } from "../../config/settings";
import { MAX_BODY_BYTES } from "../../http";
import { content, described, type FaceDoc, jsonSchema, mergeResponses, type Response, type RouteDoc, parameters } from "../../lib/openapi";
import { importLine, MAX_IMPORT_LINE_BYTES } from "./import";
import { createSchema, listQuery, moveSchema, patchSchema, rotateSchema, settingsField } from "./routes";

const TAG = "Admin";

export const securitySchemes = {
  AdminToken: { type: "http", scheme: "bearer", description: "The ADMIN_TOKEN secret" },
} as const;

// Request bodies name the settings object (checked as a whole by the core) by reference.
const refs = new Map<z.core.$ZodType, string>([[settingsField, "AppSettings"]]);

const errorBody = z.object({ error: z.string(), message: z.string(), field: described(z.optional(z.string()), "the field at fault, as a dotted path") });
const ERRORS: Record<number, string> = {
  400: "invalid_request, invalid_json or invalid_settings",
  401: "unauthorized: no valid admin token",
  404: "not_found",
  409: "conflict: the appId is taken",
  413: "too_large",
  415: "unsupported_media_type",
  500: "internal",
  503: "unavailable: a shard is behind on its schema, or the app is being moved (see Retry-After)",
};

const errors = (statuses: number[]): Record<string, Response> => {
  const schema = { $ref: "#/components/schemas/AdminError" };
  return Object.fromEntries(statuses.map((s) => [s, { description: ERRORS[s]!, content: content(["application/json"], schema) }]));
};

const appParams = z.object({ appId: z.string().check(z.regex(APP_ID)) });
const importQuery = z.object({
  fromLine: z.optional(z.int().check(z.minimum(1))),
  maxQueries: z.optional(z.int().check(z.minimum(MIN_IMPORT_QUERY_BUDGET))),
});
const APP_VIEW = { $ref: "#/components/schemas/AppView" };

function routes(): RouteDoc[] {
  const json = (schema: z.core.$ZodType) => content(["application/json"], jsonSchema(schema, { refs }));
  const body = (schema: z.core.$ZodType) => ({ required: true, description: `At most ${MAX_BODY_BYTES} bytes.`, content: json(schema) });
  const op = (method: RouteDoc["method"], path: string, operation: Omit<RouteDoc["operation"], "tags" | "security">, statuses: number[]): RouteDoc => ({
    method,
    path: `/admin${path}`,
    operation: { ...operation, tags: [TAG], security: [{ AdminToken: [] }], responses: mergeResponses(operation.responses, errors([401, 500, ...statuses])) },
  });
  const appView = (description: string, extra?: z.core.$ZodObject): Record<string, Response> => ({
    200: {
      description,
      content: content(["application/json"], extra ? { allOf: [APP_VIEW, jsonSchema(extra, { io: "output" })] } : APP_VIEW),
    },
  });
  return [
    op(
      "post",
      "/apps",
      {
        operationId: "adminCreateApp",
        summary: "Create an app",
        description: "Unknown settings are refused. The client secret is shown once.",
        requestBody: body(createSchema),
        responses: {
          201: {
            description: "Created",
            content: content(["application/json"], { allOf: [APP_VIEW, jsonSchema(z.object({ clientSecret: z.string() }), { io: "output" })] }),
          },
        },
      },
      [400, 409, 413, 415],
    ),
    op(
      "get",
      "/apps",
      {
        operationId: "adminListApps",
        summary: "List apps, a page at a time, in id order",
        parameters: parameters("query", listQuery, { after: "next from the previous page" }),
        responses: {
          200: {
            description: "A page of apps",
            content: content(["application/json"], {
              type: "object",
              properties: { apps: { type: "array", items: APP_VIEW }, next: { type: ["string", "null"], description: "pass as after for the next page; null on the last" } },
              required: ["apps", "next"],
            }),
          },
        },
      },
      [400],
    ),
    op("get", "/apps/{appId}", { operationId: "adminGetApp", summary: "Get an app (delivery secrets masked)", parameters: parameters("path", appParams), responses: appView("The app") }, [404]),
    op(
      "patch",
      "/apps/{appId}",
      {
        operationId: "adminUpdateApp",
        summary: "Change an app's settings",
        description: "settings is merged into the stored settings (objects merge, everything else replaces), and the result is checked as a whole.",
        parameters: parameters("path", appParams),
        requestBody: body(patchSchema),
        responses: appView("The app as changed"),
      },
      [400, 404, 413, 415],
    ),
    op(
      "delete",
      "/apps/{appId}",
      { operationId: "adminDeleteApp", summary: "Delete an app", parameters: parameters("path", appParams), responses: { 204: { description: "Deleted" } } },
      [404],
    ),
    op(
      "post",
      "/apps/{appId}/rotate",
      {
        operationId: "adminRotateAppCredentials",
        summary: "New app key and client secret",
        description: `The old key and secret keep working for graceSeconds (default one day, at most ${MAX_ROTATION_GRACE_SECONDS} s; 0 ends them at once). The new secret is shown once.`,
        parameters: parameters("path", appParams),
        requestBody: body(rotateSchema),
        responses: {
          200: {
            description: "The new credentials",
            content: json(z.object({ appId: z.string(), appKey: z.string(), clientSecret: z.string(), previousValidUntil: z.iso.datetime() })),
          },
        },
      },
      [400, 404, 413, 415],
    ),
    op(
      "post",
      "/apps/{appId}/move",
      {
        operationId: "adminMoveApp",
        summary: "Move an app's users to another shard",
        description:
          "Copies the app's users, tokens, sessions and reset state to the shard USERS_{shard}, then switches the app's routing (its version goes up) and, after settleSeconds, deletes the source's copy. The app's writes answer 503 with Retry-After while it copies; reads go on. Naming the app's current shard cancels an unfinished move. See docs/storage.md.",
        parameters: parameters("path", appParams),
        requestBody: body(moveSchema),
        responses: {
          200: {
            description: "The move as done, or its cancellation",
            content: json(
              z.union([
                z.object({
                  appId: z.string(),
                  from: z.int(),
                  to: z.int(),
                  routingVersion: z.int(),
                  copied: described(z.record(z.string(), z.int()), "rows copied, per table"),
                  renumbered: described(z.int(), "users whose internalUserID was taken in the target and got a new one"),
                  purged: described(z.int(), "rows deleted from the source after the switch"),
                }),
                z.object({ appId: z.string(), cancelled: z.literal(true), shard: z.int() }),
              ]),
            ),
          },
        },
      },
      [400, 404, 409, 413, 415, 503],
    ),
    op(
      "post",
      "/apps/{appId}/users:import",
      {
        operationId: "adminImportUsers",
        summary: "Import users (NDJSON in, NDJSON out)",
        description: `One JSON user per line (the schema below is one line; at most ${MAX_IMPORT_LINE_BYTES} bytes each; no whole-body limit). Each line is answered with a line {line, status: created | updated | refused, userId | reason, field?}, then {summary: {created, updated, refused}}. An import that reaches its budget of D1 queries (IMPORT_D1_QUERY_BUDGET, default 900) ends instead with {paused: true, nextLine, counts, message}: send the same file again with ?fromLine=nextLine. See docs/migrating.md.`,
        parameters: [
          ...parameters("path", appParams),
          ...parameters("query", importQuery, {
            fromLine: "skip the file's lines before this one, unread (resuming a paused import: its nextLine); answer lines keep the file's numbers",
            maxQueries: "a smaller D1 query budget for this request than the deployment's (IMPORT_D1_QUERY_BUDGET), never a larger one",
          }),
        ],
        requestBody: { required: true, content: content(["application/x-ndjson"], jsonSchema(importLine)) },
        responses: {
          200: {
            description: "One result line per user line, then the summary",
            content: content(
              ["application/x-ndjson"],
              jsonSchema(
                z.union([
                  z.object({ line: z.int(), status: z.enum(["created", "updated"]), userId: z.string() }),
                  z.object({ line: z.int(), status: z.literal("refused"), reason: z.string(), field: z.optional(z.string()) }),
                  z.object({ summary: z.object({ created: z.int(), updated: z.int(), refused: z.int() }) }),
                  z.object({
                    paused: z.literal(true),
                    nextLine: described(z.int(), "the first line not imported: send the same file again with ?fromLine= this"),
                    counts: described(z.object({ created: z.int(), updated: z.int(), refused: z.int() }), "this request's results, as in summary"),
                    message: z.string(),
                  }),
                  z.object({ error: z.literal("internal"), message: z.string() }),
                ]),
                { io: "output" },
              ),
            ),
          },
        },
      },
      [400, 404, 415],
    ),
  ];
}

export function adminApiDoc(): FaceDoc {
  const appView = z.object({
    appId: z.string(),
    appKey: z.string(),
    clientId: z.string(),
    orgId: described(z.string(), "the ZITADEL resourceOwner"),
    name: z.string(),
    settings: settingsObject,
    createdAt: z.iso.datetime(),
    changedAt: z.iso.datetime(),
    routing: described(
      z.object({ shard: z.int(), version: z.int(), moving: z.nullable(z.int()) }),
      "where the app's users live (binding USERS_{shard}); moving names the target of an unfinished move",
    ),
  });
  return {
    tag: { name: TAG, description: "The operator API: apps (tenants), their settings and credentials, and bulk import. Errors are {error, message, field?}." },
    routes: routes(),
    schemas: {
      AppSettings: { ...jsonSchema(settingsObject), description: "Every field is optional; a field left out keeps its default (on create) or its stored value (on PATCH)." },
      AppView: jsonSchema(appView, { io: "output" }),
      AdminError: jsonSchema(errorBody),
    },
    securitySchemes,
  };
}
