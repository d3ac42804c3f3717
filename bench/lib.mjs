// Shared by the benches: a closed-loop load generator, summaries over repeats, ratio tables, the
// bundle report. Every figure is a ratio to something measured in the same run, repeated, and
// shown as min / median / max, because these machines are shared and absolute numbers drift.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";

export const envNumber = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not ${raw}`);
  return n;
};

export const envList = (name, fallback) => (process.env[name] ? process.env[name].split(",").map(Number) : fallback);

/** Environment for every wrangler we start: no telemetry, no network look-ups. */
export const wranglerEnv = () => ({
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_LOG_SANITIZE: "true",
  CI: "true",
});

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Starts `wrangler dev` for some other Worker (a peer, a probe) and waits until `/` answers. */
export async function startWrangler({ wrangler, cwd, config, port, persistTo }) {
  const args = ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false", "--persist-to", persistTo];
  const child = spawn(wrangler, args, { cwd, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev (${config}) exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(url + "/");
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`wrangler dev (${config}) did not answer within 120 s:\n${output}`);
    }
    await sleep(250);
  }
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

export const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
export const median = (xs) => percentile(xs, 50);

/**
 * Closed-loop load: `concurrency` clients, each sending its next request as soon as the previous
 * answer is read, until `requests` answers came back. `send(i)` makes request i and returns the
 * fetch promise; an answer other than `expect(status)` fails the phase (a bench that silently
 * times 429s or 500s measures nothing).
 */
export async function load(name, send, { concurrency, requests, warmup = Math.min(concurrency, 8), expect = (s) => s < 400 }) {
  let next = 0;
  const latencies = [];
  const check = async (res, i) => {
    const body = await res.arrayBuffer();
    if (!expect(res.status)) throw new Error(`${name}: request ${i} answered HTTP ${res.status}: ${new TextDecoder().decode(body).slice(0, 300)}`);
  };
  // Warm-up: sequential, untimed (first use of a route compiles code paths and opens objects).
  for (let i = 0; i < warmup; i++) await check(await send(next, true), next++);
  const start = performance.now();
  let issued = 0;
  const client = async () => {
    while (issued < requests) {
      issued++;
      const i = next++;
      const t0 = performance.now();
      const res = await send(i, false);
      await check(res, i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const wallMs = performance.now() - start;
  return {
    name,
    concurrency,
    requests: latencies.length,
    rps: (latencies.length / wallMs) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    nextIndex: next,
  };
}

/** min / median / max of a list of numbers, formatted. */
export const spread = (xs, digits = 2) => {
  if (xs.length === 0) return "n/a";
  const sorted = [...xs].sort((a, b) => a - b);
  const f = (x) => x.toFixed(digits);
  return `${f(sorted[0])} / ${f(median(sorted))} / ${f(sorted[sorted.length - 1])}`;
};
export const med = (xs) => (xs.length ? median(xs) : NaN);

export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Puts `order` in a different rotation per repeat, so no route always runs first or last. */
export const rotate = (order, by) => order.map((_, i) => order[(i + by) % order.length]);

const packageOf = (path) => {
  const at = path.lastIndexOf("node_modules/");
  if (at < 0) return path.startsWith("src/") || path.includes("/src/") ? "(our code: src/)" : "(other: wrangler shims, virtual modules)";
  const rest = path.slice(at + "node_modules/".length).split("/");
  return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
};

/**
 * Builds the Worker as `wrangler deploy --dry-run [--env ENV]` would upload it, and reports its size and gzip
 * size and which packages its bytes come from (esbuild's metafile: bytes each input contributes
 * to the minified output).
 */
export async function bundleReport({ wrangler, cwd, outdir, config, env, top = 12 }) {
  const metafile = join(outdir, "meta.json");
  const output = await new Promise((resolve, reject) => {
    const args = ["deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile, ...(config ? ["--config", config] : []), ...(env ? ["--env", env] : [])];
    const child = spawn(wrangler, args, { cwd, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => (code === 0 ? resolve(output) : reject(new Error(`wrangler deploy --dry-run failed (${code}):\n${output}`))));
  });
  const files = readdirSync(outdir).filter((f) => f.endsWith(".js") || f.endsWith(".mjs"));
  const bytes = files.reduce((n, f) => n + statSync(join(outdir, f)).size, 0);
  const gzip = files.reduce((n, f) => n + gzipSync(readFileSync(join(outdir, f)), { level: 9 }).length, 0);
  const meta = JSON.parse(readFileSync(metafile, "utf8"));
  const byPackage = new Map();
  for (const out of Object.values(meta.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(out.inputs ?? {})) {
      const pkg = packageOf(path);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  const total = [...byPackage.values()].reduce((a, b) => a + b, 0);
  const packages = [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, b]) => ({ name, bytes: b, share: b / total }));
  // Wrangler's own figure, as `wrangler deploy` prints it ("Total Upload: … / gzip: …").
  const wranglerGzip = /gzip:\s*([\d.]+)\s*KiB/.exec(output)?.[1];
  return { bytes, gzip, wranglerGzipKiB: wranglerGzip ? Number(wranglerGzip) : null, packages, attributed: total };
}

export const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;

export function printBundle(title, report) {
  const wranglerSays = report.wranglerGzipKiB === null ? "" : `; wrangler reports ${report.wranglerGzipKiB.toFixed(0)} KiB gzip`;
  console.log(`\n${title}: ${kib(report.bytes)} minified, ${kib(report.gzip)} gzip at level 9${wranglerSays} (Workers Free limit: 3 MiB gzip)`);
  console.log(
    table(
      ["package (bytes in the minified output)", "KiB", "share"],
      report.packages.map((p) => [p.name, (p.bytes / 1024).toFixed(1), `${(p.share * 100).toFixed(1)}%`]),
    ),
  );
}
