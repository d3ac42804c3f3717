import { applyD1Migrations, env } from "cloudflare:test";

// Applied to every test file's fresh databases (idempotent: already-applied migrations are
// skipped): the control database and each user-data shard get the same migrations, as
// `npm run migrate` gives them.
await Promise.all([env.DB, env.USERS_0!, env.USERS_1!].map((db) => applyD1Migrations(db, env.TEST_MIGRATIONS)));
