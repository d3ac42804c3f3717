// `npm run bench:profile`: where the non-hashing routes' time goes, without changing the Worker.
// Variants of the same jobs that skip some of the work (another dialect, an admin caller, an
// unknown user) are timed beside each other, sequentially, in interleaved repeats; the
// differences between them, and the platform's primitives timed on the same workerd (the probe
// Worker), attribute each route's time beyond a bare route to its round trips. Each variant's
// steps are listed from the code (docs/benchmarks.md, "Profile").
//
// Scale with: BENCH_REPEATS (3), BENCH_REQUESTS (40 per variant per repeat).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, startDevServer } from "../scripts/dev-server.mjs";
import { json, setUpLatchkey } from "./latchkey-fixture.mjs";
import { envNumber, freePort, load, rotate, spread, startWrangler, table } from "./lib.mjs";

const REPEATS = envNumber("BENCH_REPEATS", 3);
const REQUESTS = envNumber("BENCH_REQUESTS", 40);
const wrangler = join(root, "node_modules", ".bin", "wrangler");

const started = Date.now();
const persistTo = mkdtempSync(join(tmpdir(), "latchkey-profile-"));
const server = await startDevServer({ port: await freePort(), persistTo: join(persistTo, "latchkey") });
let probe;
try {
  probe = await startWrangler({ wrangler, cwd: join(root, "bench", "probe"), config: "wrangler.toml", port: await freePort(), persistTo: join(persistTo, "probe") });
  const url = server.url;
  const { app, kii, admin, token, resetPool } = await setUpLatchkey(url, { resetPool: 16 });
  const me = await (await fetch(`${url}/api/apps/${app.appId}/users/me`, { headers: { ...kii(app), Authorization: `Bearer ${token}` } })).json();
  const resetUsers = [];
  for (let i = 0; i < resetPool; i++) {
    const res = await fetch(`${url}/api/apps/${app.appId}/users/LOGIN_NAME:reset-user-${i}`, { headers: { ...kii(app), ...admin } });
    resetUsers.push((await res.json()).userID);
  }
  const kiiReset = (i, headers = {}) =>
    fetch(`${url}/api/apps/${app.appId}/users/LOGIN_NAME:reset-user-${i % resetPool}/password/request-reset`, { method: "POST", headers: { ...kii(app), ...headers } });

  // name, steps (sequential round trips, ∥ = in parallel), request, expected status
  const variants = [
    ["bare: GET /", "none", () => fetch(`${url}/`), 200],
    ["Kii users/me without a token (401)", "D1 app", () => fetch(`${url}/api/apps/${app.appId}/users/me`, { headers: kii(app) }), 401],
    ["Kii get user (users/me, Bearer)", "D1 app ∥ D1 token → D1 user", () => fetch(`${url}/api/apps/${app.appId}/users/me`, { headers: { ...kii(app), Authorization: `Bearer ${token}` } }), 200],
    ["Kii get user, Bearer only (no app key headers)", "D1 app ∥ D1 token → D1 user", () => fetch(`${url}/api/apps/${app.appId}/users/me`, { headers: { Authorization: `Bearer ${token}` } }), 200],
    ["Kii get user by userID (not me)", "D1 app ∥ D1 token → D1 user", () => fetch(`${url}/api/apps/${app.appId}/users/${me.userID}`, { headers: { ...kii(app), Authorization: `Bearer ${token}` } }), 200],
    ["Kii get user, app admin token", "D1 app ∥ D1 token → D1 user", () => fetch(`${url}/api/apps/${app.appId}/users/${me.userID}`, { headers: admin }), 200],
    ["ZITADEL GetUserByID (REST)", "D1 token → D1 app → D1 user", () => fetch(`${url}/v2/users/${me.userID}`, { headers: admin }), 200],
    ["Kii reset, unknown user (404)", "D1 app → DO ip ∥ D1 user → DO address", () => fetch(`${url}/api/apps/${app.appId}/users/LOGIN_NAME:nobody-here/password/request-reset`, { method: "POST", headers: kii(app) }), 404],
    ["Kii reset, known user (anonymous)", "D1 app → DO ip ∥ D1 user → DO address → KV put ∥ D1 batch → queue", (i) => kiiReset(i), 204],
    ["Kii reset, known user, admin Bearer", "D1 app ∥ D1 token → D1 user → DO address → KV put ∥ D1 batch → queue", (i) => kiiReset(i, admin), 204],
    ["ZITADEL reset, returnCode", "D1 token → D1 app → D1 user → KV put ∥ D1 batch", (i) => fetch(`${url}/v2/users/${resetUsers[i % resetPool]}/password_reset`, json({ returnCode: {} }, admin)), 200],
    ["ZITADEL reset, sendLink email", "D1 token → D1 app → D1 user → DO address → KV put ∥ D1 batch → queue", (i) => fetch(`${url}/v2/users/${resetUsers[i % resetPool]}/password_reset`, json({ sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } }, admin)), 200],
  ];
  const primitives = ["/d1", "/d1-two-sequential", "/d1-two-parallel", "/d1-write", "/d1-write-two-sequential", "/d1-write-two-batch", "/kv-put", "/durable-object", "/durable-object-two-parallel", "/queue-send"];

  const extra = {};
  const ratio = {};
  const prim = {};
  for (let rep = 0; rep < REPEATS; rep++) {
    const bare = await load("bare", () => fetch(`${url}/`), { concurrency: 1, requests: REQUESTS });
    for (const [name, , send, status] of rotate(variants.slice(1), rep)) {
      const r = await load(name, send, { concurrency: 1, requests: REQUESTS, expect: (s) => s === status });
      (extra[name] ??= []).push(r.p50 - bare.p50);
      (ratio[name] ??= []).push(r.p50 / bare.p50);
    }
    (extra[variants[0][0]] ??= []).push(0);
    (ratio[variants[0][0]] ??= []).push(1);
    const probeBare = await load("probe bare", () => fetch(`${probe.url}/`), { concurrency: 1, requests: REQUESTS });
    for (const path of rotate(primitives, rep)) {
      const r = await load(`probe ${path}`, () => fetch(probe.url + path, { method: "POST" }), { concurrency: 1, requests: REQUESTS });
      (prim[path] ??= []).push({ extra: r.p50 - probeBare.p50, ratio: r.p50 / probeBare.p50, bare: probeBare.p50 });
    }
    console.log(`repeat ${rep + 1}/${REPEATS} done at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }

  console.log(`\nLatchkey's non-hashing paths, sequential, p50; ${REPEATS} interleaved repeats; min / median / max`);
  console.log(table(["variant", "steps (→ sequential, ∥ parallel)", "ms beyond bare", "p50 ÷ bare p50"], variants.map(([name, steps]) => [name, steps, spread(extra[name], 1), spread(ratio[name])])));
  console.log(`\nPlatform primitives on the same workerd (probe Worker), sequential p50 beyond its bare route`);
  console.log(table(["primitive", "ms beyond bare", "p50 ÷ bare p50"], primitives.map((p) => [p.slice(1), spread(prim[p].map((x) => x.extra), 1), spread(prim[p].map((x) => x.ratio))])));
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await probe?.stop();
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
