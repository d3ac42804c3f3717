// One structured line for an unexpected error: its name and message. Queries bind every value as
// a parameter (src/storage/db.ts), and D1's own messages name the failing constraint or table,
// never a bound value (password hashes, code ids, addresses), which no log line may carry (SPEC §8;
// test/security/log-hygiene.test.ts).
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  return `${err.name}: ${err.message}`;
}

export function logError(context: Record<string, unknown>, err: unknown): void {
  console.error(JSON.stringify({ level: "error", ...context, error: describeError(err) }));
}

/** One structured line for a security event (a lock, a deletion): ids only, never a secret. */
export function logEvent(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "info", event, ...fields }));
}
