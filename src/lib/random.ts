// Secrets come from crypto.getRandomValues only, and characters are drawn by rejection
// sampling: a byte is used only when it falls below the largest multiple of the alphabet's
// size, so every character is equally likely (no modulo bias).
import { base64url } from "./encoding";

export const DIGITS = "0123456789";
export const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** Crockford's base32: digits and upper-case letters without I, L, O and U, which read as others. */
export const READABLE = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function randomString(length: number, alphabet: string): string {
  if (alphabet.length < 2 || alphabet.length > 256) throw new RangeError("alphabet size must be 2..256");
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  // getRandomValues fills at most 65,536 bytes per call.
  const buffer = new Uint8Array(Math.min(65_536, Math.max(16, length * 2)));
  while (out.length < length) {
    crypto.getRandomValues(buffer);
    for (const byte of buffer) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function randomBytes(count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  crypto.getRandomValues(bytes);
  return bytes;
}

/** A URL-safe token of `bytes` random bytes (32 bytes = 256 bits). */
export function randomToken(bytes = 32): string {
  return base64url(randomBytes(bytes));
}

/**
 * A token a person can read off a message and type: `groups` groups of 4 READABLE characters
 * joined by hyphens ("7K3Q-M9XD-…"). 7 groups carry 140 bits.
 */
export function readableToken(groups = 7): string {
  return (randomString(groups * 4, READABLE).match(/.{4}/g) ?? []).join("-");
}

/**
 * A time-ordered numeric id, as ZITADEL's ids look (decimal strings), usable as a Kii userID too:
 * 41 bits of milliseconds since 2024-01-01 and 20 random bits.
 */
export function numericId(now = Date.now()): string {
  const epoch = 1_704_067_200_000;
  const random = new DataView(randomBytes(4).buffer).getUint32(0) & 0xfffff;
  return ((BigInt(now - epoch) << 20n) | BigInt(random)).toString();
}
