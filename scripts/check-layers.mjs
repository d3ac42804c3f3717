// Fails when an import under src/ runs against the floors in docs/architecture.md: each part may
// import itself and the parts listed for it, nothing else. Run by `npm test`; `--list` prints every
// cross-part import, which is how the architecture document's table was checked.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

// Floors, lowest first: lib < i18n < config < storage < delivery < core < (faces, web,
// middleware, http.ts) < openapi < the Worker's entry (app.ts, index.ts).
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
  // The API's description, put together from what each face says of its routes.
  openapi: ["lib", "i18n", "config", "core", "http", "faces", "web"],
  entry: ["lib", "i18n", "config", "storage", "delivery", "core", "http", "faces", "web", "middleware", "openapi"],
};

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

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

const problems = [];
const crossings = [];
for (const file of walk(src)) {
  const text = readFileSync(file, "utf8");
  const rel = relative(src, file).split("\\").join("/");
  const from = partOf(file);
  if (!(from in ALLOWED)) {
    problems.push(`${rel}: src/${from}/ is not a known floor; add it to scripts/check-layers.mjs and docs/architecture.md`);
    continue;
  }
  const specs = [...text.matchAll(IMPORT)].map((m) => ({ spec: m[3], typeOnly: Boolean(m[2]) }));
  for (const m of text.matchAll(DYNAMIC)) specs.push({ spec: m[1], typeOnly: false });
  for (const { spec, typeOnly } of specs) {
    if (!spec.startsWith(".")) continue;
    const target = resolveImport(file, spec);
    const to = partOf(target);
    if (to === from) continue;
    crossings.push(`${rel} -> ${relative(src, target)}`);
    if (ALLOWED[from].includes(to)) continue;
    if (typeOnly && TYPE_ONLY_EXEMPT.has(rel)) continue;
    problems.push(`${rel} imports ${relative(src, target)} (${from} may import ${ALLOWED[from].join(", ") || "nothing of ours"})`);
  }
}

if (process.argv.includes("--list")) console.log(crossings.sort().join("\n"));
if (problems.length) {
  console.error(`Imports against the floors (docs/architecture.md):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`layers: ${crossings.length} cross-floor imports, all downward`);
