// The password policy (pure rules). NIST 800-63B defaults: at least 8 characters, at most
// maxLength (≥ 64) counted in Unicode code points after NFKC, nothing truncated; character
// classes are optional, as in ZITADEL's complexity policy.
import { isBreachedPassword } from "./breached";
import { CoreError } from "./errors";
import { normalizePassword } from "./passwords";

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireLowercase: boolean;
  requireUppercase: boolean;
  requireNumber: boolean;
  requireSymbol: boolean;
  /** Refuse passwords known from data breaches (Have I Been Pwned); off by default. */
  breachedPasswordCheck: boolean;
}

export function checkPassword(password: string, policy: PasswordPolicy): void {
  const normal = normalizePassword(password);
  const length = [...normal].length;
  if (length < policy.minLength) {
    throw new CoreError("password_policy", `Password must be at least ${policy.minLength} characters long`, {
      policy: "min_length",
      minimumLength: policy.minLength,
    });
  }
  if (length > policy.maxLength) {
    throw new CoreError("password_policy", `Password must be at most ${policy.maxLength} characters long`, {
      policy: "max_length",
      maximumLength: policy.maxLength,
    });
  }
  if (policy.requireLowercase && !/\p{Ll}/u.test(normal)) {
    throw new CoreError("password_policy", "Password must contain a lower-case letter", { policy: "lowercase" });
  }
  if (policy.requireUppercase && !/\p{Lu}/u.test(normal)) {
    throw new CoreError("password_policy", "Password must contain an upper-case letter", { policy: "uppercase" });
  }
  if (policy.requireNumber && !/\p{Nd}/u.test(normal)) {
    throw new CoreError("password_policy", "Password must contain a number", { policy: "number" });
  }
  if (policy.requireSymbol && !/[^\p{L}\p{Nd}\s]/u.test(normal)) {
    throw new CoreError("password_policy", "Password must contain a symbol", { policy: "symbol" });
  }
}

/** The whole policy: the rules above, then (when the app asks for it) the breached-password check. */
export async function enforcePasswordPolicy(password: string, policy: PasswordPolicy): Promise<void> {
  checkPassword(password, policy);
  if (policy.breachedPasswordCheck && (await isBreachedPassword(normalizePassword(password)))) {
    throw new CoreError("password_policy", "This password is known from a data breach; choose another one", { policy: "breached" });
  }
}
