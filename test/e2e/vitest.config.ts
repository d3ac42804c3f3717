// End-to-end tests: run in Node against a real `wrangler dev` (workerd) started by global-setup,
// driven by the official clients (kii-cloud-sdk, @zitadel/client) and headless Chromium.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.e2e.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    environment: "node",
    silent: "passed-only",
    reporters: ["default", "json"],
    outputFile: { json: ".tmp/results-e2e.json" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One wrangler dev serves every file; files run one after another to keep load low on 2 cores.
    fileParallelism: false,
  },
});
