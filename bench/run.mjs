// `npm run bench`: speed figures against a real `wrangler dev` (workerd) on loopback.
// Every figure is compared with a bare route measured in the same run (a ratio), because these
// machines are shared and absolute milliseconds drift. Prints; asserts nothing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scryptSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import { DEV_ADMIN_TOKEN, root, startDevServer } from "../scripts/dev-server.mjs";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const WARMUP = 5;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function measure(name, makeRequest, samples = SAMPLES) {
  for (let i = 0; i < WARMUP; i++) await (await makeRequest(i)).arrayBuffer();
  const times = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    const res = await makeRequest(WARMUP + i);
    await res.arrayBuffer();
    times.push(performance.now() - start);
    if (res.status >= 400) throw new Error(`${name}: HTTP ${res.status}`);
  }
  return { name, median: percentile(times, 50), p90: percentile(times, 90) };
}

const json = (body, headers = {}) => ({ method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });

const persistTo = mkdtempSync(join(tmpdir(), "latchkey-bench-"));
const server = await startDevServer({ port: await freePort(), persistTo });
const url = server.url;
try {
  const newApp = async (settings) => {
    const res = await fetch(`${url}/admin/apps`, json({ settings }, { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` }));
    if (res.status !== 201) throw new Error(`creating an app: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const roomy = { rateLimits: { resetPerAddress: { limit: 10000, windowSeconds: 60 }, resetPerIp: { limit: 10000, windowSeconds: 60 } } };
  const app = await newApp(roomy);
  const guarded = await newApp({ ...roomy, enumerationProtection: true });
  const kii = (a) => ({ "X-Kii-AppID": a.appId, "X-Kii-AppKey": a.appKey });
  const register = async (a, loginName) => {
    const res = await fetch(`${url}/api/apps/${a.appId}/users`, json({ loginName, emailAddress: `${loginName}@example.com`, password: "bench password 1" }, kii(a)));
    if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  };
  await register(app, "bench-user");
  await register(guarded, "guarded-user");
  const tokenRes = await fetch(`${url}/api/oauth2/token`, json({ username: "bench-user", password: "bench password 1" }, kii(app)));
  const { access_token: token } = await tokenRes.json();

  const results = [];
  const bare = await measure("bare route (GET /)", () => fetch(`${url}/`));
  results.push(bare);
  results.push(await measure("get user (GET users/me)", () => fetch(`${url}/api/apps/${app.appId}/users/me`, { headers: { ...kii(app), Authorization: `Bearer ${token}` } })));
  results.push(
    await measure("request reset, email link (known user)", () =>
      fetch(`${url}/api/apps/${app.appId}/users/LOGIN_NAME:bench-user/password/request-reset`, { method: "POST", headers: kii(app) }),
    ),
  );
  const knownGuarded = await measure("enumeration-protected reset, known user", () =>
    fetch(`${url}/api/apps/${guarded.appId}/users/LOGIN_NAME:guarded-user/password/request-reset`, { method: "POST", headers: kii(guarded) }),
  );
  // One address each, as a prober compares them (a new address per request would also time the
  // creation of a fresh rate-limiter object).
  const unknownGuarded = await measure("enumeration-protected reset, unknown user", () =>
    fetch(`${url}/api/apps/${guarded.appId}/users/LOGIN_NAME:nobody-here/password/request-reset`, { method: "POST", headers: kii(guarded) }),
  );
  results.push(knownGuarded, unknownGuarded);
  const signIn = await measure(
    "sign-in (one scrypt verification)",
    () => fetch(`${url}/api/oauth2/token`, json({ username: "bench-user", password: "bench password 1" }, kii(app))),
    Math.min(SAMPLES, 20),
  );
  results.push(signIn);

  console.log(`\nLatchkey benchmark: wrangler dev on loopback, ${SAMPLES} sequential requests after ${WARMUP} warm-up (wall ms)\n`);
  console.log("route".padEnd(46), "median".padStart(8), "p90".padStart(8), "× bare".padStart(8));
  for (const r of results) {
    console.log(r.name.padEnd(46), r.median.toFixed(1).padStart(8), r.p90.toFixed(1).padStart(8), (r.median / bare.median).toFixed(2).padStart(8));
  }
  const hashMs = signIn.median - bare.median;
  console.log(`\nscrypt N=2^14 r=8 p=5 in workerd (sign-in median − bare median): ${hashMs.toFixed(1)} ms`);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) scryptSync("bench password 1", "0123456789abcdef", 32, { N: 2 ** 14, r: 8, p: 5, maxmem: 64 * 1024 * 1024 });
  console.log(`same parameters in Node ${process.versions.node} (reference): ${((performance.now() - t0) / 5).toFixed(1)} ms; working memory 128·N·r = ${(128 * 2 ** 14 * 8) / 2 ** 20} MiB per hash`);
  console.log(
    `enumeration protection: unknown/known reset median ratio ${(unknownGuarded.median / knownGuarded.median).toFixed(2)} (1.00 = indistinguishable)`,
  );

  const outdir = join(persistTo, "bundle");
  execFileSync(join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    stdio: "ignore",
  });
  const files = readdirSync(outdir).filter((f) => f.endsWith(".js"));
  const bytes = files.reduce((n, f) => n + statSync(join(outdir, f)).size, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(outdir, f))).length, 0);
  console.log(`Worker bundle: ${(bytes / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzip (Workers Free limit: 3 MiB gzip)\n`);
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}

// Imported hash formats and the bulk import: a second wrangler dev, after this one has stopped.
if (process.env.BENCH_HASHES !== "0") await import("./hashes.mjs");
