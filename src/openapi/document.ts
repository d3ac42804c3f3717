// The OpenAPI 3.1 document for the REST routes: each face describes its own routes next to the
// schemas it validates with (faces/*/openapi.ts); this file only puts them together. It is built
// at build time (./generate.ts, scripts/gen-openapi.mjs) and served as a static file.
import { adminApiDoc } from "../faces/admin/openapi";
import { kiiApiDoc } from "../faces/kii/openapi";
import { zitadelApiDoc } from "../faces/zitadel/openapi";
import type { FaceDoc, OpenApiDocument } from "../lib/openapi";

export type { OpenApiDocument };

/** Kept equal to package.json's version by test/web/openapi.test.ts. */
export const API_VERSION = "0.1.0";

const DESCRIPTION = `Latchkey manages passwords for applications: registration, sign-in, password changes and resets by email link, SMS link or SMS PIN, address verification and user lifecycle. It speaks two dialects over one core, so existing clients work unchanged:

- the Kii Cloud REST dialect under /api (kii-cloud-sdk, Kii's mobile SDKs);
- ZITADEL v2's UserService and SessionService under /v2 (REST), and over Connect and gRPC-web at /zitadel.user.v2.UserService/{Method} and /zitadel.session.v2.SessionService/{Method} (@zitadel/client; those are described by ZITADEL's protos, not here);

and an operator API under /admin. A user created through one dialect is usable through the other.`;

export function buildDocument(faces: FaceDoc[] = [kiiApiDoc(), ...zitadelApiDoc(), adminApiDoc()]): OpenApiDocument {
  const doc: OpenApiDocument = {
    openapi: "3.1.0",
    info: { title: "Latchkey", version: API_VERSION, description: DESCRIPTION },
    tags: [],
    paths: {},
    components: { schemas: {}, securitySchemes: {} },
  };
  for (const face of faces) {
    doc.tags.push(face.tag);
    Object.assign(doc.components.schemas, face.schemas);
    Object.assign(doc.components.securitySchemes, face.securitySchemes);
    for (const route of face.routes) {
      const item = (doc.paths[route.path] ??= {});
      if (item[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is described twice`);
      item[route.method] = route.operation;
    }
  }
  return doc;
}
