// Starts `wrangler dev` for local development and end-to-end tests: applies the local D1
// migrations, serves on loopback with development settings, and seeds the demo app.
// Development-only values live here and in nothing that is deployed.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");

export const DEV_ADMIN_TOKEN = "dev-admin-token";
export const DEMO_APP = {
  appId: "demoapp1",
  appKey: "demo-app-key-0123456789abcdef",
  clientId: "demo-client-id",
  clientSecret: "demo-client-secret",
  name: "Latchkey demo",
};

const quietEnv = () => ({ ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_SANITIZE: "true", CI: process.env.CI ?? "" });

export function applyMigrations(persistTo) {
  const args = ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  const result = spawnSync(wrangler, args, { cwd: root, env: { ...quietEnv(), CI: "true" }, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`wrangler d1 migrations apply failed:\n${result.stdout}\n${result.stderr}`);
}

/**
 * Starts wrangler dev and resolves once it answers; `stop()` ends it. `logFile`, when given, gets
 * everything wrangler and workerd print (tests count error lines in it).
 */
export async function startDevServer({ port = 8787, persistTo, inherit = false, vars = {}, logFile } = {}) {
  applyMigrations(persistTo);
  const varArgs = Object.entries({ ENVIRONMENT: "development", ADMIN_TOKEN: DEV_ADMIN_TOKEN, ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false", ...varArgs];
  if (persistTo) args.push("--persist-to", persistTo);
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
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(url + "/");
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
