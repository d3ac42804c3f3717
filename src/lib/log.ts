// One structured line for an unexpected error. Never the error's own text when it wraps a query:
// drizzle's DrizzleQueryError message holds the SQL and every bound value (password hashes, code
// ids, addresses), which no log line may carry (SPEC §8). Its cause, D1's own message, names
// the failing constraint or table and no values.
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  const cause = err.cause instanceof Error ? err.cause : null;
  if (err.name === "DrizzleQueryError" || err.message.startsWith("Failed query:")) {
    return `${err.name}: ${cause ? cause.message : "query failed"}`;
  }
  return `${err.name}: ${err.message}`;
}

export function logError(context: Record<string, unknown>, err: unknown): void {
  console.error(JSON.stringify({ level: "error", ...context, error: describeError(err) }));
}

/** One structured line for a security event (a lock, a deletion): ids only, never a secret. */
export function logEvent(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "info", event, ...fields }));
}
