// See wrangler.toml. Each route does one kind of work and answers a small JSON body, like
// Latchkey's bare route does, so (route p50 − bare p50) is the cost of that one primitive.
import { DurableObject } from "cloudflare:workers";
import { scryptSync } from "node:crypto";

const SCRYPT = { N: 2 ** 14, r: 8, p: 5, maxmem: 64 * 1024 * 1024 };
// Better Auth's default parameters (N=2^14 r=16 p=1), for comparison.
const SCRYPT_BA = { N: 2 ** 14, r: 16, p: 1, maxmem: 64 * 1024 * 1024 };

export class Counter extends DurableObject {
  hit(now) {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO hits (at) VALUES (?)", now);
    return { allowed: true };
  }
}

let tableReady;
const ready = (db) =>
  (tableReady ??= db.batch([
    db.prepare("CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)"),
    db.prepare("INSERT OR IGNORE INTO rows (id, body) VALUES ('a', 'x')"),
  ]));

const resetLimits = (env, who) => {
  const hit = (name) => env.COUNTER.get(env.COUNTER.idFromName(name)).hit(Date.now());
  return Promise.all([hit("reset-ip"), hit(`reset-addr-${who}`)]);
};

const resetWrites = (env, who) => {
  const now = String(Date.now());
  return Promise.all([
    env.KV.put(`reset:${who}:${crypto.randomUUID()}`, JSON.stringify({ hash: "x".repeat(43), kind: "email_link", expiresAt: Date.now() }), { expirationTtl: 3600 }),
    env.DB.batch([
      env.DB.prepare("INSERT INTO rows (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body").bind(`reset-${who}`, now),
      env.DB.prepare("UPDATE rows SET body = ? WHERE id = 'a'").bind(now),
    ]),
    env.QUEUE.send({ sealed: "x".repeat(600) }),
  ]);
};

const ok = (body = {}) => Response.json({ ok: true, ...body });

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    switch (pathname) {
      case "/":
        return ok();
      case "/scrypt":
        return ok({ key: scryptSync("bench password 1", "0123456789abcdef", 32, SCRYPT).length });
      case "/scrypt-better-auth-default":
        return ok({ key: scryptSync("bench password 1", "0123456789abcdef", 64, SCRYPT_BA).length });
      case "/d1": {
        await ready(env.DB);
        return ok({ row: await env.DB.prepare("SELECT * FROM rows WHERE id = ?").bind("a").first() });
      }
      // Two reads one after the other, and the same two at once: does overlapping help here?
      case "/d1-two-sequential": {
        await ready(env.DB);
        const read = () => env.DB.prepare("SELECT * FROM rows WHERE id = ?").bind("a").first();
        await read();
        await read();
        return ok();
      }
      case "/d1-two-parallel": {
        await ready(env.DB);
        const read = () => env.DB.prepare("SELECT * FROM rows WHERE id = ?").bind("a").first();
        await Promise.all([read(), read()]);
        return ok();
      }
      case "/durable-object-two-parallel": {
        const hit = (name) => env.COUNTER.get(env.COUNTER.idFromName(name)).hit(Date.now());
        await Promise.all([hit("one"), hit("two")]);
        return ok();
      }
      case "/d1-write": {
        await ready(env.DB);
        await env.DB.prepare("UPDATE rows SET body = ? WHERE id = 'a'").bind(String(Date.now())).run();
        return ok();
      }
      // Two writes one after the other, and the same two in one batch (a sign-in's guard reset
      // and token insert after the hash, before and after they shared a batch).
      case "/d1-write-two-sequential": {
        await ready(env.DB);
        const write = () => env.DB.prepare("UPDATE rows SET body = ? WHERE id = 'a'").bind(String(Date.now())).run();
        await write();
        await write();
        return ok();
      }
      case "/d1-write-two-batch": {
        await ready(env.DB);
        const write = () => env.DB.prepare("UPDATE rows SET body = ? WHERE id = 'a'").bind(String(Date.now()));
        await env.DB.batch([write(), write()]);
        return ok();
      }
      case "/kv-put":
        await env.KV.put(`k:${crypto.randomUUID()}`, "{}", { expirationTtl: 60 });
        return ok();
      case "/durable-object":
        return ok(await env.COUNTER.get(env.COUNTER.idFromName("one")).hit(Date.now()));
      // What Latchkey's request-reset must do for a user named by email address, in its order,
      // with none of Latchkey's code: read the user while the per-IP and per-address limits are
      // counted (two objects at once); then store the code's hash (KV), write the reset row and
      // the user's sequence (one D1 batch) and queue the message, side by side. The floor this
      // workerd sets under that route.
      case "/reset-io": {
        await ready(env.DB);
        const who = new URL(request.url).searchParams.get("i") ?? "0";
        await Promise.all([env.DB.prepare("SELECT * FROM rows WHERE id = ?").bind("a").first(), resetLimits(env, who)]);
        await resetWrites(env, who);
        return ok();
      }
      // The least that I/O could cost an answer: the same, with the writes after the answer
      // (waitUntil), so that a 204 would promise nothing. Not what Latchkey does; the bench prints
      // it to show how low any arrangement of these round trips gets on this workerd.
      case "/reset-io-after-answer": {
        await ready(env.DB);
        const who = new URL(request.url).searchParams.get("i") ?? "0";
        await Promise.all([env.DB.prepare("SELECT * FROM rows WHERE id = ?").bind("a").first(), resetLimits(env, who)]);
        ctx.waitUntil(resetWrites(env, who));
        return ok();
      }
      // What a successful Latchkey sign-in must do, in its order: count the per-IP limit while the
      // user is read; reserve the attempt (a D1 write) before the compare; one scrypt; then the end
      // of the failure run and the token, one D1 batch. The floor under the sign-in figure.
      case "/signin-io": {
        await ready(env.DB);
        await Promise.all([env.COUNTER.get(env.COUNTER.idFromName("signin-ip")).hit(Date.now()), env.DB.prepare("SELECT * FROM rows WHERE id = ?").bind("a").first()]);
        await env.DB.prepare("INSERT INTO rows (id, body) VALUES ('guard', '1') ON CONFLICT (id) DO UPDATE SET body = body || '1'").run();
        scryptSync("bench password 1", "0123456789abcdef", 32, SCRYPT);
        await env.DB.batch([
          env.DB.prepare("UPDATE rows SET body = '' WHERE id = 'guard'"),
          env.DB.prepare("INSERT INTO rows (id, body) VALUES (?, '') ON CONFLICT (id) DO NOTHING").bind(`token-${crypto.randomUUID()}`),
        ]);
        return ok();
      }
      case "/queue-send":
        await env.QUEUE.send({ at: Date.now() });
        return ok();
      default:
        return new Response("not found", { status: 404 });
    }
  },
  async queue(batch) {
    batch.ackAll();
  },
};
