/** @jsxImportSource hono/jsx */
// GET /docs: the OpenAPI document as a page a person reads, rendered at build time from the same
// document as /openapi.json (src/openapi/generate.ts writes both to public/). No script, no font, no
// image, nothing from elsewhere: one inline style allowed by its hash (`default-src 'none'`, sent
// by public/_headers). hono/jsx escapes every value.
import type { Child } from "hono/jsx";
import type { JsonSchema, OpenApiDocument, Operation, Parameter, Response } from "../lib/openapi";
import { sha256Base64 } from "../lib/digest";

const STYLE = `*{box-sizing:border-box}
html{color-scheme:light dark}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f7f9;color:#1b1f24;overflow-wrap:anywhere}
header,main,nav{max-width:58rem;margin:0 auto;padding:0 1rem}
header{padding-top:1.5rem}
h1{font-size:1.7rem;margin:0 0 .5rem}h2{font-size:1.35rem;margin:2.5rem 0 .5rem;border-bottom:2px solid #d0d5dc;padding-bottom:.25rem}
h3{font-size:1.05rem;margin:0 0 .25rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}
h4{font-size:.95rem;margin:1rem 0 .25rem;text-transform:uppercase;letter-spacing:.04em;color:#4a5360}
p{margin:.4rem 0}
code{font:.9em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;word-break:break-word}
a{color:#1a5fd0}
.op{background:#fff;border:1px solid #d8dce2;border-radius:10px;padding:1rem;margin:1rem 0;box-shadow:0 1px 2px rgba(0,0,0,.05)}
.m{display:inline-block;min-width:4.2rem;text-align:center;font:700 .8rem/1.6 ui-monospace,monospace;border-radius:4px;padding:0 .4rem;color:#fff;background:#4a5360}
.get{background:#1f7a3d}.post{background:#1a5fd0}.put{background:#8a5a00}.patch{background:#6b3fb5}.delete{background:#b00020}
.path{font-weight:600}.dep{color:#b00020;font-weight:600}
ul{margin:.25rem 0;padding-left:1.25rem}
.toc ul{list-style:none;padding-left:0}.toc li{margin:.2rem 0}
.fields{list-style:none;padding-left:0;margin:.25rem 0}
.fields .fields{padding-left:.9rem;border-left:2px solid #e3e6ea;margin-left:.2rem}
.fields li{margin:.3rem 0}
.t{color:#4a5360}.req{color:#b00020;font-size:.85em;font-weight:600}.note{color:#4a5360;font-size:.92em}
details{margin:.3rem 0}summary{cursor:pointer}
.status{font-weight:700}
footer{max-width:58rem;margin:2rem auto;padding:0 1rem 2rem;color:#4a5360}
@media (prefers-color-scheme:dark){body{background:#111418;color:#e8eaed}.op{background:#1c2026;border-color:#30363d;box-shadow:none}
a{color:#8ab4f8}h2{border-color:#30363d}h4,.t,.note,footer{color:#b4bac3}.fields .fields{border-color:#30363d}.req,.dep{color:#ff8a80}}`;

export const DOCS_CSP = `default-src 'none'; style-src 'sha256-${sha256Base64(STYLE)}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const refName = (ref: string) => ref.replace("#/components/schemas/", "");
const schemaAnchor = (name: string) => `schema-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
const MAX_DEPTH = 5;

/** Alternatives that are bare types (string or null) read as one type: string | null. */
const simpleAlternatives = (s: JsonSchema): JsonSchema[] | null => {
  const alternatives = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  return alternatives && alternatives.every((a) => typeof a.type === "string" && a.type !== "object" && a.type !== "array" && Object.keys(a).length <= 2) ? alternatives : null;
};

function typeOf(s: JsonSchema): string {
  if (typeof s.$ref === "string") return refName(s.$ref);
  const simple = simpleAlternatives(s);
  if (simple) return simple.map(typeOf).join(" | ");
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.type === "array") return `array of ${s.items ? typeOf(s.items as JsonSchema) : "anything"}`;
  if (Array.isArray(s.type)) return s.type.join(" | ");
  if (typeof s.type === "string") return typeof s.format === "string" ? `${s.type} (${s.format})` : s.type;
  if (s.anyOf || s.oneOf) return "one of";
  if (s.allOf) return "all of";
  return "any";
}

/** Length, range, pattern, default and examples, in a few words. */
function constraints(s: JsonSchema): string[] {
  const out: string[] = [];
  const range = (min: unknown, max: unknown, unit: string) => {
    if (min !== undefined && max !== undefined) out.push(`${min}–${max}${unit}`);
    else if (min !== undefined) out.push(`at least ${min}${unit}`);
    else if (max !== undefined) out.push(`at most ${max}${unit}`);
  };
  range(s.minLength, s.maxLength, " characters");
  range(s.minimum, s.maximum !== undefined && (s.maximum as number) < Number.MAX_SAFE_INTEGER ? s.maximum : undefined, "");
  range(s.minItems, s.maxItems, " items");
  if (typeof s.pattern === "string") out.push(`pattern ${s.pattern}`);
  if (s.default !== undefined && !(typeof s.default === "object" && s.default !== null && Object.keys(s.default).length === 0)) out.push(`default ${JSON.stringify(s.default)}`);
  if (Array.isArray(s.examples)) out.push(`e.g. ${s.examples.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join(", ")}`);
  if (s.deprecated) out.push("deprecated");
  return out;
}

function Type({ schema }: { schema: JsonSchema }) {
  if (typeof schema.$ref === "string") {
    const name = refName(schema.$ref);
    return <a href={`#${schemaAnchor(name)}`}>{name.split(".").pop()}</a>;
  }
  if (schema.type === "array" && schema.items && typeof (schema.items as JsonSchema).$ref === "string") {
    return (
      <>
        array of <Type schema={schema.items as JsonSchema} />
      </>
    );
  }
  return <>{typeOf(schema)}</>;
}

/** A schema's fields as a nested list. Referenced schemas are links to the Schemas section. */
function Fields({ schema, depth = 0 }: { schema: JsonSchema; depth?: number }): Child {
  if (depth > MAX_DEPTH || typeof schema.$ref === "string") return null;
  const alternatives = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (alternatives && !simpleAlternatives(schema)) {
    return (
      <ul class="fields">
        {alternatives.map((alt, i) => (
          <li>
            <span class="note">{i === 0 ? "either" : "or"}</span> <span class="t"><Type schema={alt} /></span>
            {alt.description ? <div class="note">{String(alt.description)}</div> : null}
            <Fields schema={alt} depth={depth + 1} />
          </li>
        ))}
      </ul>
    );
  }
  if (Array.isArray(schema.allOf)) return <>{(schema.allOf as JsonSchema[]).map((part) => (part.$ref ? <p class="note">All of <Type schema={part} />, and:</p> : <Fields schema={part} depth={depth + 1} />))}</>;
  if (schema.type === "array" && schema.items) return <Fields schema={schema.items as JsonSchema} depth={depth + 1} />;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties || Object.keys(properties).length === 0) return null;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return (
    <ul class="fields">
      {Object.entries(properties).map(([name, prop]) => {
        const notes = constraints(prop);
        return (
          <li>
            <code>{name}</code> <span class="t"><Type schema={prop} /></span> {required.has(name) ? <span class="req">required</span> : null}
            {prop.description ? <div class="note">{String(prop.description)}</div> : null}
            {notes.length > 0 ? <div class="note">{notes.join(" · ")}</div> : null}
            <Fields schema={prop} depth={depth + 1} />
          </li>
        );
      })}
    </ul>
  );
}

function Body({ content, open }: { content: Record<string, { schema: JsonSchema }>; open: boolean }) {
  const entries = Object.entries(content);
  // Media types that share one schema are listed together.
  const groups = new Map<string, { types: string[]; schema: JsonSchema }>();
  for (const [type, media] of entries) {
    const key = JSON.stringify(media.schema);
    const group = groups.get(key);
    if (group) group.types.push(type);
    else groups.set(key, { types: [type], schema: media.schema });
  }
  return (
    <>
      {[...groups.values()].map((g) =>
        // A named schema is a link; only a schema written in place has fields to unfold.
        typeof g.schema.$ref === "string" ? (
          <div>
            <MediaTypes types={g.types} /> <span class="t"><Type schema={g.schema} /></span>
          </div>
        ) : (
        <details open={open}>
          <summary>
            <MediaTypes types={g.types} />{" "}
            <span class="t">
              <Type schema={g.schema} />
            </span>
          </summary>
          {g.schema.description ? <p class="note">{String(g.schema.description)}</p> : null}
          <Fields schema={g.schema} />
        </details>
        ),
      )}
    </>
  );
}

function MediaTypes({ types }: { types: string[] }) {
  return (
    <>
      {types.map((t, i) => (
        <>
          {i > 0 ? ", " : ""}
          <code>{t}</code>
        </>
      ))}
    </>
  );
}

function Security({ op, doc }: { op: Operation; doc: OpenApiDocument }) {
  const describe = (name: string) => {
    const scheme = doc.components.securitySchemes[name] ?? {};
    if (scheme.type === "apiKey") return `header ${String(scheme.name)}`;
    if (scheme.scheme === "basic") return "Authorization: Basic";
    return `Authorization: Bearer (${name})`;
  };
  return (
    <ul>
      {op.security.map((requirement) => (
        <li>{Object.keys(requirement).map(describe).join(" + ")}</li>
      ))}
    </ul>
  );
}

function Params({ params }: { params: Parameter[] }) {
  return (
    <ul class="fields">
      {params.map((p) => {
        const notes = constraints(p.schema);
        return (
          <li>
            <code>{p.name}</code> <span class="t">{p.in}, {typeOf(p.schema)}</span> {p.required ? <span class="req">required</span> : null}
            {p.description || p.schema.description ? <div class="note">{String(p.description ?? p.schema.description)}</div> : null}
            {notes.length > 0 ? <div class="note">{notes.join(" · ")}</div> : null}
          </li>
        );
      })}
    </ul>
  );
}

function Responses({ responses }: { responses: Record<string, Response> }) {
  return (
    <ul class="fields">
      {Object.entries(responses).map(([status, r]) => (
        <li>
          <span class="status">{status}</span> {r.description}
          {r.headers ? <div class="note">headers: {Object.keys(r.headers).join(", ")}</div> : null}
          {r.content ? <Body content={r.content} open={false} /> : null}
        </li>
      ))}
    </ul>
  );
}

function OperationView({ method, path, op, doc }: { method: string; path: string; op: Operation; doc: OpenApiDocument }) {
  return (
    <section class="op" id={op.operationId}>
      <h3>
        <span class={`m ${method}`}>{method.toUpperCase()}</span> <code class="path">{path}</code>
      </h3>
      <p>
        {op.summary}
        {op.deprecated ? <span class="dep"> (deprecated)</span> : null}
      </p>
      {op.description ? <p class="note">{op.description}</p> : null}
      <h4>Authentication</h4>
      <Security op={op} doc={doc} />
      {op.parameters && op.parameters.length > 0 ? (
        <>
          <h4>Parameters</h4>
          <Params params={op.parameters} />
        </>
      ) : null}
      {op.requestBody ? (
        <>
          <h4>Request body{op.requestBody.required ? "" : " (optional)"}</h4>
          {op.requestBody.description ? <p class="note">{op.requestBody.description}</p> : null}
          <Body content={op.requestBody.content} open={true} />
        </>
      ) : null}
      <h4>Responses</h4>
      <Responses responses={op.responses} />
    </section>
  );
}

function operationsByTag(doc: OpenApiDocument) {
  return doc.tags.map((tag) => ({
    tag,
    ops: Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags.includes(tag.name))
        .map(([method, op]) => ({ method, path, op })),
    ),
  }));
}

export function DocsPage({ doc }: { doc: OpenApiDocument }) {
  const groups = operationsByTag(doc);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{`${doc.info.title} API ${doc.info.version}`}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <h1>
            {doc.info.title} API <span class="t">{doc.info.version}</span>
          </h1>
          {doc.info.description.split("\n\n").map((para) =>
            para.startsWith("- ") || para.includes("\n- ") ? (
              <ul>
                {para
                  .split("\n")
                  .filter((line) => line.startsWith("- "))
                  .map((line) => (
                    <li>{line.slice(2)}</li>
                  ))}
              </ul>
            ) : (
              <p>{para}</p>
            ),
          )}
          <p>
            The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI {doc.openapi}).
          </p>
        </header>
        <nav class="toc" aria-label="Contents">
          {groups.map(({ tag, ops }) => (
            <details>
              <summary>
                <a href={`#tag-${tag.name.replace(/\W+/g, "-")}`}>{tag.name}</a> <span class="t">({ops.length})</span>
              </summary>
              <ul>
                {ops.map(({ method, path, op }) => (
                  <li>
                    <a href={`#${op.operationId}`}>
                      <span class={`m ${method}`}>{method.toUpperCase()}</span> <code>{path}</code>
                    </a>
                  </li>
                ))}
              </ul>
            </details>
          ))}
        </nav>
        <main>
          {groups.map(({ tag, ops }) => (
            <>
              <h2 id={`tag-${tag.name.replace(/\W+/g, "-")}`}>{tag.name}</h2>
              <p>{tag.description}</p>
              {ops.map(({ method, path, op }) => (
                <OperationView method={method} path={path} op={op} doc={doc} />
              ))}
            </>
          ))}
          <h2 id="schemas">Schemas</h2>
          {Object.entries(doc.components.schemas).map(([name, schema]) => (
            <section class="op" id={schemaAnchor(name)}>
              <h3>
                <code>{name}</code>
              </h3>
              {schema.description ? <p class="note">{String(schema.description)}</p> : null}
              <Fields schema={schema} />
            </section>
          ))}
        </main>
        <footer>Generated from the schemas the routes validate with; Connect and gRPC-web calls are described by ZITADEL's protos.</footer>
      </body>
    </html>
  );
}

/** The page's HTML. */
export function docsHtml(doc: OpenApiDocument): string {
  return "<!doctype html>\n" + (<DocsPage doc={doc} />).toString();
}
