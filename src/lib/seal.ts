// Authenticated encryption of small text payloads (AES-256-GCM through WebCrypto), for data that
// rests somewhere we do not want it readable, such as queue messages that carry reset links and
// PINs. The key is derived from a secret string with HKDF-SHA256, so any long random secret works
// and one secret can key several purposes without two of them sharing a key.
import { base64, fromBase64, utf8 } from "./encoding";

const IV_BYTES = 12;

// Deriving a key costs a few hundred microseconds; an isolate keeps each one it has made. Only
// finished keys are shared between requests, never a derivation under way.
const keys = new Map<string, CryptoKey>();

/** An AES-GCM key for `purpose` derived from `secret` (same inputs, same key). */
export async function sealingKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\n${secret}`;
  const known = keys.get(id);
  if (known) return known;
  const material = await crypto.subtle.importKey("raw", utf8(secret), "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: utf8(purpose) },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  keys.set(id, key);
  return key;
}

/** base64(iv ‖ ciphertext ‖ tag), with a fresh random 96-bit IV each time. */
export async function seal(key: CryptoKey, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, utf8(plaintext)));
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return base64(out);
}

/** The plaintext, or null when the data was altered or sealed with another key. */
export async function unseal(key: CryptoKey, sealed: string): Promise<string | null> {
  const bytes = fromBase64(sealed);
  if (bytes.length <= IV_BYTES) return null;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, IV_BYTES) }, key, bytes.slice(IV_BYTES));
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}
