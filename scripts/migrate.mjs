// `npm run migrate`: applies migrations/ to every D1 database the Worker binds: the control
// database (DB) and each user-data shard (USERS_0 … USERS_n), one `wrangler d1 migrations apply`
// per binding. One folder for all: a table a database does not use stays empty there
// (docs/storage.md). D1 records what ran in each database, so running it again changes nothing,
// and two bindings of one database (production's USERS_0 is DB) are migrated once in effect.
//
//   npm run migrate                          local state (.wrangler/state), the top level of wrangler.toml
//   npm run migrate -- --remote              Cloudflare, [env.production] (--remote implies --env production)
//   npm run migrate -- --remote --env NAME   another environment
//   npm run migrate -- --persist-to DIR      local state elsewhere (the e2e tests' wrangler dev)
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { root } from "./dev-server.mjs";

const SHARD = /^USERS_(\d+)$/;

/** The D1 bindings migrations go to, control database first; refuses gaps in USERS_n. */
export function migrationTargets(env, configPath = join(root, "wrangler.toml")) {
  const config = unstable_readConfig({ config: configPath, ...(env ? { env } : {}) }, {});
  const bindings = config.d1_databases.map((d) => d.binding);
  const shards = bindings.filter((b) => SHARD.test(b)).sort((a, b) => Number(SHARD.exec(a)[1]) - Number(SHARD.exec(b)[1]));
  shards.forEach((b, i) => {
    if (b !== `USERS_${i}`) throw new Error(`wrangler.toml${env ? ` [env.${env}]` : ""}: shard bindings must be USERS_0 … USERS_n without gaps; found ${shards.join(", ")}`);
  });
  if (!bindings.includes("DB")) throw new Error(`wrangler.toml${env ? ` [env.${env}]` : ""} declares no DB binding`);
  return ["DB", ...shards];
}

/** Runs `wrangler d1 migrations apply` for each binding; throws on the first failure. */
export function migrateAll({ remote = false, env = remote ? "production" : undefined, persistTo, config, quiet = false, extraEnv = {} } = {}) {
  const wrangler = join(root, "node_modules", ".bin", "wrangler");
  const targets = migrationTargets(env, config);
  for (const binding of targets) {
    const args = ["d1", "migrations", "apply", binding, remote ? "--remote" : "--local"];
    if (config) args.push("--config", config);
    if (env) args.push("--env", env);
    if (persistTo) args.push("--persist-to", persistTo);
    const result = spawnSync(wrangler, args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extraEnv },
      encoding: "utf8",
      stdio: quiet ? "pipe" : "inherit",
    });
    if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${result.status}):\n${result.stdout ?? ""}\n${result.stderr ?? ""}`);
  }
  return targets;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = new Set(["--remote", "--local", "--env", "--persist-to", value("--env"), value("--persist-to")]);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length > 0) {
    console.error(`npm run migrate: unknown argument(s) ${unknown.join(" ")}\nusage: npm run migrate [-- --remote [--env NAME]] [-- --persist-to DIR]`);
    process.exit(2);
  }
  const remote = argv.includes("--remote");
  try {
    const targets = migrateAll({ remote, env: value("--env") ?? (remote ? "production" : undefined), persistTo: value("--persist-to") });
    console.log(`Migrations applied to ${targets.join(", ")} (${remote ? "remote" : "local"}).`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
