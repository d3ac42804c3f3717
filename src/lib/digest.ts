// Hashes for secrets that are already high-entropy (tokens, link codes, client secrets) and
// constant-time comparison. Passwords use scrypt instead (core/passwords.ts). node:crypto is
// native in workerd (nodejs_compat), so no JavaScript hash library is needed here.
import { createHash, createHmac } from "node:crypto";
import { base64url } from "./encoding";

const encoder = new TextEncoder();

export function sha256Base64url(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

export function sha256Base64(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

export function hmacSha256(key: Uint8Array | string, message: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(message).digest());
}

export const hmacSha256Base64url = (key: Uint8Array | string, message: string): string => base64url(hmacSha256(key, message));

/**
 * Compares two strings in time that depends only on their lengths (crypto.subtle.timingSafeEqual,
 * a workerd extension, needs equal lengths: unequal ones compare a with itself and answer false).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.byteLength !== y.byteLength) {
    crypto.subtle.timingSafeEqual(x, x);
    return false;
  }
  return crypto.subtle.timingSafeEqual(x, y);
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) {
    crypto.subtle.timingSafeEqual(a, a);
    return false;
  }
  return crypto.subtle.timingSafeEqual(a, b);
}
