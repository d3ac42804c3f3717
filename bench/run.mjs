// `npm run bench`: what users feel, against a real `wrangler dev` (workerd) on loopback.
//
// For each route — bare (GET /), get user, request-reset, complete-reset, sign-in — it measures
// throughput and p50/p99 at several concurrencies, repeated; the routes run interleaved (a
// different order in each repeat), and every figure is a ratio to the bare route measured in the
// same repeat at the same concurrency. Hashing routes are also compared with one raw native
// scrypt at Latchkey's parameters (N=2^14 r=8 p=5): in this Node process (node:crypto, OpenSSL)
// and inside the same workerd (a probe Worker, bench/probe/, BoringSSL). The probe also times the
// platform's primitives (one D1 query, KV write, Durable Object call, queue send), which is what
// the non-hashing routes are made of. Prints min / median / max over the repeats; asserts nothing.
//
// Scale with: BENCH_REPEATS (3), BENCH_CONCURRENCY (1,16,64), BENCH_REQUESTS (40: requests per
// phase of a cheap route at concurrency 1; 2 per client above), BENCH_HASH_REQUESTS (8: the same
// for hashing routes; 1 per client above — a burst), BENCH_SCRYPT_SAMPLES (5). BENCH_HASHES=0 and
// BENCH_SHARDS=0 leave out the imported-hash and the 1-vs-3-shard parts that follow. BENCH_LOG=<file>
// keeps everything wrangler dev and workerd print (stack traces of any 500) in that file.
import { scryptSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, startDevServer } from "../scripts/dev-server.mjs";
import { inBatches, json, LATCHKEY_SCRYPT as PARAMS, PASSWORD, setUpLatchkey } from "./latchkey-fixture.mjs";
import { bundleReport, envList, envNumber, freePort, load, med, median, printBundle, rotate, spread, startWrangler, table } from "./lib.mjs";

const REPEATS = envNumber("BENCH_REPEATS", 3);
/** Issue 14's rows, collected here and by bench/peers.mjs, printed together at the end. */
const issueRows = (globalThis.latchkeyIssueRows = []);
const CONCURRENCY = envList("BENCH_CONCURRENCY", [1, 16, 64]);
const CHEAP = envNumber("BENCH_REQUESTS", 40);
const HASHING = envNumber("BENCH_HASH_REQUESTS", 8);
const SCRYPT_SAMPLES = envNumber("BENCH_SCRYPT_SAMPLES", 5);
const wrangler = join(root, "node_modules", ".bin", "wrangler");

const cheapRequests = (c) => Math.max(CHEAP, c * 2);
const hashRequests = (c) => Math.max(HASHING, c);
const warmupOf = (c) => Math.min(c, 8);

const started = Date.now();
const persistTo = mkdtempSync(join(tmpdir(), "latchkey-bench-"));
const server = await startDevServer({ port: await freePort(), persistTo: join(persistTo, "latchkey"), logFile: process.env.BENCH_LOG });
let probe;
try {
  probe = await startWrangler({ wrangler, cwd: join(root, "bench", "probe"), config: "wrangler.toml", port: await freePort(), persistTo: join(persistTo, "probe") });
  const url = server.url;
  const completePool = Math.max(...CONCURRENCY.map((c) => warmupOf(c) + hashRequests(c)));
  const { app, guardedApp: guarded, kii, admin, token, resetPool, completeUsers } = await setUpLatchkey(url, { completePool, guarded: true });
  console.log(`setup: ${2 + resetPool + completePool} users set up in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  let round = 0;
  const routes = {
    bare: { send: () => fetch(`${url}/`), n: cheapRequests },
    "get user": {
      send: () => fetch(`${url}/api/apps/${app.appId}/users/me`, { headers: { ...kii(app), Authorization: `Bearer ${token}` } }),
      n: cheapRequests,
    },
    "request-reset": {
      send: (i) => fetch(`${url}/api/apps/${app.appId}/users/EMAIL:reset-user-${i % resetPool}@example.com/password/request-reset`, { method: "POST", headers: kii(app) }),
      n: cheapRequests,
    },
    // ZITADEL SetPassword with a verification code (one scrypt for the new password); the codes
    // are fetched with returnCode before the timed phase, one per request.
    "complete-reset": {
      prepare: async (count) => {
        const codes = await inBatches(count, 8, async (i) => {
          const res = await fetch(`${url}/v2/users/${completeUsers[i]}/password_reset`, json({ returnCode: {} }, admin));
          if (!res.ok) throw new Error(`returnCode: ${res.status} ${await res.text()}`);
          return (await res.json()).verificationCode;
        });
        round++;
        return codes;
      },
      send: (i, _warm, codes) =>
        fetch(`${url}/v2/users/${completeUsers[i]}/password`, json({ newPassword: { password: `bench password r${round} ${i}` }, verificationCode: codes[i] }, admin)),
      n: hashRequests,
    },
    "sign-in": { send: () => fetch(`${url}/api/oauth2/token`, json({ username: "bench-user", password: PASSWORD }, kii(app))), n: hashRequests },
  };
  const names = Object.keys(routes).filter((n) => n !== "bare");
  const probeRoutes = ["/scrypt", "/signin-io", "/d1", "/d1-write", "/kv-put", "/durable-object", "/queue-send"];

  // results[route][concurrency] = one { rps, p50, p99 } per repeat; ratios likewise.
  const results = {};
  const record = (route, c, value) => (((results[route] ??= {})[c] ??= []).push(value));
  const scryptNode = [];
  const enumeration = [];

  for (let rep = 0; rep < REPEATS; rep++) {
    for (const c of rotate(CONCURRENCY, rep)) {
      const bare = await load("bare", routes.bare.send, { concurrency: c, requests: routes.bare.n(c) });
      record("bare", c, bare);
      for (const name of rotate(names, rep)) {
        const route = routes[name];
        const count = route.n(c);
        const state = route.prepare ? await route.prepare(warmupOf(c) + count) : undefined;
        const r = await load(name, (i, warm) => route.send(i, warm, state), { concurrency: c, requests: count, warmup: warmupOf(c) });
        record(name, c, { ...r, p50Ratio: r.p50 / bare.p50, p99Ratio: r.p99 / bare.p99, rpsRatio: r.rps / bare.rps });
      }
      if (c === 1 || c === 16) {
        // The I/O request-reset is made of, alone on the probe Worker (bench/probe, /reset-io):
        // how close the route's p50 and throughput can come on this workerd at all.
        const probeBare = await load("probe bare", () => fetch(`${probe.url}/`), { concurrency: c, requests: cheapRequests(c) });
        const io = await load("probe reset I/O", (i) => fetch(`${probe.url}/reset-io?i=${i % resetPool}`, { method: "POST" }), { concurrency: c, requests: cheapRequests(c), warmup: warmupOf(c) });
        record("probe reset I/O", c, { ...io, p50Ratio: io.p50 / probeBare.p50, extraMs: io.p50 - probeBare.p50 });
        if (c === 1) {
          const early = await load("probe reset I/O, answered first", (i) => fetch(`${probe.url}/reset-io-after-answer?i=${i % resetPool}`, { method: "POST" }), { concurrency: c, requests: cheapRequests(c), warmup: warmupOf(c) });
          record("probe reset I/O, answered first", c, { ...early, p50Ratio: early.p50 / probeBare.p50 });
        }
      }
      if (c === 1) {
        // Raw scrypt at the same parameters, in this process and in the probe Worker.
        const times = [];
        for (let i = 0; i < SCRYPT_SAMPLES; i++) {
          const t0 = performance.now();
          scryptSync(PASSWORD, "0123456789abcdef", 32, PARAMS);
          times.push(performance.now() - t0);
        }
        scryptNode.push(median(times));
        const probeBare = await load("probe bare", () => fetch(`${probe.url}/`), { concurrency: 1, requests: CHEAP });
        record("probe /", 1, probeBare);
        for (const path of rotate(probeRoutes, rep)) {
          const r = await load(`probe ${path}`, () => fetch(probe.url + path, { method: "POST" }), {
            concurrency: 1,
            requests: path === "/scrypt" || path === "/signin-io" ? HASHING : CHEAP,
          });
          record(`probe ${path}`, 1, { ...r, extraMs: r.p50 - probeBare.p50, p50Ratio: r.p50 / probeBare.p50 });
        }
        // Enumeration protection: a prober compares one unknown address with one known one.
        const reset = (who) => () => fetch(`${url}/api/apps/${guarded.appId}/users/LOGIN_NAME:${who}/password/request-reset`, { method: "POST", headers: kii(guarded) });
        // Alternately first: whichever runs first after the other phases pays for it (a fixed order read 0.83).
        const phases = { known: reset("guarded-user"), unknown: reset("nobody-here") };
        const timed = {};
        for (const who of rep % 2 ? ["unknown", "known"] : ["known", "unknown"]) timed[who] = await load(`guarded ${who}`, phases[who], { concurrency: 1, requests: CHEAP });
        enumeration.push(timed.unknown.p50 / timed.known.p50);
      }
    }
    console.log(`repeat ${rep + 1}/${REPEATS} done at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  const pick = (route, c, key) => (results[route]?.[c] ?? []).map((r) => r[key]);
  // Per repeat: one route's figure ÷ another's, both measured in that repeat.
  const ratioOf = (a, b, c, key) => pick(a, c, key).map((v, i) => v / pick(b, c, key)[i]);
  console.log(`\nLatchkey on wrangler dev (workerd), loopback; ${REPEATS} interleaved repeats; min / median / max over repeats`);
  console.log(`requests per phase: cheap routes ${CONCURRENCY.map((c) => `c${c}=${cheapRequests(c)}`).join(" ")}, hashing routes ${CONCURRENCY.map((c) => `c${c}=${hashRequests(c)}`).join(" ")}\n`);
  const rows = [];
  for (const name of ["bare", ...names]) {
    for (const c of CONCURRENCY) {
      rows.push([
        name,
        c,
        spread(pick(name, c, "rps"), 0),
        spread(pick(name, c, "p50"), 1),
        spread(pick(name, c, "p99"), 1),
        name === "bare" ? "1" : spread(pick(name, c, "p50Ratio")),
        name === "bare" ? "1" : spread(pick(name, c, "rpsRatio"), 3),
      ]);
    }
  }
  console.log(table(["route", "conc", "req/s", "p50 ms", "p99 ms", "p50 ÷ bare p50", "req/s ÷ bare req/s"], rows));

  // Per repeat: (sign-in p50 − bare p50) ÷ one raw scrypt.
  const bareP50 = pick("bare", 1, "p50");
  const signInP50 = pick("sign-in", 1, "p50");
  const probeScrypt = pick("probe /scrypt", 1, "extraMs");
  const beyondNode = signInP50.map((s, i) => (s - bareP50[i]) / scryptNode[i]);
  const beyondWorkerd = signInP50.map((s, i) => (s - bareP50[i]) / probeScrypt[i]);
  // The same ratio for the probe's /signin-io: sign-in's own I/O and one scrypt, no Latchkey code.
  const signInFloor = pick("probe /signin-io", 1, "extraMs").map((x, i) => x / probeScrypt[i]);
  const completeBeyond = pick("complete-reset", 1, "p50").map((s, i) => (s - bareP50[i]) / probeScrypt[i]);
  // Throughput of hashing routes against what the hash alone allows, one at a time.
  const hashBound = (route, c) => pick(route, c, "rps").map((rps, i) => rps / (1000 / (probeScrypt[i] ?? probeScrypt[0])));

  console.log(`\nPlatform primitives on the same workerd (probe Worker, sequential): p50 beyond its bare route`);
  console.log(
    table(
      ["primitive", "ms beyond bare", "p50 ÷ bare p50"],
      probeRoutes.map((p) => [p.slice(1), spread(pick(`probe ${p}`, 1, "extraMs"), 1), spread(pick(`probe ${p}`, 1, "p50Ratio"))]),
    ),
  );
  console.log(`one raw scrypt N=2^14 r=8 p=5: ${spread(scryptNode, 1)} ms in Node ${process.versions.node} (OpenSSL); ${spread(probeScrypt, 1)} ms in workerd (probe, BoringSSL)`);

  console.log(`\nIssue 14's figures (Latchkey alone; the Better Auth rows come from \`npm run bench:peers\`)`);
  const bundle = await bundleReport({ wrangler, cwd: root, outdir: join(persistTo, "bundle"), env: "production" });
  const bundleFigure = `${bundle.wranglerGzipKiB?.toFixed(0) ?? "?"} KiB (gzip -9: ${kib(bundle.gzip)})`;
  // Issue 14's table, in its order, printed again at the very end with the peer's rows.
  issueRows.push(
    ["sign-in time beyond a bare route ÷ one raw native scrypt (in workerd)", spread(beyondWorkerd), "≤ 1.03"],
    ["  its I/O and one scrypt alone (probe /signin-io) beyond the probe's bare ÷ one scrypt: the floor", spread(signInFloor), ""],
    ["request-reset p50 ÷ bare route p50, sequential", spread(pick("request-reset", 1, "p50Ratio")), "≤ 1.8"],
    ["  its I/O alone (probe /reset-io) p50 ÷ the probe's bare p50: the floor", spread(pick("probe reset I/O", 1, "p50Ratio")), ""],
    ["  the same I/O with the read beside the limits, answered before the writes (probe /reset-io-after-answer)", spread(pick("probe reset I/O, answered first", 1, "p50Ratio")), ""],
    ["get user p50 ÷ bare route p50, sequential", spread(pick("get user", 1, "p50Ratio")), "≤ 1.4"],
    ["Worker bundle, gzip (wrangler deploy --dry-run --env production)", bundleFigure, "≤ 150 KiB"],
  );
  console.log(
    table(
      ["figure", "min / median / max", "goal"],
      [
        ["sign-in time beyond a bare route ÷ one raw native scrypt (in workerd)", spread(beyondWorkerd), "≤ 1.03"],
        ["  the same ÷ one raw scrypt in Node (OpenSSL)", spread(beyondNode), ""],
        ["  its I/O and one scrypt alone (probe /signin-io) beyond the probe's bare ÷ one scrypt: the floor", spread(signInFloor), ""],
        ["complete-reset time beyond a bare route ÷ one raw scrypt (in workerd)", spread(completeBeyond), ""],
        ["request-reset p50 ÷ bare route p50, sequential", spread(pick("request-reset", 1, "p50Ratio")), "≤ 1.8"],
        ["  its I/O alone (probe /reset-io) p50 ÷ the probe's bare p50: the floor", spread(pick("probe reset I/O", 1, "p50Ratio")), ""],
        ["  the same I/O with the read beside the limits, answered before the writes (probe /reset-io-after-answer)", spread(pick("probe reset I/O, answered first", 1, "p50Ratio")), ""],
        ["  request-reset time beyond bare ÷ its I/O's alone (probe), sequential", spread(pick("request-reset", 1, "p50").map((p, i) => (p - bareP50[i]) / pick("probe reset I/O", 1, "extraMs")[i])), ""],
        ["  request-reset req/s at 16 concurrent ÷ its I/O alone (probe)", spread(ratioOf("request-reset", "probe reset I/O", 16, "rps")), ""],
        ["get user p50 ÷ bare route p50, sequential", spread(pick("get user", 1, "p50Ratio")), "≤ 1.4"],
        ...CONCURRENCY.filter((c) => c > 1).flatMap((c) => [
          [`request-reset p50 ÷ bare p50 at ${c} concurrent`, spread(pick("request-reset", c, "p50Ratio")), ""],
          [`get user p50 ÷ bare p50 at ${c} concurrent`, spread(pick("get user", c, "p50Ratio")), ""],
          [`sign-in req/s at ${c} concurrent ÷ scrypts/s one at a time (workerd)`, spread(hashBound("sign-in", c)), ""],
        ]),
        ["enumeration protection: unknown ÷ known reset p50 (1.00 = indistinguishable)", spread(enumeration), ""],
        ["Worker bundle, gzip (wrangler deploy --dry-run --env production)", bundleFigure, "≤ 150 KiB"],
      ],
    ),
  );
  printBundle("Worker bundle (wrangler deploy --dry-run --env production)", bundle);
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await probe?.stop();
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}

// Imported hash formats and the bulk import: a second wrangler dev, after this one has stopped.
if (process.env.BENCH_HASHES !== "0") await import("./hashes.mjs");
// Sign-in and request-reset with the users in 1 and in 3 shards, under the same load (bench/shards.mjs).
if (process.env.BENCH_SHARDS !== "0") await import("./shards.mjs");
// Latchkey beside Better Auth (bench/peers.mjs, the same as `npm run bench:peers`); it adds its rows to issueRows.
if (process.env.BENCH_PEERS !== "0") await import("./peers.mjs");

console.log("\nIssue 14's table, every row from this run (min / median / max over the repeats)");
console.log(table(["figure", "min / median / max", "goal"], issueRows));
if (process.env.BENCH_PEERS === "0") console.log("(BENCH_PEERS=0: the rows against Better Auth were left out)");

function kib(n) {
  return `${(n / 1024).toFixed(0)} KiB`;
}
