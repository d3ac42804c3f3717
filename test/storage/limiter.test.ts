// The rate limiter Durable Object: a sliding-window log per key.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Limits, MAX_WINDOW_SECONDS, type RateLimiter } from "../../src/storage/limiter";

let n = 0;
const freshStub = () => env.LIMITER.get(env.LIMITER.idFromName(`limiter-test-${n++}-${Date.now()}`));
const T0 = 1_800_000_000_000;

describe("RateLimiter", () => {
  it("accepts up to the limit within the window and refuses the next hit", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (limiter: RateLimiter) => {
      expect(limiter.hit(3, 60, T0)).toEqual({ allowed: true, retryAfterSeconds: 0 });
      expect(limiter.hit(3, 60, T0 + 1_000).allowed).toBe(true);
      expect(limiter.hit(3, 60, T0 + 2_000).allowed).toBe(true);
      expect(limiter.hit(3, 60, T0 + 3_000)).toEqual({ allowed: false, retryAfterSeconds: 57 });
    });
  });

  it("slides: a hit is accepted again once the oldest leaves the window", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (limiter: RateLimiter) => {
      for (let i = 0; i < 3; i++) expect(limiter.hit(3, 60, T0 + i * 10_000).allowed).toBe(true);
      expect(limiter.hit(3, 60, T0 + 59_999).allowed).toBe(false);
      // The hit at T0 is out of the window at T0 + 60 s; the other two are not.
      expect(limiter.hit(3, 60, T0 + 60_000).allowed).toBe(true);
      const refused = limiter.hit(3, 60, T0 + 61_000);
      expect(refused).toEqual({ allowed: false, retryAfterSeconds: 9 });
    });
  });

  it("does not count refused hits", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (limiter: RateLimiter) => {
      expect(limiter.hit(1, 60, T0).allowed).toBe(true);
      for (let i = 1; i < 10; i++) expect(limiter.hit(1, 60, T0 + i * 1_000).allowed).toBe(false);
      expect(limiter.hit(1, 60, T0 + 60_000).allowed).toBe(true);
    });
  });

  it("answers a retryAfter of at least one second", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (limiter: RateLimiter) => {
      expect(limiter.hit(1, 60, T0).allowed).toBe(true);
      expect(limiter.hit(1, 60, T0 + 59_900)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    });
  });

  it("computes retryAfter from the hit that must leave when the limit was lowered", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (limiter: RateLimiter) => {
      for (let i = 0; i < 5; i++) expect(limiter.hit(5, 100, T0 + i * 10_000).allowed).toBe(true);
      // Limit now 2: hits at 30 s and 40 s are the two newest; room opens when the one at 30 s leaves.
      expect(limiter.hit(2, 100, T0 + 50_000)).toEqual({ allowed: false, retryAfterSeconds: 80 });
    });
  });

  it("keeps working after its idle alarm has cleared it", async () => {
    const stub = freshStub();
    expect((await stub.hit(1, 60)).allowed).toBe(true);
    expect((await stub.hit(1, 60)).allowed).toBe(false);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // The alarm forgot every hit, and the same instance still answers.
    expect((await stub.hit(1, 60)).allowed).toBe(true);
    expect((await stub.hit(1, 60)).allowed).toBe(false);
  });

  it("keeps one counter per key through the Worker-side Limits", async () => {
    const limits = new Limits(env.LIMITER);
    const rule = { limit: 2, windowSeconds: 60 };
    const a = `limits-a-${Date.now()}`;
    const b = `limits-b-${Date.now()}`;
    expect((await limits.hit(a, rule)).allowed).toBe(true);
    expect((await limits.hit(a, rule)).allowed).toBe(true);
    const refused = await limits.hit(a, rule);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect((await limits.hit(b, rule)).allowed).toBe(true);
  });

  it("counts each of many concurrent hits exactly once", async () => {
    const limits = new Limits(env.LIMITER);
    const key = `limits-concurrent-${Date.now()}`;
    const decisions = await Promise.all(Array.from({ length: 25 }, () => limits.hit(key, { limit: 7, windowSeconds: 60 })));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(7);
  });
});

describe("RateLimiter.hitEach (several counters in one object, one call)", () => {
  const ip = (limit: number, windowSeconds = 60) => ({ key: "ip", limit, windowSeconds });
  const addr = (limit: number, windowSeconds = 60) => ({ key: "addr", limit, windowSeconds });

  it("keeps one counter per key, each with its own limit", async () => {
    await runInDurableObject(freshStub(), (limiter: RateLimiter) => {
      expect(limiter.hitEach([ip(5), addr(2)], T0)).toEqual({ allowed: true, retryAfterSeconds: 0 });
      expect(limiter.hitEach([ip(5), addr(2)], T0 + 1_000).allowed).toBe(true);
      // The address is used up; the IP has room, and another address is counted apart.
      expect(limiter.hitEach([ip(5), addr(2)], T0 + 2_000)).toEqual({ allowed: false, retryAfterSeconds: 58 });
      expect(limiter.hitEach([ip(5), { key: "addr2", limit: 2, windowSeconds: 60 }], T0 + 3_000).allowed).toBe(true);
      // The IP counted the refused request too (3 + 1 = 4 of 5), as two calls in a row would have.
      expect(limiter.hitEach([ip(5)], T0 + 4_000).allowed).toBe(true);
      expect(limiter.hitEach([ip(5)], T0 + 5_000)).toEqual({ allowed: false, retryAfterSeconds: 55 });
    });
  });

  it("counts nothing after the first rule that refuses", async () => {
    await runInDurableObject(freshStub(), (limiter: RateLimiter) => {
      expect(limiter.hitEach([ip(1), addr(3)], T0).allowed).toBe(true);
      for (let i = 1; i <= 5; i++) expect(limiter.hitEach([ip(1), addr(3)], T0 + i * 1_000).allowed).toBe(false);
      // The address saw only the first, accepted request.
      expect(limiter.hitEach([addr(3)], T0 + 10_000).allowed).toBe(true);
      expect(limiter.hitEach([addr(3)], T0 + 11_000).allowed).toBe(true);
      expect(limiter.hitEach([addr(3)], T0 + 12_000).allowed).toBe(false);
    });
  });

  it("slides each window on its own", async () => {
    await runInDurableObject(freshStub(), (limiter: RateLimiter) => {
      expect(limiter.hitEach([ip(1, 3_600), addr(1, 60)], T0).allowed).toBe(true);
      // At T0 + 60 s the address's hit has left its window, the IP's has not.
      expect(limiter.hitEach([addr(1, 60)], T0 + 60_000).allowed).toBe(true);
      expect(limiter.hitEach([ip(1, 3_600)], T0 + 60_000)).toEqual({ allowed: false, retryAfterSeconds: 3_540 });
    });
  });

  it("forgets hits older than the longest window, and its idle alarm waits that long", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, async (limiter: RateLimiter, state) => {
      for (let i = 0; i < 3; i++) expect(limiter.hitEach([{ key: `once-${i}`, limit: 1, windowSeconds: 60 }], T0 + i).allowed).toBe(true);
      limiter.hitEach([addr(5)], T0 + MAX_WINDOW_SECONDS * 1000 + 10);
      const left = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM keyed_hits").one().n;
      expect(left).toBe(1);
      const before = Date.now();
      limiter.hitEach([addr(5, 60)]);
      expect((await state.storage.getAlarm()) ?? 0).toBeGreaterThanOrEqual(before + MAX_WINDOW_SECONDS * 1000);
    });
  });

  it("counts each of many concurrent calls exactly once", async () => {
    const limits = new Limits(env.LIMITER);
    const name = `hit-each-concurrent-${Date.now()}`;
    const decisions = await Promise.all(Array.from({ length: 25 }, (_, i) => limits.hitEach(name, [{ key: `ip-${i % 2}`, limit: 100, windowSeconds: 60 }, { key: "addr", limit: 7, windowSeconds: 60 }])));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(7);
  });
});
