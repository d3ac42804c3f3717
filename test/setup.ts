import { applyD1Migrations, env } from "cloudflare:test";

// Applied to every test file's fresh D1 (idempotent: already-applied migrations are skipped).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
