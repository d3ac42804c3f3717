// The PHC string format's base64: standard alphabet, no padding. passlib's "ab64" variant uses
// "." for "+"; it is accepted where passlib writes it (PBKDF2).
import { fromBase64 } from "../../lib/encoding";
import { HashRefused } from "./refusal";

export function decodePhcBase64(text: string, name: string, minBytes: number, maxBytes: number, alphabet: "std" | "ab64" = "std"): Uint8Array {
  const normal = alphabet === "ab64" ? text.replaceAll(".", "+") : text;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(normal) || normal.replace(/=+$/, "").length % 4 === 1) {
    throw new HashRefused(`${name} is not base64`);
  }
  const bytes = fromBase64(normal);
  if (bytes.length < minBytes || bytes.length > maxBytes) throw new HashRefused(`${name} must be ${minBytes} to ${maxBytes} bytes`);
  return bytes;
}
