// `npm run bench:shards` (also the last part of `npm run bench`): sign-in and request-reset
// throughput with the users in 1 and in 3 user-data shards, under the same load.
//
// Two `wrangler dev` servers run side by side, built from the repository's wrangler.toml (its top
// level) with USERS_0 only, and with USERS_0, USERS_1, USERS_2. Each gets the same apps (placement
// spreads them over its shards) with the same users, and the same load: sign-ins and reset
// requests spread over the apps, at one concurrency. The servers are measured one after the
// other, in alternating order over the repeats, and each repeat gives one ratio (3 shards ÷ 1).
// Prints min / median / max over the repeats; asserts nothing.
//
// On one machine the shards are SQLite files behind Miniflare, not D1 primaries in separate
// locations; what the ratio shows is that spreading apps over shards costs nothing per request
// (docs/scaling.md holds the production arithmetic). Sign-in is bound by scrypt on this CPU.
//
// Scale with: BENCH_REPEATS (3), BENCH_SHARD_APPS (6), BENCH_SHARD_CONCURRENCY (16),
// BENCH_SHARD_SIGNINS (32 per phase), BENCH_SHARD_RESETS (96 per phase).
import { randomBytes, scryptSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEV_ADMIN_TOKEN, root, startDevServer } from "../scripts/dev-server.mjs";
import { inBatches, json, LATCHKEY_SCRYPT, PASSWORD } from "./latchkey-fixture.mjs";
import { envNumber, freePort, load, rotate, spread, table } from "./lib.mjs";

const REPEATS = Math.max(3, envNumber("BENCH_REPEATS", 3));
const APPS = envNumber("BENCH_SHARD_APPS", 6);
const CONCURRENCY = envNumber("BENCH_SHARD_CONCURRENCY", 16);
const SIGNINS = envNumber("BENCH_SHARD_SIGNINS", 32);
const RESETS = envNumber("BENCH_SHARD_RESETS", 96);
const RESET_POOL = 8;
const SHARD_COUNTS = [1, 3];

/** The repository's local configuration with `n` shards: paths (main, migrations, assets) made relative to .tmp/, where it is written. */
function configWithShards(n) {
  const text = readFileSync(join(root, "wrangler.toml"), "utf8");
  const local = text.slice(0, text.search(/^\[env\.production\]$/m));
  const withoutShards = local.replace(/\[\[d1_databases\]\]\s*\nbinding = "USERS_\d+"[^[]*/g, "");
  const shards = Array.from(
    { length: n },
    (_, i) => `[[d1_databases]]\nbinding = "USERS_${i}"\ndatabase_name = "bench-users-${i}"\ndatabase_id = "00000000-0000-4000-8000-0000000001${String(i).padStart(2, "0")}"\nmigrations_dir = "migrations"\n\n`,
  ).join("");
  const config = (withoutShards + shards).replace(/^main = "src\/index.ts"/m, 'main = "../src/index.ts"').replace(/migrations_dir = "migrations"/g, 'migrations_dir = "../migrations"').replace(/^directory = "\.\/public"/m, 'directory = "../public"');
  const dir = join(root, ".tmp");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-shards-${n}.toml`);
  writeFileSync(path, config);
  return path;
}

const roomy = { verification: { email: "trusted", phone: "trusted" }, rateLimits: { resetPerAddress: { limit: 10_000, windowSeconds: 60 }, resetPerIp: { limit: 10_000, windowSeconds: 60 }, signInPerIp: { limit: 10_000, windowSeconds: 60 } } };

async function setUp(url) {
  const salt = randomBytes(16);
  const b64 = (b) => b.toString("base64").replace(/=+$/, "");
  const phc = `$scrypt$ln=14,r=8,p=5$${b64(salt)}$${b64(scryptSync(PASSWORD.normalize("NFKC"), salt, 32, LATCHKEY_SCRYPT))}`;
  const apps = [];
  for (let a = 0; a < APPS; a++) {
    const res = await fetch(`${url}/admin/apps`, json({ settings: roomy }, { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` }));
    if (res.status !== 201) throw new Error(`creating an app: ${res.status} ${await res.text()}`);
    const app = await res.json();
    const kii = { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey };
    const tokenRes = await fetch(`${url}/api/apps/${app.appId}/oauth2/token`, json({ client_id: app.clientId, client_secret: app.clientSecret }, kii));
    const admin = { Authorization: `Bearer ${(await tokenRes.json()).access_token}` };
    // Imported with a hash made here (as latchkey-fixture.mjs does): no scrypt per user in setup.
    await inBatches(1 + RESET_POOL, 3, async (i) => {
      const username = i === 0 ? "bench-user" : `reset-user-${i - 1}`;
      const body = { username, profile: { givenName: "Bench", familyName: username }, email: { email: `${username}@example.com`, isVerified: true }, hashedPassword: { hash: phc } };
      const r = await fetch(`${url}/v2/users/human`, json(body, admin));
      if (!r.ok) throw new Error(`import: ${r.status} ${await r.text()}`);
    });
    apps.push({ ...app, kii, shard: app.routing.shard });
  }
  return apps;
}

const started = Date.now();
const persistTo = mkdtempSync(join(tmpdir(), "latchkey-bench-shards-"));
const servers = {};
try {
  for (const n of SHARD_COUNTS) {
    const config = configWithShards(n);
    const server = await startDevServer({ port: await freePort(), persistTo: join(persistTo, `shards-${n}`), config });
    servers[n] = { server, apps: [] };
    servers[n].apps = await setUp(server.url);
    const spreadOver = new Set(servers[n].apps.map((a) => a.shard)).size;
    console.log(`${n} shard(s): ${APPS} apps on ${spreadOver} shard(s), set up at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const routes = {
    "sign-in": {
      requests: SIGNINS,
      send: (s, i) => {
        const app = s.apps[i % s.apps.length];
        return fetch(`${s.server.url}/api/oauth2/token`, json({ username: "bench-user", password: PASSWORD }, app.kii));
      },
    },
    "request-reset": {
      requests: RESETS,
      send: (s, i) => {
        const app = s.apps[i % s.apps.length];
        const user = Math.floor(i / s.apps.length) % RESET_POOL;
        return fetch(`${s.server.url}/api/apps/${app.appId}/users/EMAIL:reset-user-${user}@example.com/password/request-reset`, { method: "POST", headers: app.kii });
      },
    },
  };
  const results = {}; // results[route][shards] = [{rps, p50, p99}, ...] one per repeat
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const n of rotate(SHARD_COUNTS, rep)) {
      for (const name of rotate(Object.keys(routes), rep)) {
        const route = routes[name];
        const r = await load(`${name} (${n} shards)`, (i) => route.send(servers[n], i), { concurrency: CONCURRENCY, requests: route.requests });
        ((results[name] ??= {})[n] ??= []).push(r);
      }
    }
    console.log(`repeat ${rep + 1}/${REPEATS} done at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const pick = (name, n, key) => results[name][n].map((r) => r[key]);
  console.log(`\nShards: the same load with the users in 1 and in 3 shards (${APPS} apps, concurrency ${CONCURRENCY}); ${REPEATS} interleaved repeats; min / median / max`);
  const rows = [];
  for (const name of Object.keys(routes)) for (const n of SHARD_COUNTS) rows.push([name, n, spread(pick(name, n, "rps"), 0), spread(pick(name, n, "p50"), 1), spread(pick(name, n, "p99"), 1)]);
  console.log(table(["route", "shards", "req/s", "p50 ms", "p99 ms"], rows));
  const ratio = (name) => spread(pick(name, 3, "rps").map((rps, i) => rps / pick(name, 1, "rps")[i]));
  console.log(
    table(
      ["figure", "min / median / max"],
      [
        ["sign-in req/s, 3 shards ÷ 1 shard", ratio("sign-in")],
        ["request-reset req/s, 3 shards ÷ 1 shard", ratio("request-reset")],
      ],
    ),
  );
  console.log(`\nshards bench: ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  for (const { server } of Object.values(servers)) await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
  for (const n of SHARD_COUNTS) rmSync(join(root, ".tmp", `bench-shards-${n}.toml`), { force: true });
}
