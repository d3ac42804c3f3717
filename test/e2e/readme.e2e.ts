// The README's code runs as written. Every ```js block marked `// readme: runnable` is saved as an
// ES module in the project (so its imports resolve from node_modules) and run with Node against
// the shared dev server, with only the server's address swapped for this run's. The settings
// examples (one JSON object per line) are each accepted by the operator API.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { baseUrl, createE2eApp } from "./helpers";

const root = new URL("../..", import.meta.url).pathname;
const readme = readFileSync(join(root, "README.md"), "utf8");
const README_SERVER = "http://127.0.0.1:8787";
const MARK = "// readme: runnable";

const blocks = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
const runnable = blocks.filter((b) => b.lang === "js" && b.code.startsWith(MARK));
const settingsExamples = blocks
  .filter((b) => b.lang === "json")
  .flatMap((b) => b.code.split("\n"))
  .filter((line) => /^\{"(email|sms)":/.test(line));

const dir = join(root, ".tmp", "readme");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README", () => {
  it("marks its Kii and ZITADEL snippets runnable", () => {
    expect(runnable.map((b) => (b.code.includes("kii-cloud-sdk") ? "kii" : b.code.includes("@zitadel/client") ? "zitadel" : "other"))).toEqual(["kii", "zitadel"]);
  });

  it("uses the demo app's credentials as npm start seeds them", () => {
    const demo = inject("demoApp");
    for (const value of [demo.appId, demo.appKey, demo.clientId, demo.clientSecret]) expect(readme).toContain(`"${value}"`);
  });

  it.each(runnable.map((b, i) => [i + 1, b.code] as const))("snippet %i runs as written", async (index, code) => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `snippet-${index}.mjs`);
    writeFileSync(file, code.replaceAll(README_SERVER, baseUrl()));
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: root, timeout: 45_000 });
    expect(stdout).toMatch(/signed in with the new one|has a new password/);
  });

  it.each(settingsExamples.map((line) => [line] as const))("accepts the settings example %s", async (line) => {
    const example = JSON.parse(line) as Record<string, unknown>;
    // Placeholders a reader must fill in (a webhook secret from openssl) cannot be sent as they are.
    if (line.includes("<")) return;
    await expect(createE2eApp({ delivery: example })).resolves.toMatchObject({ appId: expect.any(String) });
  });
});
