// The rate limiter Durable Object: a sliding-window log per key.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Limits, type RateLimiter } from "../../src/storage/limiter";

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

  it("holds a roomy limit exactly: 2,000 hits in the window, the next refused until the oldest leaves", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (limiter: RateLimiter) => {
      for (let i = 0; i < 2_000; i++) expect(limiter.hit(2_000, 60, T0 + i * 10).allowed).toBe(true);
      // The oldest counted hit (T0) leaves the window at T0 + 60 s.
      expect(limiter.hit(2_000, 60, T0 + 20_000)).toEqual({ allowed: false, retryAfterSeconds: 40 });
      expect(limiter.hit(2_000, 60, T0 + 60_000).allowed).toBe(true);
      expect(limiter.hit(2_000, 60, T0 + 60_001).allowed).toBe(false);
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

describe("several limits at once (reserve, release, Limits.hitAll)", () => {
  it("reserve tells when an accepted hit was counted, and release takes that one back", async () => {
    await runInDurableObject(freshStub(), (limiter: RateLimiter) => {
      expect(limiter.reserve(2, 60, T0)).toEqual({ allowed: true, retryAfterSeconds: 0, at: T0 });
      expect(limiter.reserve(2, 60, T0)).toEqual({ allowed: true, retryAfterSeconds: 0, at: T0 });
      expect(limiter.reserve(2, 60, T0 + 1_000)).toEqual({ allowed: false, retryAfterSeconds: 59, at: null });
      // Two hits at T0: releasing one leaves the other counted.
      limiter.release(T0);
      expect(limiter.reserve(2, 60, T0 + 2_000).allowed).toBe(true);
      expect(limiter.reserve(2, 60, T0 + 3_000).allowed).toBe(false);
    });
  });

  const rule = (limit: number) => ({ limit, windowSeconds: 60 });
  const key = (name: string) => `hit-all-${name}-${Date.now()}-${n++}`;

  it("counts under every limit when all accept", async () => {
    const limits = new Limits(env.LIMITER);
    const [ip, addr] = [key("ip"), key("addr")];
    expect(await limits.hitAll([{ key: ip, rule: rule(2) }, { key: addr, rule: rule(2) }])).toEqual({ allowed: true, retryAfterSeconds: 0, refusedKeys: [] });
    expect((await limits.hit(ip, rule(2))).allowed).toBe(true);
    expect((await limits.hit(ip, rule(2))).allowed).toBe(false);
    expect((await limits.hit(addr, rule(2))).allowed).toBe(true);
    expect((await limits.hit(addr, rule(2))).allowed).toBe(false);
  });

  it("counts under no limit when one refuses: the others' hits are taken back", async () => {
    const limits = new Limits(env.LIMITER);
    const [ip, addr] = [key("ip"), key("addr")];
    expect((await limits.hit(addr, rule(1))).allowed).toBe(true);
    for (let i = 0; i < 5; i++) {
      const refused = await limits.hitAll([{ key: ip, rule: rule(2) }, { key: addr, rule: rule(1) }]);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterSeconds).toBeGreaterThan(0);
      // It names the limit that refused, not the one that would have allowed.
      expect(refused.refusedKeys).toEqual([addr]);
    }
    // The IP still has both of its hits: none of the five refused requests kept one.
    expect((await limits.hit(ip, rule(2))).allowed).toBe(true);
    expect((await limits.hit(ip, rule(2))).allowed).toBe(true);
    expect((await limits.hit(ip, rule(2))).allowed).toBe(false);
  });

  it("answers the longest wait when several refuse", async () => {
    const limits = new Limits(env.LIMITER);
    const [short, long] = [key("short"), key("long")];
    await limits.hit(short, { limit: 1, windowSeconds: 60 });
    await limits.hit(long, { limit: 1, windowSeconds: 3_600 });
    const refused = await limits.hitAll([{ key: short, rule: { limit: 1, windowSeconds: 60 } }, { key: long, rule: { limit: 1, windowSeconds: 3_600 } }]);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(60);
  });

  it("holds every limit under many concurrent requests, and refused ones leave nothing counted", async () => {
    const limits = new Limits(env.LIMITER);
    const [ip, addr] = [key("ip"), key("addr")];
    const decisions = await Promise.all(Array.from({ length: 25 }, () => limits.hitAll([{ key: ip, rule: rule(100) }, { key: addr, rule: rule(7) }])));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(7);
    // The IP counted exactly the 7 accepted requests: with a limit of 8, one more fits.
    expect((await limits.hit(ip, rule(8))).allowed).toBe(true);
    expect((await limits.hit(ip, rule(8))).allowed).toBe(false);
  });
});
