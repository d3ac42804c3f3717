// Hashes for secrets that are already high-entropy (tokens, link codes, client secrets) and
// constant-time comparison. Passwords use scrypt instead (passwords.ts).
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64url } from "./random";

const encoder = new TextEncoder();

export function sha256Base64url(text: string): string {
  return base64url(sha256(encoder.encode(text)));
}

export function hmacSha256(key: Uint8Array | string, message: string): Uint8Array {
  return hmac(sha256, typeof key === "string" ? encoder.encode(key) : key, encoder.encode(message));
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
