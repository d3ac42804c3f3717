import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error: plain ESM script without types
import { DEMO_APP, DEV_ADMIN_TOKEN, seedDemoApp, startDevServer } from "../../scripts/dev-server.mjs";

declare module "vitest" {
  interface ProvidedContext {
    baseUrl: string;
    adminToken: string;
    /** wrangler dev's --persist-to directory, for tests that must edit local state (wrangler d1 execute --local). */
    persistTo: string;
    /** File that receives everything wrangler dev prints, for tests that count log lines. */
    devServerLog: string;
    demoApp: { appId: string; appKey: string; clientId: string; clientSecret: string; orgId: string };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject) {
  const persistTo = mkdtempSync(join(tmpdir(), "latchkey-e2e-"));
  const devServerLog = join(persistTo, "wrangler-dev.log");
  const server = await startDevServer({ port: await freePort(), persistTo, logFile: devServerLog });
  const seeded = await seedDemoApp(server.url);
  project.provide("baseUrl", server.url);
  project.provide("adminToken", DEV_ADMIN_TOKEN);
  project.provide("persistTo", persistTo);
  project.provide("devServerLog", devServerLog);
  project.provide("demoApp", { ...DEMO_APP, orgId: seeded.orgId });
  return async () => {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  };
}
