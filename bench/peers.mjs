// `npm run bench:peers`: Latchkey beside Better Auth (bench/peers/better-auth/, installed on
// demand into its own folder, not a dependency of Latchkey), both under `wrangler dev` on the
// same workerd with a local D1, measured in one run, interleaved, repeated. Prints
// Latchkey ÷ Better Auth for throughput (above 1: Latchkey serves more) and p50 (below 1:
// Latchkey answers sooner), min / median / max over the repeats. docs/benchmarks.md says what
// each side does per request.
//
// Scale with: BENCH_REPEATS (3), BENCH_CONCURRENCY (1,16), BENCH_REQUESTS (30: requests per
// phase of a non-hashing route; 2 per client above), BENCH_HASH_REQUESTS (8; 1 per client above).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, startDevServer } from "../scripts/dev-server.mjs";
import { json, PASSWORD, setUpLatchkey } from "./latchkey-fixture.mjs";
import { bundleReport, envList, envNumber, freePort, kib, load, printBundle, rotate, spread, startWrangler, table, wranglerEnv } from "./lib.mjs";

const REPEATS = envNumber("BENCH_REPEATS", 3);
const CONCURRENCY = envList("BENCH_CONCURRENCY", [1, 16]);
const CHEAP = envNumber("BENCH_REQUESTS", 30);
const HASHING = envNumber("BENCH_HASH_REQUESTS", 8);
const cheapRequests = (c) => Math.max(CHEAP, c * 2);
const hashRequests = (c) => Math.max(HASHING, c);
const wrangler = join(root, "node_modules", ".bin", "wrangler");
const peerDir = join(root, "bench", "peers", "better-auth");

function run(cmd, args, cwd, env = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

// The peer's dependencies, exactly as its committed lockfile says, into its own node_modules.
if (!existsSync(join(peerDir, "node_modules", "better-auth", "package.json"))) {
  console.log("installing the Better Auth peer (npm ci in bench/peers/better-auth) ...");
  run("npm", ["ci", "--no-audit", "--no-fund"], peerDir);
}

const started = Date.now();
const persistTo = mkdtempSync(join(tmpdir(), "latchkey-peers-"));
run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(persistTo, "peer")], peerDir, wranglerEnv());
const latchkey = await startDevServer({ port: await freePort(), persistTo: join(persistTo, "latchkey") });
let peer;
try {
  peer = await startWrangler({ wrangler, cwd: peerDir, config: "wrangler.toml", port: await freePort(), persistTo: join(persistTo, "peer") });
  const L = latchkey.url;
  const B = peer.url;
  const { app, kii, token, resetPool } = await setUpLatchkey(L, { resetPool: 16 });

  // Node's fetch sends Sec-Fetch-Mode, so Better Auth treats it as a browser and wants an Origin
  // it trusts (its baseURL), as a browser on the same site would send.
  const origin = { Origin: "http://127.0.0.1" };
  const signUpBetterAuth = async (flavour, email) => {
    const res = await fetch(`${B}/${flavour}/api/auth/sign-up/email`, json({ email, password: PASSWORD, name: "Bench" }, origin));
    if (!res.ok) throw new Error(`Better Auth sign-up: ${res.status} ${await res.text()}`);
    return res;
  };
  const sessionCookie = (res) => (res.headers.get("set-cookie") ?? "").split(";")[0];
  const baCookie = sessionCookie(await signUpBetterAuth("default", "bench-user@example.com"));
  await signUpBetterAuth("equal", "bench-user-equal@example.com");
  for (let i = 0; i < resetPool; i++) await signUpBetterAuth("default", `reset-user-${i}@example.com`);
  console.log(`setup done in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  // Sign-ups need a new address every time, on both sides.
  let fresh = 0;
  const nextName = () => `new-${process.pid}-${fresh++}`;
  const latchkeySignUp = () => fetch(`${L}/api/apps/${app.appId}/users`, json({ emailAddress: `${nextName()}@example.com`, password: PASSWORD }, kii(app)));
  const baSignUp = (flavour) => () => fetch(`${B}/${flavour}/api/auth/sign-up/email`, json({ email: `${nextName()}@example.com`, password: PASSWORD, name: "Bench" }, origin));
  const baSignIn = (flavour, email) => () => fetch(`${B}/${flavour}/api/auth/sign-in/email`, json({ email, password: PASSWORD }, origin));

  // Each comparison: a Latchkey request and a Better Auth request doing the same job.
  const comparisons = [
    { name: "bare route (GET /)", n: cheapRequests, latchkey: () => fetch(`${L}/`), betterAuth: () => fetch(`${B}/`) },
    { name: "sign-up, Better Auth default scrypt", n: hashRequests, latchkey: latchkeySignUp, betterAuth: baSignUp("default"), shares: "sign-up" },
    { name: "sign-up, equal scrypt (N=2^14 r=8 p=5)", n: hashRequests, latchkey: latchkeySignUp, betterAuth: baSignUp("equal"), shares: "sign-up" },
    {
      name: "sign-in, Better Auth default scrypt",
      n: hashRequests,
      latchkey: () => fetch(`${L}/api/oauth2/token`, json({ username: "bench-user", password: PASSWORD }, kii(app))),
      betterAuth: baSignIn("default", "bench-user@example.com"),
      shares: "sign-in",
    },
    {
      name: "sign-in, equal scrypt (N=2^14 r=8 p=5)",
      n: hashRequests,
      latchkey: () => fetch(`${L}/api/oauth2/token`, json({ username: "bench-user", password: PASSWORD }, kii(app))),
      betterAuth: baSignIn("equal", "bench-user-equal@example.com"),
      shares: "sign-in",
    },
    {
      name: "request password reset",
      n: cheapRequests,
      latchkey: (i) => fetch(`${L}/api/apps/${app.appId}/users/EMAIL:reset-user-${i % resetPool}@example.com/password/request-reset`, { method: "POST", headers: kii(app) }),
      betterAuth: (i) => fetch(`${B}/default/api/auth/request-password-reset`, json({ email: `reset-user-${i % resetPool}@example.com` }, origin)),
    },
    {
      name: "get user / session",
      n: cheapRequests,
      latchkey: () => fetch(`${L}/api/apps/${app.appId}/users/me`, { headers: { ...kii(app), Authorization: `Bearer ${token}` } }),
      betterAuth: () => fetch(`${B}/default/api/auth/get-session`, { headers: { ...origin, Cookie: baCookie } }),
    },
  ];

  // ratios[name][c] = one { rps, p50 } ratio per repeat; raw figures kept for the table too.
  const ratios = {};
  const raw = {};
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const c of rotate(CONCURRENCY, rep)) {
      // Latchkey's sign-up and sign-in are measured once per block and compared with both of
      // Better Auth's hashing settings.
      const shared = {};
      for (const cmp of rotate(comparisons, rep)) {
        const opts = { concurrency: c, requests: cmp.n(c) };
        const measureLatchkey = async () => (cmp.shares && shared[cmp.shares]) || (shared[cmp.shares ?? cmp.name] = await load(`Latchkey ${cmp.name}`, cmp.latchkey, opts));
        const measureBetterAuth = () => load(`Better Auth ${cmp.name}`, cmp.betterAuth, opts);
        // Alternate who goes first, so neither always runs on a machine the other just warmed.
        let l, b;
        if (rep % 2 === 0) {
          l = await measureLatchkey();
          b = await measureBetterAuth();
        } else {
          b = await measureBetterAuth();
          l = await measureLatchkey();
        }
        ((ratios[cmp.name] ??= {})[c] ??= []).push({ rps: l.rps / b.rps, p50: l.p50 / b.p50 });
        ((raw[cmp.name] ??= {})[c] ??= []).push({ l, b });
      }
    }
    console.log(`repeat ${rep + 1}/${REPEATS} done at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  console.log(`\nLatchkey ÷ Better Auth ${peerVersion()} on the same wrangler dev (workerd) with local D1; ${REPEATS} interleaved repeats; min / median / max`);
  console.log("req/s ratio above 1: Latchkey serves more; p50 ratio below 1: Latchkey answers sooner\n");
  const rows = [];
  for (const cmp of comparisons) {
    for (const c of CONCURRENCY) {
      const r = ratios[cmp.name][c];
      const pairs = raw[cmp.name][c];
      rows.push([
        cmp.name,
        c,
        spread(r.map((x) => x.rps)),
        spread(r.map((x) => x.p50)),
        spread(pairs.map((p) => p.l.rps), 1),
        spread(pairs.map((p) => p.b.rps), 1),
        spread(pairs.map((p) => p.l.p50), 1),
        spread(pairs.map((p) => p.b.p50), 1),
      ]);
    }
  }
  console.log(table(["job", "conc", "req/s L÷BA", "p50 L÷BA", "Latchkey req/s", "Better Auth req/s", "Latchkey p50 ms", "Better Auth p50 ms"], rows));

  const at = (name, c, key) => spread((ratios[name]?.[c] ?? []).map((x) => x[key]));
  // Under `npm run bench`, bench/run.mjs prints these again in its final table.
  globalThis.latchkeyIssueRows?.push(
    ["request-reset req/s at 16 concurrent, Latchkey ÷ Better Auth", at("request password reset", 16, "rps"), "≥ 1.2"],
    ["sign-in req/s ÷ Better Auth's, equal scrypt parameters, 16 concurrent", at("sign-in, equal scrypt (N=2^14 r=8 p=5)", 16, "rps"), "≥ 1.0"],
    ["sign-up req/s ÷ Better Auth's, equal scrypt parameters, 16 concurrent", at("sign-up, equal scrypt (N=2^14 r=8 p=5)", 16, "rps"), "≥ 1.0"],
    ["get user/session p50, Latchkey ÷ Better Auth, sequential", at("get user / session", 1, "p50"), ""],
  );
  console.log(`\nIssue 14's peer figures`);
  console.log(
    table(
      ["figure", "min / median / max", "goal"],
      [
        ["request-reset req/s at 16 concurrent, Latchkey ÷ Better Auth", at("request password reset", 16, "rps"), "≥ 1.2"],
        ["sign-in req/s ÷ Better Auth's, equal scrypt, sequential", at("sign-in, equal scrypt (N=2^14 r=8 p=5)", 1, "rps"), "≥ 1.0"],
        ["sign-in req/s ÷ Better Auth's, equal scrypt, 16 concurrent", at("sign-in, equal scrypt (N=2^14 r=8 p=5)", 16, "rps"), "≥ 1.0"],
        ["sign-up req/s ÷ Better Auth's, equal scrypt, sequential", at("sign-up, equal scrypt (N=2^14 r=8 p=5)", 1, "rps"), "≥ 1.0"],
        ["sign-up req/s ÷ Better Auth's, equal scrypt, 16 concurrent", at("sign-up, equal scrypt (N=2^14 r=8 p=5)", 16, "rps"), "≥ 1.0"],
        ["sign-in req/s ÷ Better Auth's, its default scrypt, sequential", at("sign-in, Better Auth default scrypt", 1, "rps"), "(≈ 0.5: 2.1× the work)"],
      ],
    ),
  );
  await peer.stop();
  await latchkey.stop();
  // Bundles, as `wrangler deploy --dry-run` builds them (after the servers stopped: no load).
  const ours = await bundleReport({ wrangler, cwd: root, outdir: join(persistTo, "bundle-latchkey"), env: "production", top: 6 });
  const theirs = await bundleReport({ wrangler, cwd: peerDir, outdir: join(persistTo, "bundle-peer"), top: 6 });
  console.log(`\nWorker bundle, gzip (wrangler's figure): Latchkey ${ours.wranglerGzipKiB} KiB, Better Auth peer ${theirs.wranglerGzipKiB} KiB (gzip -9: ${kib(ours.gzip)} and ${kib(theirs.gzip)})`);
  printBundle("Better Auth peer bundle", theirs);
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await peer?.stop();
  await latchkey.stop();
  rmSync(persistTo, { recursive: true, force: true });
}

function peerVersion() {
  try {
    return spawnSync(process.execPath, ["-p", "require('./node_modules/better-auth/package.json').version"], { cwd: peerDir, encoding: "utf8" }).stdout.trim();
  } catch {
    return "";
  }
}
