// Tests that run inside workerd with real (local) D1, KV, Durable Objects and Queues.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Miniflare would otherwise download Request.cf data from workers.cloudflare.com at start; the
// tests never reach the internet.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        remoteBindings: false,
        miniflare: {
          // PUBLIC_URL: links in messages point here whatever Host a test request names.
          bindings: { ENVIRONMENT: "development", ADMIN_TOKEN: "test-admin-token", PUBLIC_URL: "http://latchkey.test",
            QUEUE_KEY: "test-queue-key-0123456789abcdef0123456789", TEST_MIGRATIONS: migrations },
          // Deliver queued messages almost at once, so tests waiting on the outbox stay quick.
          queueConsumers: { "latchkey-delivery": { maxBatchTimeout: 0.05 } },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**", "node_modules/**"],
      setupFiles: ["./test/setup.ts"],
      // Log lines of passing tests (every security event is one) stay out of the output; a failing
      // test still shows its own.
      silent: "passed-only" as const,
      reporters: ["default", "json"],
      outputFile: { json: ".tmp/results-workers.json" },
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
