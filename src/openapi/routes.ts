// GET /openapi.json and GET /docs. Both are built once per isolate and answered from memory; they
// hold nothing secret (no app, no setting value), so they are public and cacheable.
import { Hono } from "hono";
import type { AppEnv } from "../http";
import { apiDocument } from "./document";
import { DOCS_CSP, docsHtml } from "../web/api-docs";

const CACHE = "public, max-age=300";

export const apiDocs = new Hono<AppEnv>();

apiDocs.get("/openapi.json", (c) => {
  c.header("Cache-Control", CACHE);
  return c.body(apiDocument().json, 200, { "Content-Type": "application/json; charset=utf-8" });
});

apiDocs.get("/docs", (c) => {
  c.header("Content-Security-Policy", DOCS_CSP);
  c.header("Cache-Control", CACHE);
  return c.html(docsHtml(apiDocument().doc));
});
