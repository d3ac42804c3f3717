// Apps as this isolate last read them. Every request names an app, and reading its row from the
// control database would cost every request one round trip; the row changes rarely. An entry
// lives APP_CACHE_TTL_MS, so a change made elsewhere (another isolate, another location) shows
// here within that time plus the replica's lag. A write through AppStore drops this isolate's
// entry at once. Unknown ids are not remembered: an app created elsewhere is usable as soon as a
// replica has it, and random ids cannot fill the cache. docs/scaling.md has the trade-off.
//
// Only rows already read are shared, never a read in progress: a promise that another request's
// I/O settles ties the waiting request to that request, which workerd does not allow for I/O
// objects and warns about for promises. Concurrent misses therefore each read the row themselves.
import type { App } from "./apps";

/** How long an app row read here is used without asking the database again. */
export const APP_CACHE_TTL_MS = 10_000;
/** Entries kept at most; the oldest goes first. Apps served by one isolate are usually a handful. */
const MAX_ENTRIES = 1_000;

const entries = new Map<string, { app: App; at: number }>();
/** Bumped by every forget: a read that began before one must not be kept after it. */
let epoch = 0;

/** The cached app, or `load()`'s answer, kept when it names an app and nothing was forgotten meanwhile. */
export async function cachedApp(id: string, load: () => Promise<App | null>, now = Date.now()): Promise<App | null> {
  const entry = entries.get(id);
  if (entry && now - entry.at < APP_CACHE_TTL_MS) return entry.app;
  return remember(id, load(), now);
}

/** Keeps a read that is under way (the primary's answer, say) once it has answered, replacing what was cached. */
export async function remember(id: string, read: Promise<App | null>, now = Date.now()): Promise<App | null> {
  const began = epoch;
  const app = await read;
  if (app && epoch === began) {
    entries.delete(id);
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    entries.set(id, { app, at: now });
  }
  return app;
}

/** Drops one app (around a write to it), or every app (after meeting a move's fence). */
export function forgetApp(id?: string): void {
  epoch++;
  if (id === undefined) entries.clear();
  else entries.delete(id);
}
