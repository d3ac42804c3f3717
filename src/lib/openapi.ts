// OpenAPI 3.1 building blocks that know nothing of the product. A face describes each route it
// serves as a RouteDoc, built from the zod schemas it validates with (zod 4's own toJSONSchema:
// OpenAPI 3.1's schemas are JSON Schema 2020-12, what toJSONSchema writes by default). Choosing
// this over @hono/zod-openapi, and what each costs in bytes, is in docs/api.md.
import * as z from "zod/mini";

export type JsonSchema = { [key: string]: unknown };
export type HttpMethod = "get" | "put" | "post" | "delete" | "patch";

/** Security requirement: scheme names (all of them at once) → scopes. */
export type SecurityRequirement = Record<string, string[]>;

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface MediaType {
  schema: JsonSchema;
}

export interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, MediaType>;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  deprecated?: boolean;
  security: SecurityRequirement[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; description?: string; content: Record<string, MediaType> };
  responses: Record<string, Response>;
}

/** One served route: its method, its OpenAPI path template (`/api/apps/{appID}/users`) and what it does. */
export interface RouteDoc {
  method: HttpMethod;
  path: string;
  operation: Operation;
}

/** The whole document, as src/openapi/document.ts builds it and /openapi.json serves it. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/** What one face (Kii, ZITADEL, admin) adds to the document. */
export interface FaceDoc {
  tag: { name: string; description: string };
  routes: RouteDoc[];
  /** Written under components/schemas. */
  schemas: Record<string, JsonSchema>;
  securitySchemes: Record<string, JsonSchema>;
}

export interface SchemaOptions {
  /** "input" (default) for what a request may send: defaults make fields optional, coercion widens. */
  io?: "input" | "output";
  /** Schemas written once under components/schemas, by name: each use becomes a $ref. */
  refs?: ReadonlyMap<z.core.$ZodType, string>;
}

/**
 * JSON Schema for a zod schema. Refinements and transforms have no JSON Schema equivalent; they
 * are left out (the schema says what the shape is, the route still checks everything).
 */
export function jsonSchema(schema: z.core.$ZodType, options: SchemaOptions = {}): JsonSchema {
  const refs = options.refs;
  const out = z.toJSONSchema(schema, {
    io: options.io ?? "input",
    unrepresentable: "any",
    // Shared parts are written in place; only the schemas named in `refs` become $refs.
    reused: "inline",
    override: refs
      ? (ctx) => {
          const zodSchema = ctx.zodSchema as z.core.$ZodType;
          const name = refs.get(zodSchema);
          if (name === undefined || zodSchema === schema) return;
          for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonSchema)[key];
          (ctx.jsonSchema as JsonSchema).$ref = `#/components/schemas/${name}`;
        }
      : undefined,
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** A schema with a description for the document (zod/mini's form of classic zod's .describe()). */
export const described = <T extends z.core.$ZodType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

/** Parameters from a zod object: each property one parameter; path parameters are always required. */
export function parameters(where: "path" | "query" | "header", shape: z.core.$ZodObject, descriptions: Record<string, string> = {}): Parameter[] {
  const schema = jsonSchema(shape);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(descriptions[name] ? { description: descriptions[name] } : {}),
    schema: property,
  }));
}

/** The same schema under several media types (Kii accepts its vnd type and plain JSON alike). */
export const content = (types: readonly string[], schema: JsonSchema): Record<string, MediaType> =>
  Object.fromEntries(types.map((type) => [type, { schema }]));

/** Several responses that share a status become one, whose content lists every media type. */
export function mergeResponses(...groups: Record<string, Response>[]): Record<string, Response> {
  const out: Record<string, Response> = {};
  for (const group of groups) {
    for (const [status, response] of Object.entries(group)) {
      const existing = out[status];
      if (!existing) {
        out[status] = { ...response, ...(response.content ? { content: { ...response.content } } : {}) };
        continue;
      }
      if (!existing.description.includes(response.description)) existing.description += `; ${response.description}`;
      for (const [type, media] of Object.entries(response.content ?? {})) {
        existing.content ??= {};
        const before = existing.content[type];
        // One media type, two shapes (e.g. an OAuth error and another JSON error): either may come.
        existing.content[type] =
          before && JSON.stringify(before.schema) !== JSON.stringify(media.schema)
            ? { schema: { oneOf: [...((before.schema.oneOf as JsonSchema[] | undefined) ?? [before.schema]), media.schema] } }
            : media;
      }
      if (response.headers) existing.headers = { ...existing.headers, ...response.headers };
    }
  }
  return out;
}
