// Base64 and base64url through Buffer (nodejs_compat), rather than by hand.
import { Buffer } from "node:buffer";

export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

export const base64url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");

/** Decodes base64 or base64url, padded or not. Characters outside both alphabets are skipped, as Buffer does. */
export function fromBase64(text: string): Uint8Array {
  const buf = Buffer.from(text, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
