// Fails when an import under src/ runs against the floors in docs/architecture.md: each part may
// import itself and the parts listed for it, nothing else; and when the Worker's entry
// (src/index.ts) reaches, through imports that are not type-only, a file that only the build-time
// generator of the API description may use (BUILD_TIME_ONLY). Run by `npm test`; `--list` prints
// every cross-part import, which is how the architecture document's table was checked.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

// Floors, lowest first: lib < i18n < config < storage < delivery < core < (faces, web,
// middleware, http.ts) < the Worker's entry (app.ts, index.ts). src/openapi/ sits beside the
// entry, above the faces: the build-time generator of /openapi.json and /docs
// (scripts/gen-openapi.mjs), which the entry may not import.
const ALLOWED = {
  lib: [],
  i18n: ["lib"],
  config: ["lib", "i18n"],
  storage: ["lib", "i18n", "config"],
  delivery: ["lib", "i18n", "config", "storage"],
  core: ["lib", "i18n", "config", "storage", "delivery"],
  http: ["lib", "i18n", "config", "core"],
  // Faces, pages and middleware reach the product through the core only: never storage or delivery.
  faces: ["lib", "i18n", "config", "core", "http"],
  web: ["lib", "i18n", "config", "core", "http"],
  middleware: ["lib", "i18n", "config", "core", "http"],
  // The API's description, put together from what each face says of its routes, at build time.
  openapi: ["lib", "i18n", "config", "core", "http", "faces", "web"],
  entry: ["lib", "i18n", "config", "storage", "delivery", "core", "http", "faces", "web", "middleware"],
};

// Only the API description's generator (src/openapi/generate.ts, run by scripts/gen-openapi.mjs
// and by test/web/openapi.test.ts) uses these; the Worker serves its output from public/.
const BUILD_TIME_ONLY = [/^openapi\//, /^faces\/[^/]+\/openapi\.ts$/, /^web\/api-docs\.tsx$/, /^lib\/openapi\.ts$/, /^lib\/proto-schema\.ts$/];
const ENTRY = "index.ts";

// config/env.ts declares the Worker's bindings, whose types live where the bindings are
// implemented (the queue's message, the Durable Object classes). Type-only imports there are
// erased at build time and create no dependency at run time.
const TYPE_ONLY_EXEMPT = new Set(["config/env.ts"]);

function partOf(file) {
  const rel = relative(src, file).split("\\").join("/");
  if (rel === "app.ts" || rel === "index.ts") return "entry";
  if (rel === "http.ts") return "http";
  return rel.split("/")[0];
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (/\.tsx?$/.test(name)) yield path;
  }
}

function resolveImport(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return `${base}.ts`;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:([^"';]*?)\s+from\s+)?["']([^"']+)["']/gm;
/** `{ type A, type B as C }`: every name imported is a type, so the build erases the import. */
const ALL_TYPES = /^\{\s*(?:type\s+[\w$]+(?:\s+as\s+[\w$]+)?\s*(?:,\s*)?)+\}$/;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

const problems = [];
const crossings = [];
/** Imports that remain at run time: file → files it imports (relative to src/). */
const runtimeImports = new Map();
for (const file of walk(src)) {
  const text = readFileSync(file, "utf8");
  const rel = relative(src, file).split("\\").join("/");
  const from = partOf(file);
  if (!(from in ALLOWED)) {
    problems.push(`${rel}: src/${from}/ is not a known floor; add it to scripts/check-layers.mjs and docs/architecture.md`);
    continue;
  }
  const specs = [...text.matchAll(IMPORT)].map((m) => ({ spec: m[4], typeOnly: Boolean(m[2]), erased: Boolean(m[2]) || ALL_TYPES.test((m[3] ?? "").trim()) }));
  for (const m of text.matchAll(DYNAMIC)) specs.push({ spec: m[1], typeOnly: false, erased: false });
  const runtime = [];
  runtimeImports.set(rel, runtime);
  for (const { spec, typeOnly, erased } of specs) {
    if (!spec.startsWith(".")) continue;
    const target = resolveImport(file, spec);
    if (!erased) runtime.push(relative(src, target).split("\\").join("/"));
    const to = partOf(target);
    if (to === from) continue;
    crossings.push(`${rel} -> ${relative(src, target)}`);
    if (ALLOWED[from].includes(to)) continue;
    if (typeOnly && TYPE_ONLY_EXEMPT.has(rel)) continue;
    problems.push(`${rel} imports ${relative(src, target)} (${from} may import ${ALLOWED[from].join(", ") || "nothing of ours"})`);
  }
}

// What the Worker's bundle can hold: every file src/index.ts reaches by imports that stay at run time.
const via = new Map([[ENTRY, null]]);
const queue = [ENTRY];
while (queue.length) {
  const at = queue.shift();
  for (const next of runtimeImports.get(at) ?? []) {
    if (via.has(next)) continue;
    via.set(next, at);
    queue.push(next);
  }
}
for (const rel of via.keys()) {
  if (!BUILD_TIME_ONLY.some((re) => re.test(rel))) continue;
  const chain = [];
  for (let at = rel; at !== null; at = via.get(at)) chain.unshift(at);
  problems.push(`${rel} is for the build-time API description only (npm run gen:openapi), but the Worker imports it: ${chain.join(" -> ")}`);
}

if (process.argv.includes("--list")) console.log(crossings.sort().join("\n"));
if (problems.length) {
  console.error(`Imports against the floors (docs/architecture.md):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`layers: ${crossings.length} cross-floor imports, all downward; src/index.ts reaches ${via.size} files, none of the API description's generator`);
