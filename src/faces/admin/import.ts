// POST /admin/apps/{appId}/users:import — NDJSON in, NDJSON out. The body is read line by line
// as it arrives (never whole) and each line's result is written back as soon as its batch is
// stored, so a 100,000-user file needs neither the memory for itself nor one request per user.
// D1 answers only so many queries per request: an import that reaches its budget (config/runtime.ts
// IMPORT_D1_QUERY_BUDGET, or less with ?maxQueries=) pauses and names the line to resume from
// (?fromLine=); docs/migrating.md.
import * as z from "zod/mini";
import { MIN_IMPORT_QUERY_BUDGET } from "../../config/runtime";
import { describeZodError } from "../../config/settings";
import { requireApp } from "../../core/apps";
import { type ImportEntry, type ImportRecord, type ImportResult, importUsers } from "../../core/import";
import type { AppContext } from "../../http";
import { readLines } from "../../lib/lines";
import { logError } from "../../lib/log";
import "../../lib/zod-locale";

/** Longer lines are refused without being held: a user with its hash and profile fits in 2 KiB. */
export const MAX_IMPORT_LINE_BYTES = 16 * 1024;

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
// Names end up in messages, headers and other products' screens: refused here as in both dialects.
const name = (max: number) =>
  text(max).check(z.regex(/^[^\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]*$/u, "must not contain control characters, lone surrogates or bidirectional overrides"));
export const importLine = z.strictObject({
  id: z.optional(text(200)),
  loginName: z.optional(text(64)),
  username: z.optional(text(64)),
  email: z.optional(text(320)),
  emailVerified: z.optional(z.boolean()),
  phone: z.optional(text(16)),
  phoneVerified: z.optional(z.boolean()),
  displayName: z.optional(name(200)),
  givenName: z.optional(name(200)),
  familyName: z.optional(name(200)),
  locale: z.optional(text(35)),
  country: z.optional(text(2)),
  password: z.optional(text(1024)),
  passwordHash: z.optional(text(1024)),
  hashFormat: z.optional(text(40)),
  passwordUnknown: z.optional(z.boolean()),
  hashParams: z.optional(z.record(z.string().check(z.maxLength(40)), z.union([z.string().check(z.maxLength(512)), z.number()]))),
  changeRequired: z.optional(z.boolean()),
  disabled: z.optional(z.boolean()),
});

function toEntry(line: number, raw: string): ImportEntry | null {
  if (raw.trim() === "") return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { line, refused: "not a JSON object" };
  }
  const parsed = importLine.safeParse(json);
  if (!parsed.success) {
    const { field, message } = describeZodError(parsed.error);
    return { line, refused: message, ...(field ? { field } : {}) };
  }
  const { id, username, loginName, hashParams, ...rest } = parsed.data;
  if (username !== undefined && loginName !== undefined && username !== loginName) {
    return { line, refused: "loginName and username differ; give one", field: "username" };
  }
  const record: ImportRecord = { ...rest, ...(id !== undefined ? { userId: id } : {}) };
  const name = loginName ?? username;
  if (name !== undefined) record.loginName = name;
  if (hashParams !== undefined) record.hashParams = hashParams;
  return { line, record };
}

/** The body's entries from line `fromLine` on; the lines before it are counted, never parsed. */
async function* entriesOf(body: ReadableStream<Uint8Array>, fromLine: number): AsyncGenerator<ImportEntry> {
  for await (const line of readLines(body, MAX_IMPORT_LINE_BYTES)) {
    if (line.number < fromLine) continue;
    if ("tooLong" in line) {
      yield { line: line.number, refused: `line longer than ${MAX_IMPORT_LINE_BYTES} bytes` };
      continue;
    }
    const entry = toEntry(line.number, line.text);
    if (entry) yield entry;
  }
}

const NDJSON = /^application\/(x-)?(ndjson|jsonl)\s*(;|$)/i;

type Reject = (status: 400 | 415, code: string, message: string, field?: string) => never;

/** A query parameter that must be a whole number from 1 (absent: undefined). */
function positiveQuery(c: AppContext, name: string, reject: Reject): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) reject(400, "invalid_request", `${name} must be a whole number from 1`, name);
  return Number(raw);
}

/** Reads what is left of the body and drops it, so that the client's upload ends normally. */
async function drain(body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  while (!(await reader.read()).done);
}

/** The route's handler; the admin router has checked the admin token. Errors before the stream starts are thrown. */
export async function importUsersRoute(c: AppContext, reject: Reject): Promise<Response> {
  const svc = c.var.svc;
  const app = await requireApp(svc, c.req.param("appId")!);
  if (!NDJSON.test(c.req.header("Content-Type") ?? "")) reject(415, "unsupported_media_type", "The request body must be application/x-ndjson: one JSON user per line");
  const fromLine = positiveQuery(c, "fromLine", reject) ?? 1;
  // A request may ask for a smaller budget than the deployment's, never a larger one.
  const budget = svc.config.importQueryBudget;
  const asked = positiveQuery(c, "maxQueries", reject);
  if (asked !== undefined && asked < MIN_IMPORT_QUERY_BUDGET) {
    reject(400, "invalid_request", `maxQueries must be at least ${MIN_IMPORT_QUERY_BUDGET}: the schema check and one batch`, "maxQueries");
  }
  const maxQueries = Math.min(asked ?? budget, budget);
  const body = c.req.raw.body;
  if (!body) reject(400, "invalid_request", "The request has no body");
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (value: unknown) => writer.write(encoder.encode(`${JSON.stringify(value)}\n`));
  const work = (async () => {
    try {
      const { nextLine, ...totals } = await importUsers(svc, app, entriesOf(body!, fromLine), (result: ImportResult) => write(result), maxQueries);
      if (nextLine === null) {
        await write({ summary: totals });
        return;
      }
      // Paused: the rest of the body is read and dropped unparsed (a client that is still sending
      // sees its upload through), then the last line says where to start again.
      await drain(body!).catch(() => {});
      await write({
        paused: true,
        nextLine,
        counts: totals,
        message: `Paused before D1's per-request query limit (this import may make ${maxQueries} D1 queries per request); the lines reported above are stored: send the same file again with ?fromLine=${nextLine}`,
      });
    } catch (e) {
      // The status line went out long ago: say it in the stream, stop, and keep what was stored.
      // (If the caller went away, writing fails too; there is nobody left to tell.)
      logError({ face: "admin", route: "users:import" }, e);
      await write({ error: "internal", message: "The import stopped; the lines reported above are stored, the rest were not read" }).catch(() => {});
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  svc.defer(work);
  return new Response(readable, { status: 200, headers: { "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store" } });
}
