// The password policy (SPEC §8): NIST lengths in code points after NFKC, optional classes.
import { describe, expect, it } from "vitest";
import { defaultSettings } from "../../src/config/settings";
import { CoreError } from "../../src/core/errors";
import { checkPassword, type PasswordPolicy } from "../../src/core/policy";

const DEFAULT = defaultSettings().passwordPolicy;

function violation(password: string, policy: PasswordPolicy = DEFAULT): CoreError | null {
  try {
    checkPassword(password, policy);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(CoreError);
    return e as CoreError;
  }
}

describe("password policy", () => {
  it("defaults to NIST: at least 8, at most 128, no character classes, no breach look-up", () => {
    expect(DEFAULT).toEqual({ minLength: 8, maxLength: 128, requireLowercase: false, requireUppercase: false, requireNumber: false, requireSymbol: false, breachedPasswordCheck: false });
  });

  it("refuses a password under the minimum with min_length and the minimum", () => {
    const e = violation("1234567")!;
    expect(e.kind).toBe("password_policy");
    expect(e.details).toMatchObject({ policy: "min_length", minimumLength: 8 });
    expect(violation("12345678")).toBeNull();
  });

  it("refuses a password over the maximum with max_length", () => {
    expect(violation("x".repeat(129))!.details).toMatchObject({ policy: "max_length", maximumLength: 128 });
    expect(violation("x".repeat(128))).toBeNull();
  });

  it("counts code points, not UTF-16 units (an emoji is one character)", () => {
    expect(violation("😀".repeat(7))!.details.policy).toBe("min_length");
    expect(violation("😀".repeat(8))).toBeNull();
    expect(violation("😀".repeat(128))).toBeNull();
  });

  it("counts after NFKC (a ligature counts as the letters it stands for)", () => {
    // "ﬃ" (U+FB03) is three letters after NFKC.
    expect(violation("ﬃﬃab")).toBeNull();
    expect(violation("ﬃab")!.details.policy).toBe("min_length");
  });

  it("accepts spaces and any Unicode letters", () => {
    expect(violation("correct horse battery staple")).toBeNull();
    expect(violation("パスワードは長い")).toBeNull();
  });

  it.each([
    ["requireLowercase", "lowercase", "PASSWORD1!", "PASSWORd1!"],
    ["requireUppercase", "uppercase", "password1!", "Password1!"],
    ["requireNumber", "number", "Password!!", "Password1!"],
    ["requireSymbol", "symbol", "Password11", "Password1!"],
  ] as const)("%s refuses a password without it (%s) and accepts one with it", (rule, policy, without, withIt) => {
    const strict = { ...DEFAULT, [rule]: true };
    expect(violation(without, strict)!.details.policy).toBe(policy);
    expect(violation(withIt, strict)).toBeNull();
  });

  it("treats non-ASCII letters and digits as their classes", () => {
    const all = { ...DEFAULT, requireLowercase: true, requireUppercase: true, requireNumber: true };
    expect(violation("ÉCOLEé٣xx", all)).toBeNull();
  });

  it("checks length before classes", () => {
    expect(violation("a", { ...DEFAULT, requireNumber: true })!.details.policy).toBe("min_length");
  });
});
