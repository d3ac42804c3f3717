// The bulk import's budget of D1 queries per request (D1 refuses queries past 1,000 per Worker
// invocation on Workers Paid, 50 on Free): an import that reaches it pauses with the line to
// resume from, and ?fromLine= resumes there. docs/migrating.md.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_IMPORT_QUERY_BUDGET, readRuntimeConfig } from "../../src/config/runtime";
import { ADMIN_TOKEN, call, createApp, ORIGIN, shardOf, type TestApp } from "../helpers";
import { traced } from "../io-trace";
import { unique } from "../kii/password-helpers";

type Line = { line?: number; status?: string; reason?: string; summary?: Counts; paused?: true; nextLine?: number; counts?: Counts; message?: string };
type Counts = { created: number; updated: number; refused: number };

const BCRYPT = "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2";

const ndjson = (lines: (string | object)[]) => lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";

const init = (body: string): RequestInit => ({
  method: "POST",
  headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/x-ndjson" },
  body,
});
const importRequest = (app: TestApp, body: string, query = "") => new Request(`${ORIGIN}/admin/apps/${app.appId}/users:import${query}`, init(body));

async function answer(res: Response): Promise<Line[]> {
  const text = new TextDecoder().decode(await res.arrayBuffer());
  expect(res.status, text).toBe(200);
  return text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
}

const post = async (app: TestApp, body: string, query = "") => answer(await call(`/admin/apps/${app.appId}/users:import${query}`, init(body)));

/**
 * The import through the Worker with other variables, counting every D1 call made on the shards
 * (prepared statements run alone, and batches): what D1's per-invocation limit counts.
 */
async function postCounting(app: TestApp, body: string, query: string, vars: Record<string, string> = {}): Promise<{ lines: Line[]; shardQueries: number }> {
  // traced() reads the answer before waiting on the context: the import writes as the answer is taken.
  const { res, body: text, trace } = await traced(importRequest(app, body, query), vars);
  const lines = await answer(new Response(text, { status: res.status }));
  return { lines, shardQueries: trace.calls.filter((c) => /^USERS_\d+$/.test(c.binding)).length };
}

/** The app's users as the import leaves them, without what differs between runs (ids, times). */
async function usersOf(app: TestApp) {
  const { results } = await (await shardOf(app))
    .prepare("SELECT login_name, email, email_verified, display_name, password_hash, disabled FROM users WHERE app_id = ? ORDER BY login_name")
    .bind(app.appId)
    .all();
  return results;
}

/** 100 lines: users, with a blank line (20), a line that is not JSON (45) and a refused hash (70). */
function file(a: string): string {
  const lines: (string | object)[] = [];
  for (let n = 1; n <= 100; n++) {
    if (n === 20) lines.push("");
    else if (n === 45) lines.push("{not json");
    else if (n === 70) lines.push({ loginName: `${a}-${n}`, passwordHash: "md5:5f4dcc3b5aa765d61d8327deb882cf99" });
    else lines.push({ loginName: `${a}-${n}`, email: `${a}-${n}@example.com`, emailVerified: true, displayName: `User ${n}`, passwordHash: BCRYPT, disabled: n % 7 === 0 });
  }
  return ndjson(lines);
}

describe("users:import query budget", () => {
  it("pauses at the budget with the first line not imported, and ?fromLine= imports the rest", async () => {
    const app = await createApp();
    const a = unique("pause");
    const body = file(a);
    // Schema check 1 + first batch (look-up, write) 2: the next batch could need 3 more.
    const first = await post(app, body, "?maxQueries=4");
    const last = first.pop()!;
    // The first batch is lines 1–33 (line 20 is blank): the file's line numbers, not entries.
    expect(last).toEqual({ paused: true, nextLine: 34, counts: { created: 32, updated: 0, refused: 0 }, message: expect.stringMatching(/per-request query limit.*\?fromLine=34$/) });
    expect(first.map((l) => l.line)).toEqual(Array.from({ length: 33 }, (_, i) => i + 1).filter((n) => n !== 20));
    expect(first.every((l) => l.status === "created")).toBe(true);
    // Exactly the users of the lines before nextLine are stored.
    const stored = (await usersOf(app)).map((u) => u.login_name);
    expect(stored.sort()).toEqual(Array.from({ length: 33 }, (_, i) => `${a}-${i + 1}`).filter((n) => n !== `${a}-20`).sort());

    const rest = await post(app, body, "?fromLine=34");
    const summary = rest.pop()!;
    expect(summary).toEqual({ summary: { created: 65, updated: 0, refused: 2 } });
    expect(rest.map((l) => l.line)).toEqual(Array.from({ length: 67 }, (_, i) => i + 34));
    expect(rest.find((l) => l.line === 45)).toMatchObject({ status: "refused", reason: "not a JSON object" });
    expect(rest.find((l) => l.line === 70)).toMatchObject({ status: "refused" });

    // The same file in one request leaves the same users.
    const once = await createApp();
    const oneShot = await post(once, body);
    expect(oneShot.pop()).toEqual({ summary: { created: 97, updated: 0, refused: 2 } });
    expect(await usersOf(app)).toEqual(await usersOf(once));
    expect((await usersOf(app)).length).toBe(97);
  });

  it("resumes page by page until done, each request within its budget of D1 calls", async () => {
    const app = await createApp();
    const once = await createApp();
    const a = unique("pages");
    const body = file(a);
    const seen: number[] = [];
    let fromLine = 1;
    let requests = 0;
    let final: Line | undefined;
    while (requests < 20) {
      requests++;
      const { lines, shardQueries } = await postCounting(app, body, `?maxQueries=6&fromLine=${fromLine}`);
      expect(shardQueries).toBeLessThanOrEqual(6);
      const last = lines.pop()!;
      seen.push(...lines.map((l) => l.line!));
      if (!last.paused) {
        final = last;
        break;
      }
      expect(last.nextLine).toBeGreaterThan(fromLine);
      fromLine = last.nextLine!;
    }
    // 6 queries: schema check + 2 batches of 32 entries = 64 lines a request (65 over the blank line).
    expect(requests).toBe(2);
    expect(final?.summary).toEqual({ created: 34, updated: 0, refused: 1 });
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1).filter((n) => n !== 20));
    await post(once, body);
    expect(await usersOf(app)).toEqual(await usersOf(once));
  });

  it("counts an unbudgeted one-shot import's D1 calls as the budget does: 2 per batch of 32, plus the schema check", async () => {
    const app = await createApp();
    const { lines, shardQueries } = await postCounting(app, file(unique("count")), "");
    expect(lines.pop()).toEqual({ summary: { created: 97, updated: 0, refused: 2 } });
    // 99 entries = 4 batches (32, 32, 32, 3): 8 calls, plus at most one schema check.
    expect(shardQueries).toBeGreaterThanOrEqual(8);
    expect(shardQueries).toBeLessThanOrEqual(9);
  });

  it("stops replaying a failed batch when the budget runs out, at the first line not replayed", async () => {
    const app = await createApp();
    const a = unique("replay");
    expect((await post(app, ndjson([{ loginName: `${a}-1`, email: `${a}-1@example.com` }, { loginName: `${a}-2`, email: `${a}-2@example.com` }]))).pop()).toMatchObject({
      summary: { created: 2 },
    });
    const body = ndjson([
      { loginName: `${a}-1`, email: `${a}-2@example.com` }, // takes another user's email: the batch fails
      { loginName: `${a}-2`, displayName: "Still fine" },
      { loginName: `${a}-3`, email: `${a}-3@example.com` },
    ]);
    // Schema 1, look-up 1, failed write 1, then one line replayed alone: the budget of 4 is spent.
    const first = await post(app, body, "?maxQueries=4");
    expect(first.pop()).toMatchObject({ paused: true, nextLine: 2, counts: { created: 0, updated: 0, refused: 1 } });
    expect(first).toEqual([expect.objectContaining({ line: 1, status: "refused" })]);
    expect((await usersOf(app)).map((u) => u.display_name)).toEqual([null, null]);
    const rest = await post(app, body, "?maxQueries=4&fromLine=2");
    expect(rest.pop()).toEqual({ summary: { created: 1, updated: 1, refused: 0 } });
    expect(rest.map((l) => [l.line, l.status])).toEqual([
      [2, "updated"],
      [3, "created"],
    ]);
  });

  it("never raises the deployment's budget (IMPORT_D1_QUERY_BUDGET) per request", async () => {
    const app = await createApp();
    const body = file(unique("cap"));
    for (const query of ["", "?maxQueries=1000"]) {
      const { lines, shardQueries } = await postCounting(app, body, query, { IMPORT_D1_QUERY_BUDGET: "4" });
      expect(lines.pop()).toMatchObject({ paused: true, nextLine: 34 });
      expect(shardQueries).toBeLessThanOrEqual(4);
    }
    const lower = await postCounting(app, body, "?maxQueries=4&fromLine=34", { IMPORT_D1_QUERY_BUDGET: "100" });
    expect(lower.lines.pop()).toMatchObject({ paused: true, nextLine: 66 }); // lines 34–65: one batch of 32
  });

  it("reads a paused import's body to its end, so that the client's upload completes, before the paused line", async () => {
    const app = await createApp();
    const lines = file(unique("drain")).split("\n");
    let pulled = 0;
    let ended = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled * 10 >= lines.length) {
          ended = true;
          return controller.close();
        }
        controller.enqueue(new TextEncoder().encode(lines.slice(pulled * 10, ++pulled * 10).join("\n") + (pulled * 10 < lines.length ? "\n" : "")));
      },
    });
    const { res, body: text } = await traced(new Request(`${ORIGIN}/admin/apps/${app.appId}/users:import?maxQueries=4`, { ...init(""), body }));
    const answered = await answer(new Response(text, { status: res.status }));
    expect(answered.at(-1)).toMatchObject({ paused: true, nextLine: 34 });
    expect(answered).toHaveLength(33);
    expect(ended).toBe(true);
  });

  it("skips the lines before fromLine unparsed, keeping the file's line numbers", async () => {
    const app = await createApp();
    const a = unique("from");
    const lines = await post(app, ndjson(["{not json", JSON.stringify({ displayName: "x".repeat(20_000) }), "", { loginName: `${a}-4` }]), "?fromLine=2&maxQueries=4");
    // Line 2 is read (too long), line 3 blank, line 4 imported; line 1 is never parsed.
    expect(lines.map((l) => [l.line, l.status])).toEqual([
      [2, "refused"],
      [4, "created"],
      [undefined, undefined],
    ]);
    expect(lines.at(-1)).toEqual({ summary: { created: 1, updated: 0, refused: 1 } });
    expect(await post(app, ndjson([{ loginName: `${a}-5` }]), "?fromLine=9")).toEqual([{ summary: { created: 0, updated: 0, refused: 0 } }]);
    expect((await usersOf(app)).map((u) => u.login_name)).toEqual([`${a}-4`]);
  });

  it("answers 400 for a fromLine or maxQueries that is not a whole number from 1 (maxQueries from 4), writing nothing", async () => {
    const app = await createApp();
    const body = ndjson([{ loginName: unique("bad") }]);
    for (const [query, field] of [
      ["?fromLine=0", "fromLine"],
      ["?fromLine=-3", "fromLine"],
      ["?fromLine=abc", "fromLine"],
      ["?fromLine=1.5", "fromLine"],
      ["?fromLine=", "fromLine"],
      ["?maxQueries=0", "maxQueries"],
      ["?maxQueries=3", "maxQueries"],
      ["?maxQueries=1e3", "maxQueries"],
      ["?fromLine=2&maxQueries=x", "maxQueries"],
    ] as const) {
      const res = await call(`/admin/apps/${app.appId}/users:import${query}`, init(body));
      expect(res.status, query).toBe(400);
      expect(await res.json(), query).toMatchObject({ error: "invalid_request", field, message: expect.stringContaining(field) });
    }
    expect(await usersOf(app)).toEqual([]);
  });

  it("reads IMPORT_D1_QUERY_BUDGET: 900 by default, a whole number from 4, a number from wrangler.toml's [vars]", () => {
    const base = { ...env, ENVIRONMENT: "development", PUBLIC_URL: "http://latchkey.test" };
    expect(readRuntimeConfig(base).importQueryBudget).toBe(DEFAULT_IMPORT_QUERY_BUDGET);
    expect(DEFAULT_IMPORT_QUERY_BUDGET).toBe(900);
    expect(readRuntimeConfig({ ...base, IMPORT_D1_QUERY_BUDGET: "40" }).importQueryBudget).toBe(40);
    expect(readRuntimeConfig({ ...base, IMPORT_D1_QUERY_BUDGET: 40 }).importQueryBudget).toBe(40);
    for (const bad of ["3", "0", "-5", "many", "40.5"]) {
      expect(() => readRuntimeConfig({ ...base, IMPORT_D1_QUERY_BUDGET: bad }), bad).toThrow(ConfigError);
    }
  });
});
