// Foreign password hashes and bulk import (issue 12), against a real `wrangler dev` (workerd):
//  1. per format, the cost of one verification as a ratio to one native scrypt hash
//     (min / median / max over interleaved repeats; a sign-in with a wrong password costs one
//     look-up plus one verification, and the bare route's time is taken off both);
//  2. the rate of a large NDJSON import (users/s), its wall time and workerd's peak memory.
// Run by `npm run bench` after bench/run.mjs, or alone: `node bench/hashes.mjs`.
// BENCH_REPEATS (3), BENCH_HASH_SAMPLES (5 per repeat), BENCH_IMPORT_LINES (100000) tune it;
// BENCH_IMPORT_ONLY=1 skips the verifications (part 1) and runs only the import.
import { execFileSync } from "node:child_process";
import { createCipheriv, pbkdf2Sync, randomBytes, scryptSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argon2id } from "@noble/hashes/argon2.js";
import bcrypt from "bcryptjs";
import { DEV_ADMIN_TOKEN, startDevServer } from "../scripts/dev-server.mjs";

const REPEATS = Math.max(3, Number(process.env.BENCH_REPEATS ?? 3));
const SAMPLES = Number(process.env.BENCH_HASH_SAMPLES ?? 5);
const IMPORT_LINES = Number(process.env.BENCH_IMPORT_LINES ?? 100_000);
const IMPORT_ONLY = process.env.BENCH_IMPORT_ONLY === "1";
/** An import that answers no line for this long has stopped: fail with what was sent and read. */
const IMPORT_SILENCE_MS = 60_000;
/** The rate is also shown per this many answer lines, so that a slowdown shows where it starts. */
const IMPORT_STEP = 5_000;
const PASSWORD = "bench password 1";

const b64 = (bytes) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");
const cryptChars = (n) => Array.from(randomBytes(n), (b) => "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[b & 63]).join("");

// Hashes at the costs met in practice. A wrong password costs a full verification, so hashes
// whose value does not matter (only their parameters) are random bytes of the right shape.
function formats() {
  const salt = randomBytes(16);
  const firebase = {
    passwordHash: b64(randomBytes(64)) + "==",
    hashFormat: "firebase-scrypt",
    hashParams: { signerKey: b64(randomBytes(64)) + "==", saltSeparator: "Bw==", rounds: 8, memCost: 14, salt: b64(randomBytes(12)) },
  };
  return [
    ["bcrypt cost 10 (Auth0, Supabase, ZITADEL)", { passwordHash: bcrypt.hashSync(PASSWORD, 10) }],
    ["bcrypt cost 12", { passwordHash: bcrypt.hashSync(PASSWORD, 12) }],
    ["bcrypt cost 14 (bound)", { passwordHash: bcrypt.hashSync(PASSWORD, 14) }],
    ["argon2id m=19 MiB t=2 p=1 (OWASP)", { passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${b64(salt)}$${b64(argon2id(PASSWORD, salt, { m: 19456, t: 2, p: 1, dkLen: 32 }))}` }],
    ["argon2id m=64 MiB t=4 p=4 (bound)", { passwordHash: `$argon2id$v=19$m=65536,t=4,p=4$${b64(salt)}$${b64(randomBytes(32))}` }],
    ["scrypt PHC ln=15 r=8 p=1, 64-byte key", { passwordHash: `$scrypt$ln=15,r=8,p=1$${b64(salt)}$${b64(scryptSync(PASSWORD, salt, 64, { N: 2 ** 15, r: 8, p: 1, maxmem: 2 ** 26 }))}` }],
    ["Firebase scrypt rounds=8 memCost=14", firebase],
    ["PBKDF2-SHA256 100k (native path)", { passwordHash: `$pbkdf2-sha256$i=100000,l=32$${b64(salt)}$${b64(pbkdf2Sync(PASSWORD, salt, 100_000, 32, "sha256"))}` }],
    ["PBKDF2-SHA256 600k (OWASP; JS path)", { passwordHash: `$pbkdf2-sha256$i=600000,l=32$${b64(salt)}$${b64(randomBytes(32))}` }],
    ["Django pbkdf2_sha256 1.2M (bound; JS)", { passwordHash: `pbkdf2_sha256$1200000$${cryptChars(22)}$${b64(randomBytes(32))}=` }],
    ["sha512-crypt 5000 (default)", { passwordHash: `$6$${cryptChars(16)}$${cryptChars(86)}` }],
    ["sha512-crypt 100k", { passwordHash: `$6$rounds=100000$${cryptChars(16)}$${cryptChars(86)}` }],
    ["sha512-crypt 1M (bound)", { passwordHash: `$6$rounds=1000000$${cryptChars(16)}$${cryptChars(86)}` }],
    ["md5-crypt", { passwordHash: `$1$${cryptChars(8)}$${cryptChars(22)}` }],
  ];
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const admin = { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` };

/** Peak resident memory of workerd processes under `pid` (Linux /proc), in MiB, or null. */
function workerdPeakMiB(pid) {
  if (!existsSync(`/proc/${pid}`)) return null;
  try {
    const pids = execFileSync("ps", ["-e", "-o", "pid=,ppid=,comm="], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    const children = (p) => pids.filter(([, pp]) => pp === String(p));
    let peak = 0;
    const walk = (p) => {
      for (const [c, , comm] of children(p)) {
        if (comm.startsWith("workerd")) {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c}/status`, "utf8"));
          if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        }
        walk(c);
      }
    };
    walk(pid);
    return peak || null;
  } catch {
    return null;
  }
}

/**
 * Posts an import and reads its answer line by line while the body is still being sent (fetch
 * resolves at the answer's headers; the answer must be read as it comes, or a server waiting to
 * write it stops reading the body: docs/migrating.md). An import that pauses at its budget of D1
 * queries ({"paused": true, "nextLine": N}) is sent again from the start with ?fromLine=N, as
 * docs/migrating.md tells clients to, until it ends with its summary. `body` is the file (a
 * string) or a function making a fresh stream of it for each request; `progress` counts the lines
 * sent so far. Returns the totals over every request, how many requests it took, and the time at
 * every IMPORT_STEP answer lines.
 */
async function importLines(url, appId, body, progress = () => null) {
  const start = performance.now();
  const marks = [];
  const totals = { created: 0, updated: 0, refused: 0 };
  let read = 0;
  let fromLine = 1;
  for (let requests = 1; ; requests++) {
    const abort = new AbortController();
    let heard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - heard > IMPORT_SILENCE_MS) abort.abort(new Error(`import: no answer line for ${IMPORT_SILENCE_MS / 1000} s after ${read} lines read, ${progress() ?? "?"} sent`));
    }, 1000);
    try {
      const res = await fetch(`${url}/admin/apps/${appId}/users:import?fromLine=${fromLine}`, {
        method: "POST",
        headers: { ...admin, "Content-Type": "application/x-ndjson" },
        body: typeof body === "function" ? body() : body,
        duplex: "half",
        signal: abort.signal,
      });
      if (res.status !== 200) throw new Error(`import: ${res.status} ${await res.text()}`);
      const decoder = new TextDecoder();
      let rest = "";
      let last = "";
      for await (const chunk of res.body) {
        heard = Date.now();
        const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
        rest = parts.pop();
        for (const line of parts) {
          if (!line) continue;
          last = line;
          if (line.startsWith('{"line"') && ++read % IMPORT_STEP === 0) marks.push({ lines: read, seconds: (performance.now() - start) / 1000 });
        }
      }
      if (rest) last = rest;
      const end = JSON.parse(last);
      const counts = end.summary ?? (end.paused ? end.counts : null);
      if (!counts) throw new Error(`import did not finish: ${last.slice(0, 500)}`);
      for (const k of Object.keys(totals)) totals[k] += counts[k];
      if (end.summary) return { ...totals, marks, requests };
      fromLine = end.nextLine;
    } catch (e) {
      throw abort.signal.aborted ? abort.signal.reason : e;
    } finally {
      clearInterval(watchdog);
    }
  }
}

/** users/s over the first `n` answer lines (from the marks), or null when the import was shorter. */
const rateAt = (marks, n) => {
  const mark = marks.find((m) => m.lines === n);
  return mark ? mark.lines / mark.seconds : null;
};

const persistTo = mkdtempSync(join(tmpdir(), "latchkey-bench-hashes-"));
const server = await startDevServer({ port: await freePort(), persistTo });
const url = server.url;
try {
  const appRes = await fetch(`${url}/admin/apps`, {
    method: "POST",
    headers: { ...admin, "Content-Type": "application/json" },
    // Every timed sign-in comes from this one address: the per-IP sign-in throttle is lifted.
    body: JSON.stringify({ settings: { rateLimits: { signInPerIp: { limit: 10_000, windowSeconds: 60 } } } }),
  });
  const app = await appRes.json();
  const kii = { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey, "Content-Type": "application/json" };
  const only = process.env.BENCH_FORMATS ? new RegExp(process.env.BENCH_FORMATS, "i") : null;
  const list = formats().filter(([name]) => !only || only.test(name));
  // One user per format and sample, so that no account sees more than REPEATS wrong passwords.
  const users = [["native scrypt N=2^14 r=8 p=5", null], ...list];
  const lines = [];
  users.forEach(([, fields], f) => {
    for (let s = 0; s < SAMPLES; s++) lines.push(JSON.stringify({ loginName: `hash-${f}-${s}`, ...(fields ?? { password: PASSWORD }) }));
  });
  const made = await importLines(url, app.appId, lines.join("\n") + "\n");
  if (made.refused) throw new Error(`bench users refused: ${JSON.stringify(made)}`);

  const signIn = async (username) => {
    const start = performance.now();
    const res = await fetch(`${url}/api/oauth2/token`, { method: "POST", headers: kii, body: JSON.stringify({ username, password: "wrong password" }) });
    await res.arrayBuffer();
    if (res.status !== 400) throw new Error(`${username}: expected 400, got ${res.status}`);
    return performance.now() - start;
  };
  const bare = async () => {
    const start = performance.now();
    await (await fetch(`${url}/`)).arrayBuffer();
    return performance.now() - start;
  };
  for (let i = 0; i < 3 && !IMPORT_ONLY; i++) await signIn("hash-0-0"), await bare();
  const ratios = users.map(() => []);
  const ms = users.map(() => []);
  for (let r = 0; r < REPEATS && !IMPORT_ONLY; r++) {
    const bareTimes = [];
    for (let k = 0; k < 5; k++) bareTimes.push(await bare());
    const bareMs = median(bareTimes);
    const perFormat = [];
    for (let f = 0; f < users.length; f++) {
      const times = [];
      for (let s = 0; s < SAMPLES; s++) times.push(await signIn(`hash-${f}-${s}`));
      if (r === 0) console.error(`  ${users[f][0]}: ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
      perFormat.push(median(times) - bareMs);
    }
    perFormat.forEach((t, f) => {
      ms[f].push(t);
      ratios[f].push(t / perFormat[0]);
    });
    console.error(`repeat ${r + 1}/${REPEATS}: ${perFormat.map((t, f) => `${users[f][0]} ${t.toFixed(0)} ms`).join("; ")}`);
  }
  if (!IMPORT_ONLY) {
    console.log(`\nForeign hash verification in workerd (wrong-password sign-in − bare route), ${REPEATS} interleaved repeats × ${SAMPLES} samples\n`);
    console.log("format".padEnd(42), "ms (med)".padStart(9), "× native: min".padStart(15), "median".padStart(8), "max".padStart(8));
    users.forEach(([name], f) => {
      const rs = [...ratios[f]].sort((a, b) => a - b);
      console.log(name.padEnd(42), median(ms[f]).toFixed(1).padStart(9), rs[0].toFixed(2).padStart(15), median(rs).toFixed(2).padStart(8), rs[rs.length - 1].toFixed(2).padStart(8));
    });
  }

  // The import: IMPORT_LINES users with a bcrypt hash each, streamed from a generator so the
  // client holds no more of the file than the server does.
  const hash = bcrypt.hashSync(PASSWORD, 10);
  const encoder = new TextEncoder();
  let i = 0;
  // A fresh stream of the whole file for each request (a paused import is sent again from line 1).
  const body = () => {
    i = 0;
    return new ReadableStream({
      pull(controller) {
        if (i >= IMPORT_LINES) return controller.close();
        let chunk = "";
        for (let n = 0; n < 500 && i < IMPORT_LINES; n++, i++) {
          chunk += JSON.stringify({ loginName: `bulk-${i}`, email: `bulk-${i}@example.com`, emailVerified: true, displayName: `Bulk user ${i}`, passwordHash: hash }) + "\n";
        }
        controller.enqueue(encoder.encode(chunk));
      },
    });
  };
  const before = workerdPeakMiB(process.pid);
  const start = performance.now();
  const totals = await importLines(url, app.appId, body, () => i);
  const seconds = (performance.now() - start) / 1000;
  const after = workerdPeakMiB(process.pid);
  console.log(
    `\nBulk import: ${IMPORT_LINES} NDJSON lines (bcrypt hashes) → created ${totals.created}, refused ${totals.refused} in ${seconds.toFixed(1)} s = ${(IMPORT_LINES / seconds).toFixed(0)} users/s, ${totals.requests} request${totals.requests === 1 ? "" : "s"} (resumed with ?fromLine= at each pause)`,
  );
  // Each stretch of IMPORT_STEP lines: a rate that falls as the shard fills would show here.
  const steps = totals.marks.map((m, k) => IMPORT_STEP / (m.seconds - (k ? totals.marks[k - 1].seconds : 0)));
  const at20k = rateAt(totals.marks, 20_000);
  if (steps.length) {
    console.log(
      `users/s per ${IMPORT_STEP} lines: first ${steps[0].toFixed(0)}, min ${Math.min(...steps).toFixed(0)}, median ${median(steps).toFixed(0)}, max ${Math.max(...steps).toFixed(0)}, last ${steps.at(-1).toFixed(0)}` +
        (at20k ? `; over the first 20,000 lines ${at20k.toFixed(0)} users/s` : ""),
    );
  }
  console.log(`workerd peak resident memory: ${before?.toFixed(0) ?? "n/a"} MiB before, ${after?.toFixed(0) ?? "n/a"} MiB after (whole process, local D1 included)`);
  const rerunStart = performance.now();
  const rerun = () => {
    i = 0;
    return new ReadableStream({
      pull(controller) {
        if (i >= Math.min(IMPORT_LINES, 10_000)) return controller.close();
        let chunk = "";
        for (let n = 0; n < 500 && i < Math.min(IMPORT_LINES, 10_000); n++, i++) chunk += JSON.stringify({ loginName: `bulk-${i}`, displayName: `Renamed ${i}` }) + "\n";
        controller.enqueue(encoder.encode(chunk));
      },
    });
  };
  const again = await importLines(url, app.appId, rerun, () => i);
  const rerunSeconds = (performance.now() - rerunStart) / 1000;
  console.log(`Rerun (updates) of the first ${again.updated} lines: ${rerunSeconds.toFixed(1)} s = ${(again.updated / rerunSeconds).toFixed(0)} users/s, ${again.requests} request${again.requests === 1 ? "" : "s"}\n`);
} catch (e) {
  console.error(`wrangler dev said:\n${server.output().slice(-3000)}`);
  throw e;
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
