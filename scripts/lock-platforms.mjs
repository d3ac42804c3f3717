// Keeps package-lock.json complete for `npm ci`. The registry these machines reach lacks some
// platform builds of workerd (macOS, Windows) for the version wrangler pins, so `npm install`
// here leaves them out of the lock, and `npm ci` then refuses the lock as out of sync.
//   node scripts/lock-platforms.mjs          adds the missing entries (run after npm install)
//   node scripts/lock-platforms.mjs --check  fails if any are missing (run by npm test)
import { readFileSync, writeFileSync } from "node:fs";

const PLATFORMS = {
  "darwin-64": ["darwin", "x64"],
  "darwin-arm64": ["darwin", "arm64"],
  "linux-64": ["linux", "x64"],
  "linux-arm64": ["linux", "arm64"],
  "windows-64": ["win32", "x64"],
};

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const missing = [];
for (const [path, entry] of Object.entries(lock.packages)) {
  if (!/(^|\/)node_modules\/workerd$/.test(path)) continue;
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const [os, cpu] = PLATFORMS[name.replace("@cloudflare/workerd-", "")] ?? [];
    if (!os) throw new Error(`unknown workerd platform package ${name}`);
    // The shape npm writes for the builds it can resolve; npm checks integrity when it downloads one.
    missing.push([key, { version, cpu: [cpu], dev: entry.dev, license: entry.license, optional: true, os: [os], engines: entry.engines }]);
  }
}

if (process.argv.includes("--check")) {
  if (missing.length) {
    console.error(`package-lock.json lacks ${missing.map(([k]) => k.replace("node_modules/", "")).join(", ")}: npm ci would refuse it.\nRun: node scripts/lock-platforms.mjs`);
    process.exit(1);
  }
} else if (missing.length) {
  const entries = [...Object.entries(lock.packages), ...missing].sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)));
  lock.packages = Object.fromEntries(entries);
  writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
  console.log(`added ${missing.length} entries to package-lock.json`);
}
