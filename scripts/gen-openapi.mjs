// Writes the API description the Worker serves as static files (Workers Static Assets,
// wrangler.toml [assets] directory = "./public"):
//   public/openapi.json   GET /openapi.json, the OpenAPI 3.1 document of the REST routes
//   public/docs.html      GET /docs, the same document as a page for people
//   public/_headers       their Cache-Control, the page's Content-Security-Policy and the
//                         security headers the Worker sets on everything else
// from the same TypeScript sources the routes validate with (src/openapi/generate.ts, which
// puts faces/*/openapi.ts together). That entry is bundled for Node with esbuild (wrangler's own
// copy) and run here, so none of it ships in the Worker. test/web/openapi.test.ts fails when
// the committed files differ from what it writes.
//
//   npm run gen:openapi              regenerate (node scripts/gen-openapi.mjs)
//   node scripts/gen-openapi.mjs --check   exit 1 when a file is out of date
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const publicDir = join(root, "public");

// The storage floor's Durable Object classes extend cloudflare:workers' DurableObject; the
// document never constructs one, so a stand-in class lets the modules load in Node.
const workersStub = {
  name: "cloudflare-workers-stub",
  setup(b) {
    b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: "cloudflare:workers", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export class DurableObject {}\nexport class WorkerEntrypoint {}\n", loader: "js" }));
  },
};

const dir = mkdtempSync(join(tmpdir(), "latchkey-openapi-"));
let files;
try {
  const outfile = join(dir, "generate.mjs");
  await build({
    entryPoints: [join(root, "src/openapi/generate.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    tsconfig: join(root, "tsconfig.json"),
    plugins: [workersStub],
    logLevel: "warning",
  });
  const { generateApiFiles } = await import(pathToFileURL(outfile).href);
  files = generateApiFiles();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const read = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};
const stale = Object.entries(files).filter(([name, text]) => read(join(publicDir, name)) !== text);
if (process.argv.includes("--check")) {
  if (stale.length) {
    console.error(`public/${stale.map(([name]) => name).join(", public/")} out of date with src/: run npm run gen:openapi`);
    process.exit(1);
  }
  console.log("public/ (openapi.json, docs.html, _headers) is up to date");
} else {
  mkdirSync(publicDir, { recursive: true });
  for (const [name, text] of stale) {
    writeFileSync(join(publicDir, name), text);
    console.log(`wrote public/${name} (${text.length} characters)`);
  }
  if (!stale.length) console.log("public/ (openapi.json, docs.html, _headers) is up to date");
}
