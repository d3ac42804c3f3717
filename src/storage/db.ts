// D1 without an ORM: SQL text with bound values (`sql`), tables described once (`Table`: column
// names, which are booleans or JSON, the row's TypeScript shape), and statements that can be
// awaited alone or run together in one batch (`Database.batch`, one transaction).
//
// Every value reaches D1 as a bound parameter: `sql` turns each `${value}` into `?`. Only our own
// constants (table and column names, the select lists of schema.ts) are written into the text,
// through `raw`, never a caller's value.

/** SQL text and the values bound to its `?` placeholders, in order. */
export class Sql {
  constructor(
    readonly text: string,
    readonly params: readonly unknown[],
  ) {}
}

/** Booleans are stored as 0/1 (D1 binds no booleans). */
const bindable = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);

/** SQL with every interpolated value bound as a parameter; an interpolated `Sql` is spliced in with its own. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let text = strings[0]!;
  const params: unknown[] = [];
  values.forEach((v, i) => {
    if (v instanceof Sql) {
      text += v.text;
      params.push(...v.params);
    } else {
      text += "?";
      params.push(bindable(v));
    }
    text += strings[i + 1]!;
  });
  return new Sql(text, params);
}

/** Text written into a statement as is: only for our own constants (identifiers, select lists). */
export const raw = (text: string) => new Sql(text, []);

/** `, ` between the parts, or `sep`. */
export function join(parts: readonly Sql[], sep = ", "): Sql {
  return new Sql(parts.map((p) => p.text).join(sep), parts.flatMap((p) => p.params));
}

/** ` AND (condition)` when there is one: the optional guard (`onlyIf`) of a write. */
export const andIf = (condition: Sql | undefined) => (condition ? sql` AND (${condition})` : raw(""));

/** `IN (?, ?, …)` over the values (callers keep them within D1's 100 parameters). */
export const inList = (values: readonly unknown[]) => sql`(${join(values.map((v) => sql`${v}`))})`;

/**
 * A bound statement and how its D1 result reads: awaited alone it runs by itself, or it joins
 * others in `Database.batch`. `T` is its rows (mapped) for a statement that returns rows, or
 * D1's result (`meta.changes`) for one that does not.
 */
export class Statement<T> implements PromiseLike<T> {
  constructor(
    readonly bound: D1PreparedStatement,
    readonly read: (result: D1Result) => T,
  ) {}

  then<A = T, B = never>(ok?: ((value: T) => A | PromiseLike<A>) | null, fail?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.bound.all().then(this.read).then(ok, fail);
  }

  /** The same statement, its result read on through `f`. */
  map<U>(f: (value: T) => U): Statement<U> {
    return new Statement(this.bound, (result) => f(this.read(result)));
  }

  /** Runs it alone, answering D1's own result whatever it returns. */
  run(): Promise<D1Result> {
    return this.bound.run();
  }
}

type Results<T extends readonly Statement<unknown>[]> = { -readonly [K in keyof T]: T[K] extends Statement<infer R> ? R : never };

/** One D1 database (a binding or a D1 session) and the few ways our stores talk to it. */
export class Database {
  constructor(readonly d1: D1Database) {}

  private bind(query: Sql): D1PreparedStatement {
    return this.d1.prepare(query.text).bind(...query.params);
  }

  /** A write whose answer is D1's result (`meta.changes`). */
  statement(query: Sql): Statement<D1Result> {
    return new Statement(this.bind(query), (r) => r);
  }

  /** A statement that answers rows (a SELECT, or a write with RETURNING), each mapped by `map`. */
  rows<T>(query: Sql, map: (row: Record<string, unknown>) => T = (row) => row as T): Statement<T[]> {
    return new Statement(this.bind(query), (r) => (r.results as Record<string, unknown>[]).map(map));
  }

  async first<T>(query: Sql, map: (row: Record<string, unknown>) => T = (row) => row as T): Promise<T | null> {
    const row = await this.bind(query).first<Record<string, unknown>>();
    return row ? map(row) : null;
  }

  /** Runs the statements in one batch (one transaction) and answers each one's result, in order. */
  async batch<T extends readonly Statement<unknown>[]>(statements: [...T]): Promise<Results<T>> {
    const results = await this.d1.batch(statements.map((s) => s.bound));
    return results.map((r, i) => statements[i]!.read(r)) as Results<T>;
  }
}

export const openDatabase = (d1: D1Database) => new Database(d1);

/** D1 reports a unique-index conflict (a name or an address taken by a racing request) as a SQLite error. */
export const isUniqueViolation = (e: unknown) => /UNIQUE constraint failed/i.test(String(e instanceof Error ? `${e.message} ${String(e.cause ?? "")}` : e));

type ColumnKind = "bool" | "json";

/**
 * A table: its name, the column of each field of its row type (snake_case in SQL, camelCase in
 * TypeScript), and which columns hold booleans (0/1) or JSON text. test/storage/schema.test.ts
 * checks every column named here against the migrated databases.
 */
export class Table<Row extends object> {
  /** `column AS "field", …`: selects (or returns) a whole row under its TypeScript names. */
  readonly all: Sql;

  constructor(
    readonly name: string,
    readonly columns: { readonly [K in keyof Row]-?: string },
    readonly kinds: { readonly [K in keyof Row]?: ColumnKind } = {},
    /** The value a missing field gets in an INSERT: the migration's DEFAULT (checked by the schema test). */
    readonly defaults: { readonly [K in keyof Row]?: Row[K] } = {},
  ) {
    this.all = raw(
      Object.entries(columns)
        .map(([field, column]) => `${column} AS "${field}"`)
        .join(", "),
    );
  }

  /** A row read through `all`, with its booleans and JSON decoded. */
  readonly row = (r: Record<string, unknown>): Row => {
    for (const [field, kind] of Object.entries(this.kinds)) {
      const v = r[field];
      if (v !== null && v !== undefined) r[field] = kind === "bool" ? Number(v) === 1 : JSON.parse(v as string);
    }
    return r as Row;
  };

  private encode(field: keyof Row, v: unknown): unknown {
    if (v === null || v === undefined) return null;
    const kind = this.kinds[field];
    return kind === "bool" ? (v ? 1 : 0) : kind === "json" ? JSON.stringify(v) : v;
  }

  /** `column = ?, …` for each field given; an undefined field is left as it is. */
  set(fields: Partial<Row>): Sql {
    const parts: Sql[] = [];
    for (const [field, v] of Object.entries(fields)) {
      if (v !== undefined) parts.push(sql`${raw(this.columns[field as keyof Row])} = ${this.encode(field as keyof Row, v)}`);
    }
    return join(parts);
  }

  /**
   * `INSERT INTO table (…) VALUES (…), …` over every column but `skip` (an autoincrement key):
   * a field a row leaves undefined takes the table's default, or null. Each row binds one value
   * per column, so callers size their groups by that (D1 binds at most 100 per statement).
   */
  insert(rows: readonly Partial<Row>[], skip?: keyof Row): Sql {
    const fields = (Object.keys(this.columns) as (keyof Row)[]).filter((f) => f !== skip);
    const values = rows.map((row) => sql`(${join(fields.map((f) => sql`${this.encode(f, row[f] === undefined ? this.defaults[f] : row[f])}`))})`);
    return sql`INSERT INTO ${raw(this.name)} (${raw(fields.map((f) => this.columns[f]).join(", "))}) VALUES ${join(values)}`;
  }

  /** insert() of one row, only while `condition` holds (`INSERT … SELECT … WHERE`). */
  insertIf(row: Partial<Row>, condition: Sql): Sql {
    const fields = Object.keys(this.columns) as (keyof Row)[];
    const values = join(fields.map((f) => sql`${this.encode(f, row[f] === undefined ? this.defaults[f] : row[f])}`));
    return sql`INSERT INTO ${raw(this.name)} (${raw(fields.map((f) => this.columns[f]).join(", "))}) SELECT ${values} WHERE ${condition}`;
  }
}

/**
 * One chunk of the daily clean-up: deletes at most `limit` rows of `table` whose `column` is
 * before `before`, and answers how many went. Chunks keep each statement far from D1's query time
 * limit on a large shard. Rows of an app with a move fence are left for another day: the fence's
 * triggers would abort the whole statement, and a move copies or purges those rows itself.
 */
export async function purgeChunk(db: Database, table: string, column: string, before: number, limit: number): Promise<number> {
  const t = raw(`"${table}"`);
  const result = await db.statement(
    sql`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE ${raw(`"${column}"`)} < ${before} AND app_id NOT IN (SELECT app_id FROM app_fences) LIMIT ${limit})`,
  );
  return result.meta.changes ?? 0;
}
