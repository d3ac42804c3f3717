// Secrets and ids (SPEC §8): crypto randomness, unbiased characters, tokens of ≥ 128 bits,
// time-ordered decimal ids.
import { describe, expect, it } from "vitest";
import { base64url, fromBase64 } from "../../src/lib/encoding";
import { DIGITS, numericId, randomBytes, randomString, randomToken, UPPER_ALNUM } from "../../src/lib/random";

const count = (text: string) => {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  return counts;
};

describe("randomString", () => {
  it.each([0, 1, 6, 8, 33, 1000])("returns exactly %i characters", (length) => {
    expect(randomString(length, UPPER_ALNUM)).toHaveLength(length);
  });

  it("returns long strings too (more random bytes than one getRandomValues call may fill)", () => {
    const text = randomString(50_000, DIGITS);
    expect(text).toHaveLength(50_000);
    expect(text).toMatch(/^\d+$/);
  });

  it("draws only from the alphabet", () => {
    expect(randomString(5000, DIGITS)).toMatch(/^[0-9]+$/);
    expect(randomString(5000, UPPER_ALNUM)).toMatch(/^[A-Z0-9]+$/);
    expect(randomString(2000, "ab")).toMatch(/^[ab]+$/);
  });

  it("uses every digit over many draws", () => {
    const counts = count(randomString(2000, DIGITS));
    expect([...counts.keys()].sort().join("")).toBe(DIGITS);
  });

  it("has no modulo bias (an alphabet of 129 symbols, where byte % 129 would favour 127 of them 2:1)", () => {
    // 129 symbols × 400 draws: each count is ~400 ± 20 (one standard deviation). With modulo bias
    // the last two symbols would average ~200 and the others ~403; the bounds are ±8 deviations.
    const alphabet = Array.from({ length: 129 }, (_, i) => String.fromCharCode(0x100 + i)).join("");
    const counts = count(randomString(129 * 400, alphabet));
    expect(counts.size).toBe(129);
    for (const ch of alphabet) {
      expect(counts.get(ch), `count of symbol ${alphabet.indexOf(ch)}`).toBeGreaterThan(240);
      expect(counts.get(ch), `count of symbol ${alphabet.indexOf(ch)}`).toBeLessThan(560);
    }
  });

  it("is different on every call", () => {
    const draws = new Set(Array.from({ length: 200 }, () => randomString(16, UPPER_ALNUM)));
    expect(draws.size).toBe(200);
  });

  it.each([
    ["one symbol", "a"],
    ["no symbols", ""],
    ["more than 256 symbols", "x".repeat(257)],
  ])("refuses an alphabet of %s", (_, alphabet) => {
    expect(() => randomString(4, alphabet)).toThrow(RangeError);
  });
});

describe("randomToken", () => {
  it("is 256 bits of base64url by default", () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fromBase64(token)).toHaveLength(32);
  });

  it("is at least 128 bits (22 base64url characters) for 16 bytes", () => {
    const token = randomToken(16);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fromBase64(token)).toHaveLength(16);
  });

  it("never repeats", () => {
    expect(new Set(Array.from({ length: 500 }, () => randomToken())).size).toBe(500);
  });
});

describe("randomBytes and base64url", () => {
  it("returns the requested number of bytes, not all zero", () => {
    const bytes = randomBytes(64);
    expect(bytes).toHaveLength(64);
    expect(bytes.some((b) => b !== 0)).toBe(true);
  });

  it("round-trips any bytes through base64url", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = base64url(bytes);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(fromBase64(text)).toEqual(bytes);
  });
});

describe("numericId", () => {
  it("is a decimal string without leading zeros", () => {
    for (let i = 0; i < 50; i++) expect(numericId()).toMatch(/^[1-9]\d*$/);
  });

  it("increases with time: an id from a later millisecond is always larger", () => {
    const start = Date.UTC(2026, 0, 1);
    let previous = BigInt(numericId(start));
    for (let ms = start + 1; ms < start + 200; ms++) {
      const next = BigInt(numericId(ms));
      expect(next > previous).toBe(true);
      previous = next;
    }
    expect(BigInt(numericId(Date.UTC(2030, 0, 1))) > BigInt(numericId(Date.UTC(2029, 11, 31)))).toBe(true);
  });

  it("differs between ids made in the same millisecond", () => {
    const now = Date.now();
    expect(new Set(Array.from({ length: 100 }, () => numericId(now))).size).toBeGreaterThan(95);
  });

  it("fits in 63 bits, so it survives as a signed 64-bit integer", () => {
    expect(BigInt(numericId(Date.UTC(2090, 0, 1))) < 2n ** 63n).toBe(true);
  });
});
