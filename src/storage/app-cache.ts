// Apps as this isolate last read them. Every request names an app, and reading its row from the
// control database would cost every request one round trip; the row changes rarely. An entry
// lives APP_CACHE_TTL_MS, so a change made elsewhere (another isolate, another location) shows
// here within that time plus the replica's lag. A write through AppStore drops this isolate's
// entry at once. Unknown ids are not remembered: an app created elsewhere is usable as soon as a
// replica has it, and random ids cannot fill the cache. docs/scaling.md has the trade-off.
import type { App } from "./apps";

/** How long an app row read here is used without asking the database again. */
export const APP_CACHE_TTL_MS = 10_000;
/** Entries kept at most; the oldest goes first. Apps served by one isolate are usually a handful. */
const MAX_ENTRIES = 1_000;

interface Entry {
  app: Promise<App | null>;
  at: number;
}

const entries = new Map<string, Entry>();

/** The cached app, or `load()`'s answer (shared by concurrent callers), kept when it names an app. */
export function cachedApp(id: string, load: () => Promise<App | null>, now = Date.now()): Promise<App | null> {
  const entry = entries.get(id);
  if (entry && now - entry.at < APP_CACHE_TTL_MS) return entry.app;
  return remember(id, load(), now);
}

/** Keeps a read that just happened (the primary's answer, say), replacing what was cached. */
export function remember(id: string, app: Promise<App | null>, now = Date.now()): Promise<App | null> {
  entries.delete(id);
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  const entry: Entry = { app, at: now };
  entries.set(id, entry);
  app.then(
    (found) => {
      if (!found && entries.get(id) === entry) entries.delete(id);
    },
    () => {
      if (entries.get(id) === entry) entries.delete(id);
    },
  );
  return app;
}

/** Drops one app (after a write to it), or every app (after meeting a move's fence). */
export function forgetApp(id?: string): void {
  if (id === undefined) entries.clear();
  else entries.delete(id);
}
