// Bulk import (issue 12): users arrive as a stream of entries (the admin face parses NDJSON),
// are checked, matched to existing users by id, login name or (when neither is given) email,
// and written in small batches. One entry's problem refuses that entry only; the rest goes on.
import { emailKey, loginNameKey, type NewUser, type User } from "../storage/users";
import type { App } from "../storage/apps";
import { isFenceError } from "../storage/shards";
import { numericId } from "../lib/random";
import { CoreError, isCoreError } from "./errors";
import { emitEvents, type EventSpec, type EventTally, logEventSummary } from "./events";
import { E164, EMAIL, isValidUserId, LOGIN_NAME } from "./identity";
import { parsePhc } from "./passwords";
import { enforcePasswordPolicy } from "./policy";
import type { Services } from "./services";
import { ensureShardReady } from "./shards";
import { UNKNOWN_PASSWORD } from "./hashes";
import { acceptImportedHash, newUserRow, type Registration } from "./users";

/** One user to import, as the face parsed it. */
export interface ImportRecord extends Registration {
  disabled?: boolean;
  /** The user has a password elsewhere that could not be exported (Kii): resets work, no sign-in until one. */
  passwordUnknown?: boolean;
}

export type ImportEntry = { line: number; record: ImportRecord } | { line: number; refused: string; field?: string };

export type ImportResult =
  | { line: number; status: "created" | "updated"; userId: string }
  | { line: number; status: "refused"; reason: string; field?: string };

/**
 * Entries per batch. D1 binds at most 100 parameters per statement: the look-up binds the app id
 * plus up to three keys per entry (id, login name, email) = 1 + 3·32 = 97.
 */
export const IMPORT_BATCH = 32;
/** A users row binds 21 values; four rows make one INSERT of 84 parameters. */
const ROWS_PER_INSERT = 4;

/**
 * D1 calls a batch may need before it starts: its look-up, its write, and one line replayed alone
 * should the write fail (replays go on only while the budget lasts). So every batch moves the
 * import forward, however small the budget (config/runtime.ts MIN_IMPORT_QUERY_BUDGET: this plus
 * the schema check).
 */
export const QUERIES_PER_BATCH = 3;

/**
 * D1 allows an invocation a fixed number of queries (1,000 on Workers Paid, 50 on Free); past it
 * every query fails. The import counts each D1 call it makes against `max`, and stops before a
 * batch that could go past it.
 */
interface QueryBudget {
  readonly max: number;
  used: number;
}

export interface ImportOutcome {
  created: number;
  updated: number;
  refused: number;
  /** Set when the budget ran out: the first line not imported (lines before it are all answered). */
  nextLine: number | null;
}

interface Planned {
  line: number;
  record: ImportRecord;
  existing: User | null;
  row: NewUser;
  /** For updates: the fields to overwrite. */
  fields?: Partial<NewUser>;
}

const refuse = (line: number, reason: string, field?: string): ImportResult => ({ line, status: "refused", reason, ...(field ? { field } : {}) });

/** Field rules for one record; throws CoreError(invalid_input) with the field. */
function check(record: ImportRecord): void {
  const bad = (field: string, message: string) => new CoreError("invalid_input", message, { field });
  if (record.userId !== undefined && !isValidUserId(record.userId)) throw bad("id", "id may contain only letters, digits, '.', '_', '@' and '-'");
  if (record.loginName !== undefined && !LOGIN_NAME.test(record.loginName)) throw bad("loginName", "loginName must be 3 to 64 letters, digits or . _ @ + -");
  if (record.email !== undefined && !EMAIL.test(record.email)) throw bad("email", "email is not an email address");
  if (record.phone !== undefined && !E164.test(record.phone)) throw bad("phone", "phone must be an international number such as +819012345678");
  if (!record.loginName && !record.email && !record.phone) throw bad("loginName", "A login name, email address or phone number is required");
  if ([record.password, record.passwordHash, record.passwordUnknown || undefined].filter((x) => x !== undefined).length > 1) {
    throw bad("password", "Give one of password, passwordHash and passwordUnknown");
  }
}

/**
 * Imports the entries, reporting each one's result through `report` in line order, until they end
 * or the next batch could take the import's D1 calls past `maxQueries`: then it stops reading
 * entries and answers the first line it did not import (`nextLine`), to be sent again from there.
 */
export async function importUsers(
  svc: Services,
  app: App,
  entries: AsyncIterable<ImportEntry>,
  report: (result: ImportResult) => Promise<void> | void,
  maxQueries = Infinity,
): Promise<ImportOutcome> {
  await ensureShardReady(svc, app);
  // Its schema check: one query at most (none once this isolate has seen the shard up to date).
  const budget: QueryBudget = { max: maxQueries, used: 1 };
  const totals = { created: 0, updated: 0, refused: 0 };
  let nextLine: number | null = null;
  // Every key seen in this import, with its line: a later line with the same key is a duplicate.
  const seen = new Map<string, number>();
  const ids = new Set<string>();
  // The import's events, logged as one line when it ends (events.ts emitEvents), however it ends.
  const tally: EventTally = {};
  let batch: ImportEntry[] = [];
  /** Imports the batch; false when the budget stopped it (nextLine is set). */
  const flush = async (): Promise<boolean> => {
    // A batch of lines refused while parsing costs nothing; any other may cost QUERIES_PER_BATCH.
    if (batch.some((e) => "record" in e) && budget.max - budget.used < QUERIES_PER_BATCH) {
      nextLine = batch[0]!.line;
      return false;
    }
    const { results, stoppedAt } = await importBatch(svc, app, batch, seen, ids, tally, budget);
    batch = [];
    for (const r of results) {
      totals[r.status]++;
      await report(r);
    }
    nextLine = stoppedAt;
    return stoppedAt === null;
  };
  try {
    for await (const entry of entries) {
      batch.push(entry);
      // Leaving the loop ends `entries`: nothing after the batch is read or parsed.
      if (batch.length >= IMPORT_BATCH && !(await flush())) break;
    }
    if (nextLine === null && batch.length) await flush();
  } finally {
    logEventSummary(svc, app, "import", tally);
  }
  return { ...totals, nextLine };
}

/**
 * One batch: its results in line order, and `stoppedAt`, the first line left unimported when the
 * budget ran out while replaying a failed write (its results stop before that line), else null.
 */
async function importBatch(
  svc: Services,
  app: App,
  entries: ImportEntry[],
  seen: Map<string, number>,
  ids: Set<string>,
  tally: EventTally,
  budget: QueryBudget,
): Promise<{ results: ImportResult[]; stoppedAt: number | null }> {
  const results = new Map<number, ImportResult>();
  const valid: { line: number; record: ImportRecord; hash: string | null }[] = [];
  for (const entry of entries) {
    if ("refused" in entry) {
      results.set(entry.line, refuse(entry.line, entry.refused, entry.field));
      continue;
    }
    const { line, record } = entry;
    try {
      check(record);
      const keys = [
        record.userId !== undefined && `id:${record.userId}`,
        record.loginName !== undefined && `login:${loginNameKey(record.loginName)}`,
        record.email !== undefined && `email:${emailKey(record.email)}`,
        record.phone !== undefined && `phone:${record.phone}`,
      ].filter((k): k is string => Boolean(k));
      const clash = keys.find((k) => seen.has(k));
      if (clash) throw new CoreError("invalid_input", `duplicate of line ${seen.get(clash)} (same ${clash.slice(0, clash.indexOf(":"))})`, { field: clash.slice(0, clash.indexOf(":")) });
      const hash =
        record.passwordHash !== undefined
          ? acceptImportedHash(record.passwordHash, record.hashFormat, record.hashParams)
          : record.passwordUnknown
            ? UNKNOWN_PASSWORD
            : null;
      if (record.password !== undefined) await enforcePasswordPolicy(record.password, app.settings.passwordPolicy);
      for (const k of keys) seen.set(k, line);
      valid.push({ line, record, hash });
    } catch (e) {
      if (!isCoreError(e)) throw e;
      results.set(line, refuse(line, e.message, typeof e.details.field === "string" ? e.details.field : undefined));
    }
  }

  const lookFor = [
    valid.flatMap((v) => (v.record.userId !== undefined ? [v.record.userId] : [])),
    valid.flatMap((v) => (v.record.loginName !== undefined ? [loginNameKey(v.record.loginName)] : [])),
    valid.flatMap((v) => (v.record.userId === undefined && v.record.loginName === undefined && v.record.email !== undefined ? [emailKey(v.record.email)] : [])),
  ] as const;
  // findForImport asks D1 only when there is a key to look for.
  if (lookFor.some((keys) => keys.length > 0)) budget.used++;
  const existing = await svc.shard(app).users.findForImport(app.id, ...lookFor);
  const byId = new Map(existing.map((u) => [u.id, u]));
  const byLogin = new Map(existing.flatMap((u) => (u.loginNameKey ? [[u.loginNameKey, u] as const] : [])));
  const byEmail = new Map(existing.flatMap((u) => (u.emailKey ? [[u.emailKey, u] as const] : [])));

  const now = svc.now();
  const planned: Planned[] = [];
  for (const { line, record, hash } of valid) {
    const { userId, loginName, email } = record;
    const match =
      (userId !== undefined ? byId.get(userId) : undefined) ??
      (loginName !== undefined ? byLogin.get(loginNameKey(loginName)) : undefined) ??
      (userId === undefined && loginName === undefined && email !== undefined ? byEmail.get(emailKey(email)) : undefined) ??
      null;
    if (match && userId !== undefined && match.id !== userId) {
      results.set(line, refuse(line, `loginName belongs to another user (${match.id})`, "loginName"));
      continue;
    }
    // A password is set on a new user, or replaces an imported one; never one the user chose or
    // that was already upgraded here (native scrypt): a rerun must not undo a sign-in.
    const mayReplacePassword = !match?.passwordHash || !parsePhc(match.passwordHash);
    let passwordHash = mayReplacePassword ? hash : null;
    if (mayReplacePassword && record.password !== undefined) passwordHash = await svc.hasher.hash(record.password);
    let id = userId ?? numericId(now);
    while (!match && userId === undefined && ids.has(id)) id = numericId(now);
    ids.add(id);
    const row = newUserRow(app, { ...record, userId: match?.id ?? id }, passwordHash, now);
    row.disabled = record.disabled ?? false;
    if (record.password !== undefined && passwordHash) row.passwordChangedAt = now;
    planned.push({ line, record, existing: match, row, ...(match ? { fields: updateFields(record, row, passwordHash !== null && mayReplacePassword) } : {}) });
  }

  const stoppedAt = await write(svc, app, planned, results, budget);
  emitEvents(svc, app, importEvents(planned, results), tally);
  const answered = stoppedAt === null ? entries : entries.filter((e) => e.line < stoppedAt);
  return { results: answered.map((e) => results.get(e.line)!), stoppedAt };
}

/** user.created for each user the batch created, password.changed for each whose password it replaced. */
function importEvents(planned: Planned[], results: Map<number, ImportResult>): EventSpec[] {
  const events: EventSpec[] = [];
  for (const p of planned) {
    const result = results.get(p.line);
    if (result?.status === "created") {
      const { row } = p;
      events.push({
        type: "user.created",
        userId: row.id,
        fields: { actor: "operator", source: "import", emailVerified: row.email ? Boolean(row.emailVerified) : null, phoneVerified: row.phone ? Boolean(row.phoneVerified) : null },
      });
    } else if (result?.status === "updated" && p.fields?.passwordHash !== undefined) {
      events.push({ type: "password.changed", userId: p.row.id, fields: { actor: "operator" } });
    }
  }
  return events;
}

/** What a rerun overwrites: the fields the line gives (absent ones stay), the password when allowed. */
function updateFields(record: ImportRecord, row: NewUser, withPassword: boolean): Partial<NewUser> {
  const f: Partial<NewUser> = {};
  if (record.loginName !== undefined) Object.assign(f, { loginName: row.loginName, loginNameKey: row.loginNameKey });
  if (record.email !== undefined) Object.assign(f, { email: row.email, emailKey: row.emailKey, emailVerified: row.emailVerified });
  if (record.phone !== undefined) Object.assign(f, { phone: row.phone, phoneVerified: row.phoneVerified });
  for (const k of ["displayName", "givenName", "familyName", "locale", "country", "changeRequired", "disabled"] as const) {
    if (record[k] !== undefined) Object.assign(f, { [k]: row[k] });
  }
  if (withPassword) Object.assign(f, { passwordHash: row.passwordHash, passwordChangedAt: row.passwordChangedAt });
  return f;
}

/** Writes the planned users; answers the line where the budget stopped a replay, else null. */
async function write(svc: Services, app: App, planned: Planned[], results: Map<number, ImportResult>, budget: QueryBudget): Promise<number | null> {
  const shard = svc.shard(app);
  const inserts = planned.filter((p) => !p.existing);
  const updates = planned.filter((p) => p.existing);
  const insertGroups: Planned[][] = [];
  for (let i = 0; i < inserts.length; i += ROWS_PER_INSERT) insertGroups.push(inserts.slice(i, i + ROWS_PER_INSERT));
  const statements = [
    ...insertGroups.map((group) => shard.users.insertManyStatement(group.map((p) => p.row))),
    ...updates.flatMap((p) => {
      const update = shard.users.importUpdateStatement(p.existing!.appId, p.existing!.id, p.fields!, p.row.changedAt);
      // A replaced password ends the sessions made with the old one, as any password change does.
      return p.fields!.passwordHash !== undefined ? [update, shard.tokens.revokeUserStatement(p.existing!.appId, p.existing!.id)] : [update];
    }),
  ];
  if (statements.length === 0) return null;
  let outcomes: ({ id: string }[] | null)[];
  try {
    budget.used++;
    const all = (await shard.db.batch(statements as unknown as [(typeof statements)[0]])) as unknown[];
    outcomes = all.map((r) => (Array.isArray(r) ? (r as { id: string }[]) : null));
  } catch (e) {
    if (isFenceError(e)) throw e;
    // The batch is one transaction: an update that breaks a unique index (an email another user
    // holds) undoes it all. Replay one entry at a time, in line order, to find and refuse just
    // that one, while the budget lasts: the lines from the first one not replayed are left to
    // the next request (nothing of theirs was written).
    for (const p of planned) {
      if (budget.used >= budget.max) return p.line;
      budget.used++;
      try {
        const [rows] = p.existing
          ? await shard.db.batch([
              shard.users.importUpdateStatement(p.existing.appId, p.existing.id, p.fields!, p.row.changedAt),
              ...(p.fields!.passwordHash !== undefined ? [shard.tokens.revokeUserStatement(p.existing.appId, p.existing.id)] : []),
            ])
          : [await shard.users.insertManyStatement([p.row])];
        report(p, (rows as { id: string }[]).length === 1, results);
      } catch (e) {
        if (isFenceError(e)) throw e;
        results.set(p.line, refuse(p.line, "another user of the app already has this login name, email address or phone number"));
      }
    }
    return null;
  }
  let at = 0;
  for (const group of insertGroups) {
    const inserted = new Set((outcomes[at++] ?? []).map((r) => r.id));
    for (const p of group) report(p, inserted.has(p.row.id), results);
  }
  for (const p of updates) {
    report(p, (outcomes[at++] ?? []).length === 1, results);
    if (p.fields!.passwordHash !== undefined) at++;
  }
  return null;
}

function report(p: Planned, ok: boolean, results: Map<number, ImportResult>): void {
  if (ok) results.set(p.line, { line: p.line, status: p.existing ? "updated" : "created", userId: p.row.id });
  else results.set(p.line, refuse(p.line, "the id, login name, email address or phone number belongs to another user", "id"));
}
