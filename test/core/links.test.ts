// Hosted links and the codes people type from them (core/links.ts): readable link tokens of at
// least 128 bits, the code in the fragment only, and typed codes read back as they were issued.
import { describe, expect, it } from "vitest";
import { normalizeTypedCode } from "../../src/core/links";
import { READABLE, readableToken } from "../../src/lib/random";

describe("readableToken", () => {
  it("is 7 groups of 4 Crockford base32 characters: 140 bits, no I, L, O or U", () => {
    for (let i = 0; i < 50; i++) expect(readableToken()).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$/);
    expect(READABLE).toHaveLength(32);
    expect(28 * Math.log2(READABLE.length)).toBeGreaterThanOrEqual(128);
  });

  it("draws every character of the alphabet", () => {
    const seen = new Set(Array.from({ length: 200 }, () => readableToken()).join("").replace(/-/g, ""));
    expect([...seen].sort().join("")).toBe([...READABLE].sort().join(""));
  });
});

describe("normalizeTypedCode", () => {
  const token = "7K3Q-M9XD-2HR0-4WCN-8BV1-6PZA-3YGE";

  it.each([
    ["as issued", token],
    ["in lower case", token.toLowerCase()],
    ["without hyphens", token.replace(/-/g, "")],
    ["with spaces between groups and around", ` ${token.replace(/-/g, " ")} `],
    ["with O for 0 and l or I for 1", "7k3q m9xd 2hrO 4wcn 8bvl 6pza 3yge".replace("8bvl", "8BVI")],
    ["in full-width characters", "７Ｋ３Ｑ－Ｍ９ＸＤ－２ＨＲ０－４ＷＣＮ－８ＢＶ１－６ＰＺＡ－３ＹＧＥ"],
    ["with typographic dashes", token.replace(/-/g, "‐")],
  ])("reads a link token typed %s", (_, typed) => {
    expect(normalizeTypedCode(typed)).toBe(token);
  });

  it("keeps a short code's characters (ZITADEL codes may hold O, I and L)", () => {
    expect(normalizeTypedCode(" o1lI0z ")).toBe("O1LI0Z");
    expect(normalizeTypedCode("123456")).toBe("123456");
  });

  it("turns anything else into something no code equals, never throwing", () => {
    expect(normalizeTypedCode("")).toBe("");
    expect(normalizeTypedCode("<script>")).toBe("<SCRIPT>");
  });
});
