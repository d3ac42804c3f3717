// POST /admin/apps/{appId}/users:import — NDJSON in, NDJSON out. The body is read line by line
// as it arrives (never whole) and each line's result is written back as soon as its batch is
// stored, so a 100,000-user file needs neither the memory for itself nor one request per user.
import * as z from "zod/mini";
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

async function* entriesOf(body: ReadableStream<Uint8Array>): AsyncGenerator<ImportEntry> {
  for await (const line of readLines(body, MAX_IMPORT_LINE_BYTES)) {
    if ("tooLong" in line) {
      yield { line: line.number, refused: `line longer than ${MAX_IMPORT_LINE_BYTES} bytes` };
      continue;
    }
    const entry = toEntry(line.number, line.text);
    if (entry) yield entry;
  }
}

const NDJSON = /^application\/(x-)?(ndjson|jsonl)\s*(;|$)/i;

/** The route's handler; the admin router has checked the admin token. Errors before the stream starts are thrown. */
export async function importUsersRoute(c: AppContext, reject: (status: 400 | 415, code: string, message: string) => never): Promise<Response> {
  const svc = c.var.svc;
  const app = await requireApp(svc, c.req.param("appId")!);
  if (!NDJSON.test(c.req.header("Content-Type") ?? "")) reject(415, "unsupported_media_type", "The request body must be application/x-ndjson: one JSON user per line");
  const body = c.req.raw.body;
  if (!body) reject(400, "invalid_request", "The request has no body");
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (value: unknown) => writer.write(encoder.encode(`${JSON.stringify(value)}\n`));
  const work = (async () => {
    try {
      const totals = await importUsers(svc, app, entriesOf(body!), (result: ImportResult) => write(result));
      await write({ summary: totals });
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
