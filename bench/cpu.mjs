// `npm run bench:cpu`: CPU that Latchkey spends per request before any I/O, timed in this
// Node's V8 (workerd runs the same engine) on Latchkey's own modules, bundled from src/ with
// esbuild (wrangler's bundler). Each figure is also shown as a ratio to JSON.parse of the same
// data in the same run, since absolute microseconds move with the machine's load.
//   - appSettingsSchema.parse: every request that reads an app (storage/apps.ts get) parses its
//     settings with zod; a per-isolate cache would skip it while the app is unchanged.
//   - storage: building the SQL of the app and user look-ups (src/storage/db.ts `sql`; drizzle
//     took 100–400 µs here before it was removed) and mapping a user row to its TypeScript shape.
// Scale with BENCH_CPU_ITERATIONS (3000) and BENCH_REPEATS (3).
import { build } from "esbuild";
import { join } from "node:path";
import { root } from "../scripts/dev-server.mjs";
import { envNumber, median, spread, table } from "./lib.mjs";

const ITERATIONS = envNumber("BENCH_CPU_ITERATIONS", 3000);
const REPEATS = envNumber("BENCH_REPEATS", 3);

const entry = `
export { appSettingsSchema, defaultSettings } from "./src/config/settings";
export { apps, users } from "./src/storage/schema";
export { sql } from "./src/storage/db";
`;
const out = await build({
  stdin: { contents: entry, resolveDir: root, loader: "ts" },
  bundle: true,
  write: false,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  logLevel: "error",
});
const mod = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`);
const { appSettingsSchema, defaultSettings, apps, users, sql } = mod;
const settings = defaultSettings();
const settingsJson = JSON.stringify(settings);
// A users row as D1 returns it (booleans as 0/1), for the row mapping.
const userRow = Object.fromEntries(Object.keys(users.columns).map((k) => [k, k.endsWith("Verified") || k === "disabled" || k === "changeRequired" ? 1 : `${k} value`]));

function time(f) {
  for (let i = 0; i < Math.min(500, ITERATIONS); i++) f(i);
  const t0 = performance.now();
  for (let i = 0; i < ITERATIONS; i++) f(i);
  return ((performance.now() - t0) / ITERATIONS) * 1000; // µs per call
}

const jobs = {
  "JSON.parse of an app's settings (baseline)": () => JSON.parse(settingsJson),
  "appSettingsSchema.parse (per app read)": () => appSettingsSchema.parse(JSON.parse(settingsJson)),
  "storage: build the app look-up": (i) => sql`SELECT ${apps.all} FROM apps WHERE id = ${`app${i}`}`,
  "storage: build the user look-up": (i) => sql`SELECT ${users.all} FROM users WHERE app_id = ${"app"} AND id = ${`u${i}`}`,
  "storage: map a user row": (i) => users.row({ ...userRow, internalId: i }),
};
const results = {};
for (let rep = 0; rep < REPEATS; rep++) {
  const names = Object.keys(jobs);
  for (const name of rep % 2 ? names.reverse() : names) (results[name] ??= []).push(time(jobs[name]));
}
const base = results["JSON.parse of an app's settings (baseline)"];
console.log(`\nCPU before I/O, in Node ${process.versions.node} (V8); ${ITERATIONS} calls × ${REPEATS} repeats; settings JSON ${settingsJson.length} bytes`);
console.log(
  table(
    ["work", "µs per call (min / median / max)", "÷ JSON.parse baseline (median)"],
    Object.entries(results).map(([name, us]) => [name, spread(us, 1), (median(us) / median(base)).toFixed(1)]),
  ),
);
