// `npm run bench:ab -- BEFORE_CHECKOUT AFTER_CHECKOUT`: two checkouts of Latchkey (e.g. a
// `git worktree` of main and this branch, each with its node_modules) served at once by two
// `wrangler dev`s, sequential requests alternating between them route by route, rounds
// alternating which goes first. Each p50 is a ratio to the same server's bare route in the same
// round, and the time beyond bare is compared after ÷ before per round: the same machine state
// for both sides, which two `npm run bench` runs one after the other cannot give on a shared
// machine. Each side uses its own bench/latchkey-fixture.mjs. Asserts nothing.
// Scale with AB_ROUNDS (5), AB_REQUESTS (40 per route, side and round) and AB_SIGNINS (20 per side
// and round: each sign-in spends one scrypt, which dominates its time and its spread).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
const [beforeRoot, afterRoot] = process.argv.slice(2).map((p) => resolve(p));
if (!beforeRoot || !afterRoot) throw new Error("usage: node bench/ab.mjs BEFORE_CHECKOUT AFTER_CHECKOUT");
const ROUNDS = Number(process.env.AB_ROUNDS ?? 5);
const N = Number(process.env.AB_REQUESTS ?? 40);
const SIGNINS = Number(process.env.AB_SIGNINS ?? 20);
const sides = {};
for (const [name, root] of [["before", beforeRoot], ["after", afterRoot]]) {
  const dev = await import(join(root, "scripts/dev-server.mjs"));
  const fixture = await import(join(root, "bench/latchkey-fixture.mjs"));
  const lib = await import(join(root, "bench/lib.mjs"));
  const persistTo = mkdtempSync(join(tmpdir(), `latchkey-ab-${name}-`));
  const server = await dev.startDevServer({ port: await lib.freePort(), persistTo });
  sides[name] = { server, persistTo, lib, fixture };
  sides[name].f = await fixture.setUpLatchkey(server.url, { guarded: false });
}
const { load, median, spread } = sides.after.lib;
const routes = (s) => {
  const { server: { url }, f } = s;
  return {
    bare: () => fetch(`${url}/`),
    "get user": () => fetch(`${url}/api/apps/${f.app.appId}/users/me`, { headers: { ...f.kii(f.app), Authorization: `Bearer ${f.token}` } }),
    "request-reset": (i) => fetch(`${url}/api/apps/${f.app.appId}/users/EMAIL:reset-user-${i % f.resetPool}@example.com/password/request-reset`, { method: "POST", headers: f.kii(f.app) }),
    "sign-in": () => fetch(`${url}/api/oauth2/token`, s.fixture.json({ username: "bench-user", password: s.fixture.PASSWORD }, f.kii(f.app))),
  };
};
const results = { before: {}, after: {} };
const names = ["bare", "get user", "request-reset", "sign-in"];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ["after", "before"] : ["before", "after"];
    for (const route of names) {
      for (const side of order) {
        const res = await load(`${side} ${route}`, routes(sides[side])[route], { concurrency: 1, requests: route === "sign-in" ? SIGNINS : N });
        (results[side][route] ??= []).push(res.p50);
      }
    }
    console.log(`round ${r + 1}/${ROUNDS} done`);
  }
  const ratio = (side, route) => results[side][route].map((p, i) => p / results[side].bare[i]);
  console.log(`\nsequential p50, ${ROUNDS} rounds of ${N} requests per route and side (min / median / max)`);
  for (const route of names) {
    for (const side of ["before", "after"]) console.log(`${route.padEnd(14)} ${side.padEnd(7)} p50 ms ${spread(results[side][route], 1).padEnd(24)} ÷ bare ${route === "bare" ? "1" : spread(ratio(side, route))}`);
  }
  for (const route of ["get user", "request-reset", "sign-in"]) {
    const beyond = (side) => results[side][route].map((p, i) => p - results[side].bare[i]);
    const a = beyond("after"), b = beyond("before");
    console.log(`${route}: time beyond bare, after ÷ before per round: ${spread(a.map((x, i) => x / b[i]))}; medians ${median(b).toFixed(1)} → ${median(a).toFixed(1)} ms; after − before per round ${spread(a.map((x, i) => x - b[i]), 1)} ms`);
  }
} finally {
  for (const s of Object.values(sides)) {
    await s.server.stop();
    rmSync(s.persistTo, { recursive: true, force: true });
  }
}
