// Why an imported hash was refused. Thrown by the format parsers, caught by index.ts; the
// message is shown to the operator who imports (it never contains the hash itself).
export class HashRefused extends Error {}

/** A foreign hash that passed its format's bounds and can check a password. */
export interface ForeignHash {
  format: HashFormat;
  verify(password: string): Promise<boolean>;
}

export type HashFormat = "bcrypt" | "argon2" | "scrypt" | "firebase-scrypt" | "pbkdf2" | "sha-crypt" | "md5-crypt";

/** A whole number in [min, max], or a refusal naming the parameter and its bound. */
export function bounded(text: string | undefined, name: string, min: number, max: number): number {
  const n = text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new HashRefused(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}
