// Starts `wrangler dev` for local development and end-to-end tests: applies the local D1
// migrations to the control database and both local shards, serves (on loopback unless told otherwise) with development settings, and seeds the demo app.
// Development-only values live here and in nothing that is deployed.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");

export const DEV_ADMIN_TOKEN = "dev-admin-token";
/** Seals queued messages locally; production refuses this value (src/config/runtime.ts DEV_QUEUE_KEY). */
export const DEV_QUEUE_KEY = "dev-queue-key-not-secret-0123456789abcdef";
export const DEMO_APP = {
  appId: "demoapp1",
  appKey: "demo-app-key-0123456789abcdef",
  clientId: "demo-client-id",
  clientSecret: "demo-client-secret",
  name: "Latchkey demo",
};

// No metrics, and no download of Request.cf data at start (Miniflare otherwise fetches
// workers.cloudflare.com/cf.json): local runs never reach the internet.
export const offlineEnv = () => ({ WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" });
const quietEnv = () => ({ ...process.env, ...offlineEnv(), WRANGLER_LOG_SANITIZE: "true", CI: process.env.CI ?? "" });

/** The local migrations, for the control database and every shard (scripts/migrate.mjs). */
export async function applyMigrations(persistTo, config) {
  const { migrateAll } = await import("./migrate.mjs");
  migrateAll({ persistTo, config, quiet: true, extraEnv: { ...offlineEnv(), CI: "true", WRANGLER_LOG_SANITIZE: "true" } });
}

const WILDCARD = new Set(["0.0.0.0", "::", "*"]);

/** The first non-internal IPv4 address of this machine: what a phone on the same LAN can reach. */
export function lanAddress() {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/**
 * Starts wrangler dev and resolves once it answers; `stop()` ends it. `host` is the address to
 * listen on (0.0.0.0: every interface, for a phone on the LAN). `url` is the address links in
 * messages use (PUBLIC_URL): given, else the listening address (the LAN address for 0.0.0.0).
 * `logFile`, when given, gets everything wrangler and workerd print (tests count error lines in it).
 * `config` names another wrangler configuration than the repository's (the shard bench's).
 */
export async function startDevServer({ port = 8787, host = "127.0.0.1", publicUrl, persistTo, inherit = false, vars = {}, logFile, config } = {}) {
  await applyMigrations(persistTo, config);
  const reachable = WILDCARD.has(host) ? lanAddress() : host;
  const url = (publicUrl ?? `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`).replace(/\/+$/, "");
  const local = `http://${WILDCARD.has(host) ? "127.0.0.1" : reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
  const varArgs = Object.entries({ ENVIRONMENT: "development", ADMIN_TOKEN: DEV_ADMIN_TOKEN, PUBLIC_URL: url, QUEUE_KEY: DEV_QUEUE_KEY, ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const args = ["dev", "--ip", host, "--port", String(port), "--show-interactive-dev-session=false", ...varArgs];
  if (persistTo) args.push("--persist-to", persistTo);
  if (config) args.push("--config", config);
  const child = spawn(wrangler, args, { cwd: root, env: quietEnv(), stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"] });
  let output = "";
  if (!inherit) {
    const log = logFile ? createWriteStream(logFile, { flags: "a" }) : null;
    const capture = (d) => {
      // Only the start-up output is kept in memory (for the error message); the log file gets it all.
      if (output.length < 1_000_000) output += d;
      log?.write(d);
    };
    child.stdout.on("data", capture);
    child.stderr.on("data", capture);
    child.once("exit", () => log?.end());
  }
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(local + "/");
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
    }
    await sleep(250);
  }
  return {
    url,
    /** Where this machine reaches it (loopback when listening on every interface). */
    local,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/** Creates the demo app if it is not there yet (development only: /dev/* is 404 elsewhere). */
export async function seedDemoApp(url) {
  const res = await fetch(`${url}/dev/seed`, {
    method: "POST",
    headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(DEMO_APP),
  });
  if (!res.ok) throw new Error(`seeding the demo app failed: ${res.status} ${await res.text()}`);
  return res.json();
}
