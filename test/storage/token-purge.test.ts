import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { openDatabase } from "../../src/storage/db";
import { TokenStore } from "../../src/storage/tokens";
import { createApp, registerKiiUser, shardOf, userToken } from "../helpers";

const tokensOf = async (db: D1Database, appId: string) =>
  (await db.prepare("SELECT token_hash, expires_at FROM access_tokens WHERE app_id = ?").bind(appId).all<{ token_hash: string; expires_at: number }>()).results;

async function appWithTokens(count: number, shard: number) {
  const app = await createApp({}, { shard });
  await registerKiiUser(app, { loginName: "purge-user", password: "long enough pw" });
  for (let i = 0; i < count; i++) await userToken(app, "purge-user", "long enough pw");
  return { app, db: await shardOf(app) };
}

describe("daily clean-up", () => {
  it("deletes expired access tokens in every shard and keeps live ones", async () => {
    const apps = [await appWithTokens(2, 0), await appWithTokens(2, 1)];
    const expired: string[] = [];
    for (const { app, db } of apps) {
      const [first] = await tokensOf(db, app.appId);
      await db.prepare("UPDATE access_tokens SET expires_at = ? WHERE token_hash = ?").bind(Date.now() - 1000, first!.token_hash).run();
      expired.push(first!.token_hash);
    }

    await worker.scheduled(createScheduledController({ cron: "17 3 * * *" }), env);

    for (const { app, db } of apps) {
      const left = await tokensOf(db, app.appId);
      expect(left).toHaveLength(1);
      expect(expired).not.toContain(left[0]!.token_hash);
    }
  });

  it("deletes in chunks of at most the limit, answering how many went", async () => {
    const { app, db } = await appWithTokens(5, 1);
    await db.prepare("UPDATE access_tokens SET expires_at = ? WHERE app_id = ?").bind(Date.now() - 1000, app.appId).run();
    const store = new TokenStore(openDatabase(db));
    expect(await store.purgeExpired(Date.now(), 2)).toBe(2);
    expect(await tokensOf(db, app.appId)).toHaveLength(3);
    expect(await store.purgeExpired(Date.now(), 2)).toBe(2);
    expect(await store.purgeExpired(Date.now(), 2)).toBe(1);
    expect(await store.purgeExpired(Date.now(), 2)).toBe(0);
    expect(await tokensOf(db, app.appId)).toHaveLength(0);
  });

  it("leaves the rows of an app fenced for a move, and still cleans the other apps of that shard", async () => {
    const fenced = await appWithTokens(2, 1);
    const other = await appWithTokens(2, 1);
    for (const { app, db } of [fenced, other]) {
      await db.prepare("UPDATE access_tokens SET expires_at = ? WHERE app_id = ?").bind(Date.now() - 1000, app.appId).run();
    }
    // What a move in progress leaves in the source shard: the fence's triggers refuse every
    // delete of the app's rows, which would abort a clean-up statement that included them.
    await fenced.db.prepare("INSERT INTO app_fences (app_id, state, move_id, since) VALUES (?, 'frozen', 'test-move', ?)").bind(fenced.app.appId, Date.now()).run();
    try {
      await worker.scheduled(createScheduledController({ cron: "17 3 * * *" }), env);
      expect(await tokensOf(fenced.db, fenced.app.appId)).toHaveLength(2);
      expect(await tokensOf(other.db, other.app.appId)).toHaveLength(0);
    } finally {
      await fenced.db.prepare("DELETE FROM app_fences WHERE app_id = ?").bind(fenced.app.appId).run();
    }
  });
});
