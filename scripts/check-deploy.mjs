// `npm run check:deploy` (part of `npm test`): the production configuration that `npm run deploy`
// publishes is the one the README's steps set up. It reads wrangler.toml the way wrangler does,
// checks the Worker's name, variables and bindings, checks that package.json and the README aim
// every Cloudflare command at the same environment, then builds the bundle with
// `wrangler deploy --dry-run --env production` (nothing is uploaded) and prints its size.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { unstable_readConfig } from "wrangler";
import { root } from "./dev-server.mjs";

const ENV = "production";
const WORKER_NAME = "latchkey";
/**
 * Every binding src/config/env.ts declares that wrangler.toml must provide. D1 also needs the
 * user-data shards USERS_0 … USERS_n (at least USERS_0, no gaps), checked apart; both sides must
 * declare the same ones (wrangler warns otherwise, as bindings are not inherited).
 */
const BINDINGS = {
  d1: ["DB"],
  kv: ["CODES"],
  durableObjects: ["LIMITER", "OUTBOX"],
  queueProducers: ["DEAD_LETTERS", "DELIVERY"],
};
const QUEUES = ["latchkey-delivery", "latchkey-delivery-dlq"];
/** Workers Free plan's limit on a Worker's compressed size. */
const MAX_GZIP_BYTES = 3 * 1024 * 1024;

const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
};
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

const SHARD = /^USERS_(\d+)$/;
const shardNames = {};

/** The shard bindings of a configuration, in order, and what is wrong with them. */
function shardsOf(config, where) {
  const shards = config.d1_databases.filter((d) => SHARD.test(d.binding));
  const names = shards.map((d) => d.binding).sort((a, b) => Number(SHARD.exec(a)[1]) - Number(SHARD.exec(b)[1]));
  check(names.length > 0, `${where} declares no user-data shard: add a [[d1_databases]] block with binding = "USERS_0" (docs/upgrading.md)`);
  names.forEach((name, i) => check(name === `USERS_${i}`, `${where} numbers its shards ${JSON.stringify(names)}: they must be USERS_0 … USERS_n without gaps`));
  for (const d of shards) {
    check(Boolean(d.database_id), `${where} binds ${d.binding} without a database_id`);
    check(d.migrations_dir === "migrations", `${where} binds ${d.binding} with migrations_dir ${JSON.stringify(d.migrations_dir)}: every database takes migrations/ (npm run migrate)`);
  }
  return names;
}

function bindingsOf(config) {
  return {
    d1: config.d1_databases.map((d) => d.binding).filter((b) => !SHARD.test(b)),
    kv: config.kv_namespaces.map((k) => k.binding),
    durableObjects: config.durable_objects.bindings.map((b) => b.name),
    queueProducers: config.queues.producers?.map((p) => p.binding) ?? [],
  };
}

const configPath = join(root, "wrangler.toml");
const production = unstable_readConfig({ config: configPath, env: ENV }, {});
const local = unstable_readConfig({ config: configPath }, {});

check(production.name === WORKER_NAME, `[env.${ENV}] deploys a Worker named ${JSON.stringify(production.name)}, not ${JSON.stringify(WORKER_NAME)}`);
check(production.vars.ENVIRONMENT === "production", `[env.${ENV}.vars] ENVIRONMENT is ${JSON.stringify(production.vars.ENVIRONMENT)}, not "production"`);
// Invocation logs record request URLs, and hosted reset links carry their code in the path.
check(production.observability?.logs?.invocation_logs === false, `[observability.logs] invocation_logs must be false: request URLs hold live reset codes`);
for (const name of ["ADMIN_TOKEN", "PASSWORD_PEPPER", "QUEUE_KEY", "DELIVERY_EMAIL", "DELIVERY_SMS"]) {
  check(!(name in production.vars), `[env.${ENV}.vars] sets ${name}: it is a secret (wrangler secret put ${name} --env ${ENV})`);
}
for (const [config, where] of [
  [production, `[env.${ENV}]`],
  [local, "the top level"],
]) {
  const found = bindingsOf(config);
  shardNames[where] = shardsOf(config, where);
  for (const [kind, names] of Object.entries(BINDINGS)) {
    check(same(found[kind], names), `${where} declares ${kind} bindings ${JSON.stringify(found[kind])}, expected ${JSON.stringify(names)}`);
  }
  const consumers = config.queues.consumers?.map((c) => c.queue) ?? [];
  check(same(consumers, QUEUES), `${where} consumes ${JSON.stringify(consumers)}, expected ${JSON.stringify(QUEUES)}`);
  check(config.migrations.some((m) => same(m.new_sqlite_classes ?? [], ["RateLimiter", "DevOutbox"])), `${where} has no Durable Object migration for RateLimiter and DevOutbox`);
}

// /openapi.json and /docs are static files (public/, written by `npm run gen:openapi`), served by
// Workers Static Assets in both configurations.
for (const [config, where] of [
  [production, `[env.${ENV}]`],
  [local, "the top level"],
]) {
  const directory = config.assets?.directory;
  check(directory !== undefined && resolve(root, directory) === join(root, "public"), `${where} serves assets from ${JSON.stringify(directory)}, not ./public (/openapi.json and /docs live there)`);
  // Any other path must reach the Worker, and docs.html must be answered at /docs.
  check(config.assets?.not_found_handling === "none", `${where} [assets] not_found_handling must be "none": other paths belong to the Worker`);
  const first = config.assets?.run_worker_first;
  check(Array.isArray(first) && first[0] === "/*" && first.includes("!/openapi.json"), `${where} [assets] run_worker_first must send every path but the API description to the Worker first (["/*", "!/openapi.json", …])`);
  check(config.assets?.html_handling === "auto-trailing-slash", `${where} [assets] html_handling must be "auto-trailing-slash": docs.html is answered at /docs`);
}

check(same(shardNames[`[env.${ENV}]`] ?? [], shardNames["the top level"] ?? []), `[env.${ENV}] and the top level declare different shards: ${JSON.stringify(shardNames)}`);

// package.json and the README must aim at the environment that holds the production bindings.
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
check(pkg.scripts.deploy === `wrangler deploy --env ${ENV}`, `package.json's deploy script is ${JSON.stringify(pkg.scripts.deploy)}`);
const readme = readFileSync(join(root, "README.md"), "utf8");
const cloudflareCommands = readme
  .split("\n")
  .filter((line) => /wrangler (secret put|d1 migrations apply \S+ --remote|deploy)\b/.test(line) && !line.trim().startsWith("#"));
check(cloudflareCommands.length > 0, "README.md shows no wrangler secret put / d1 migrations apply --remote command");
for (const line of cloudflareCommands) check(line.includes(`--env ${ENV}`), `README.md runs a Cloudflare command without --env ${ENV}: ${line.trim()}`);
// Migrations go to every database: the README's deploy steps use the one command that does so.
check(pkg.scripts.migrate === "node scripts/migrate.mjs", `package.json's migrate script is ${JSON.stringify(pkg.scripts.migrate)}`);
check(/npm run migrate -- --remote/.test(readme), "README.md does not apply migrations with `npm run migrate -- --remote` (every database: DB and each USERS_n)");
const productionShards = production.d1_databases.filter((d) => SHARD.test(d.binding)).map((d) => d.binding);

// The bundle builds and wrangler reports the bindings it would upload.
const outdir = mkdtempSync(join(tmpdir(), "latchkey-deploy-"));
try {
  const bin = join(root, "node_modules", ".bin");
  const result = spawnSync(join(bin, "wrangler"), ["deploy", "--dry-run", "--env", ENV, "--outdir", outdir], {
    cwd: root,
    encoding: "utf8",
    // node_modules/.bin first: it holds the Node that wrangler needs (package.json devDependency "node").
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" },
  });
  const output = `${result.stdout}\n${result.stderr}`;
  check(result.status === 0, `wrangler deploy --dry-run failed (${result.status}):\n${output}`);
  check(!/WARNING/.test(output), `wrangler deploy --dry-run warned:\n${output}`);
  for (const name of [...Object.values(BINDINGS).flat(), ...productionShards]) check(new RegExp(`env\\.${name}\\b`).test(output), `the dry run does not bind env.${name}`);
  check(/env\.ENVIRONMENT \("production"\)/.test(output), `the dry run does not set ENVIRONMENT to "production"`);
  const files = readdirSync(outdir).filter((f) => f.endsWith(".js"));
  check(files.length > 0, "the dry run wrote no bundle");
  const bytes = files.reduce((n, f) => n + readFileSync(join(outdir, f)).length, 0);
  const gzip = files.reduce((n, f) => n + gzipSync(readFileSync(join(outdir, f))).length, 0);
  check(gzip < MAX_GZIP_BYTES, `the bundle is ${gzip} bytes gzip, over the Free plan's 3 MiB`);
  if (files.length > 0) console.log(`Worker ${production.name} (--env ${ENV}): ${(bytes / 1024).toFixed(0)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzip`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`Deploy configuration: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("Deploy configuration: name, variables, bindings and README steps agree.");
