// The reset code store: KV holds the hash, D1 decides which code is current, counts failures
// and makes consumption single-use.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { FAILURE_MEMORY_MS, MAX_FAILURES, ResetCodeStore } from "../../src/storage/codes";
import { openDatabase } from "../../src/storage/db";
import { createApp, registerKiiUser, shardOf, type TestApp } from "../helpers";

// The store over the shard that holds the test app's users (set once the app exists).
let db: ReturnType<typeof openDatabase>;
let store: ResetCodeStore;
const NOW = Date.now();
let app: TestApp;
let userId: string;
let n = 0;

async function issue(code: string, now = NOW, ttlSeconds = 600) {
  const prepared = await store.prepare(app.appId, userId, "sms_pin", code, ttlSeconds, now);
  await prepared.statement;
  return prepared.codeId;
}

const row = async () => (await shardOf(app)).prepare("SELECT * FROM password_resets WHERE user_id = ?").bind(userId).first<{ code_id: string | null; failures: number }>();

describe("ResetCodeStore", () => {
  beforeEach(async () => {
    if (!app) {
      app = await createApp();
      db = openDatabase(await shardOf(app));
      store = new ResetCodeStore(db, env.CODES);
    }
    ({ userID: userId } = await registerKiiUser(app, { loginName: `codes${n++}x${Date.now().toString(36)}`, password: "correct horse" }));
  });

  it("accepts the code it issued and reports its kind", async () => {
    const codeId = await issue("123456");
    expect(await store.check(app.appId, userId, "123456", NOW)).toEqual({ status: "ok", codeId, kind: "sms_pin" });
  });

  it("answers not_found for a user with no code, and for another app", async () => {
    expect(await store.check(app.appId, userId, "123456", NOW)).toEqual({ status: "not_found" });
    await issue("123456");
    expect(await store.check("otherapp1", userId, "123456", NOW)).toEqual({ status: "not_found" });
  });

  it("counts a wrong guess and tells how many attempts are left", async () => {
    await issue("123456");
    expect(await store.check(app.appId, userId, "654321", NOW)).toEqual({ status: "invalid", attemptsLeft: MAX_FAILURES - 1 });
    expect((await row())?.failures).toBe(1);
  });

  it("kills the code at the fifth wrong guess: the right code is then not even compared", async () => {
    await issue("123456");
    for (let i = 1; i <= MAX_FAILURES; i++) {
      expect(await store.check(app.appId, userId, "000000", NOW)).toEqual({ status: "invalid", attemptsLeft: MAX_FAILURES - i });
    }
    expect((await row())?.failures).toBe(MAX_FAILURES);
    expect(await store.check(app.appId, userId, "123456", NOW)).toEqual({ status: "exhausted" });
    expect(await store.check(app.appId, userId, "000000", NOW)).toEqual({ status: "exhausted" });
    expect((await row())?.failures).toBe(MAX_FAILURES);
  });

  it("compares at most five of 25 guesses that race, and answers every other one alike", async () => {
    for (let round = 0; round < 3; round++) {
      await issue(`12345${round}`);
      await (await shardOf(app)).prepare("UPDATE password_resets SET failures = 0 WHERE user_id = ?").bind(userId).run();
      const guesses = [...Array.from({ length: 24 }, (_, i) => `9${String(i).padStart(5, "0")}`), `12345${round}`];
      const results = await Promise.all(guesses.map((g) => store.check(app.appId, userId, g, NOW)));
      const compared = results.filter((r) => r.status === "invalid" || r.status === "ok");
      expect(compared.length).toBeLessThanOrEqual(MAX_FAILURES);
      for (const r of results.filter((r) => r.status !== "invalid" && r.status !== "ok")) expect(r).toEqual({ status: "exhausted" });
      expect((await row())?.failures).toBe(MAX_FAILURES);
    }
  });

  it("gives a reserved attempt back with refund, and consuming clears the count", async () => {
    const codeId = await issue("123456");
    await store.check(app.appId, userId, "000000", NOW);
    expect((await store.check(app.appId, userId, "123456", NOW)).status).toBe("ok");
    expect((await row())?.failures).toBe(2);
    await store.refund(app.appId, userId, codeId);
    expect((await row())?.failures).toBe(1);
    expect(await store.consumeStatement(app.appId, userId, codeId, NOW)).toHaveLength(1);
    expect((await row())?.failures).toBe(0);
  });

  it("counts nothing against a live code that is not the one expected (a stale hosted link)", async () => {
    const first = await issue("111111");
    await issue("222222");
    expect(await store.check(app.appId, userId, "111111", NOW, { expectCodeId: first })).toEqual({ status: "not_found" });
    expect(await store.check(app.appId, userId, "222222", NOW, { expectCodeId: first })).toEqual({ status: "not_found" });
    expect((await row())?.failures).toBe(0);
  });

  it("answers expired after the code's lifetime without counting a failure", async () => {
    await issue("123456", NOW, 600);
    expect(await store.check(app.appId, userId, "999999", NOW + 600_000)).toEqual({ status: "expired" });
    expect((await row())?.failures).toBe(0);
  });

  it("lets a newer code supersede the older one", async () => {
    await issue("111111");
    const second = await issue("222222");
    expect((await store.check(app.appId, userId, "222222", NOW)).status).toBe("ok");
    expect(await store.check(app.appId, userId, "111111", NOW)).toMatchObject({ status: "invalid" });
    expect((await row())?.code_id).toBe(second);
  });

  it("keeps recent failures across a resend and forgets old ones", async () => {
    await issue("111111");
    for (let i = 0; i < 3; i++) await store.check(app.appId, userId, "000000", NOW);
    await issue("222222", NOW + 1_000);
    expect((await row())?.failures).toBe(3);
    // A resend after the failure memory starts from zero.
    await issue("333333", NOW + FAILURE_MEMORY_MS + 1);
    expect((await row())?.failures).toBe(0);
  });

  it("answers exhausted when a resend inherits five recent failures", async () => {
    await issue("111111");
    for (let i = 0; i < MAX_FAILURES; i++) await store.check(app.appId, userId, "000000", NOW);
    await issue("222222", NOW + 1_000);
    expect(await store.check(app.appId, userId, "222222", NOW + 2_000)).toEqual({ status: "exhausted" });
  });

  it("answers not_found, counting nothing, when KV has no record (a stale read elsewhere)", async () => {
    await issue("123456");
    for (const key of (await env.CODES.list({ prefix: `reset:${app.appId}:${userId}:` })).keys) await env.CODES.delete(key.name);
    expect(await store.check(app.appId, userId, "000000", NOW)).toEqual({ status: "not_found" });
    expect((await row())?.failures).toBe(0);
  });

  it("answers not_found without counting when the pending code is not of an accepted kind", async () => {
    await issue("123456");
    expect(await store.check(app.appId, userId, "000000", NOW, { accept: ["email_link"] })).toEqual({ status: "not_found" });
    expect((await row())?.failures).toBe(0);
    expect((await store.check(app.appId, userId, "123456", NOW, { accept: ["sms_pin"] })).status).toBe("ok");
  });

  it("consumes a code once: a second consumption changes no row", async () => {
    const codeId = await issue("123456");
    expect(await store.consumeStatement(app.appId, userId, codeId, NOW)).toHaveLength(1);
    expect(await store.consumeStatement(app.appId, userId, codeId, NOW)).toHaveLength(0);
    expect(await store.check(app.appId, userId, "123456", NOW)).toEqual({ status: "not_found" });
  });

  it("does not consume a code that has expired", async () => {
    const codeId = await issue("123456", NOW, 600);
    expect(await store.consumeStatement(app.appId, userId, codeId, NOW + 600_000)).toHaveLength(0);
  });

  it("stores a KV record that expires and holds no plaintext code", async () => {
    await issue("123456");
    const { keys } = await env.CODES.list({ prefix: `reset:${app.appId}:${userId}:` });
    expect(keys).toHaveLength(1);
    expect(keys[0]!.expiration).toBeGreaterThan(Date.now() / 1000);
    const raw = (await env.CODES.get(keys[0]!.name))!;
    expect(raw).not.toContain("123456");
  });
});
