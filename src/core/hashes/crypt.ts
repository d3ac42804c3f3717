// The Unix crypt(3) family: SHA-crypt ($5$ SHA-256, $6$ SHA-512; Ulrich Drepper's "Unix crypt
// using SHA-256 and SHA-512" specification) and the legacy MD5-crypt ($1$, Poul-Henning Kamp's
// FreeBSD scheme), written from their published descriptions over node:crypto's digests.
import { createHash } from "node:crypto";
import { constantTimeEqual } from "../../lib/digest";
import { utf8 } from "../../lib/encoding";
import { bounded, type ForeignHash, HashRefused } from "./refusal";

/** glibc's default is 5,000 rounds; 1,000,000 of SHA-512 costs about as much as bcrypt 12–14. */
export const SHA_CRYPT_MAX_ROUNDS = 1_000_000;
const ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** crypt's base64: 24 bits at a time, least significant 6 bits first, `chars` characters. */
function encode24(b2: number, b1: number, b0: number, chars: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = "";
  for (let i = 0; i < chars; i++, w >>= 6) out += ALPHABET[w & 0x3f];
  return out;
}

const digest = (algorithm: string, ...parts: Uint8Array[]): Uint8Array => {
  const h = createHash(algorithm);
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
};

/** `length` bytes of `block` repeated. */
function repeat(block: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += block.length) out.set(block.subarray(0, Math.min(block.length, length - i)), i);
  return out;
}

export function shaCrypt(variant: "5" | "6", password: Uint8Array, salt: Uint8Array, rounds: number): Uint8Array {
  const algorithm = variant === "5" ? "sha256" : "sha512";
  const size = variant === "5" ? 32 : 64;
  const P = password;
  const B = digest(algorithm, P, salt, P);
  const a = createHash(algorithm).update(P).update(salt).update(repeat(B, P.length));
  for (let n = P.length; n > 0; n >>= 1) a.update(n & 1 ? B : P);
  let C = new Uint8Array(a.digest());
  const dp = createHash(algorithm);
  for (let i = 0; i < P.length; i++) dp.update(P);
  const pBytes = repeat(new Uint8Array(dp.digest()), P.length);
  const ds = createHash(algorithm);
  for (let i = 0; i < 16 + C[0]!; i++) ds.update(salt);
  const sBytes = repeat(new Uint8Array(ds.digest()), salt.length);
  for (let i = 0; i < rounds; i++) {
    const h = createHash(algorithm);
    h.update(i & 1 ? pBytes : C);
    if (i % 3) h.update(sBytes);
    if (i % 7) h.update(pBytes);
    h.update(i & 1 ? C : pBytes);
    C = new Uint8Array(h.digest());
  }
  if (C.length !== size) throw new Error("unexpected digest size");
  return C;
}

/** The byte order of SHA-crypt's output encoding: triples cycling through the digest. */
function encodeShaCrypt(variant: "5" | "6", c: Uint8Array): string {
  let out = "";
  if (variant === "5") {
    for (let k = 0; k < 10; k++) {
      const [x, y, z] = [c[k]!, c[k + 10]!, c[k + 20]!];
      out += k % 3 === 0 ? encode24(x, y, z, 4) : k % 3 === 1 ? encode24(z, x, y, 4) : encode24(y, z, x, 4);
    }
    return out + encode24(0, c[31]!, c[30]!, 3);
  }
  for (let k = 0; k < 21; k++) {
    const [x, y, z] = [c[k]!, c[k + 21]!, c[k + 42]!];
    out += k % 3 === 0 ? encode24(x, y, z, 4) : k % 3 === 1 ? encode24(y, z, x, 4) : encode24(z, x, y, 4);
  }
  return out + encode24(0, 0, c[63]!, 2);
}

const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,10})\$)?([^$:\n]{0,16})\$([./A-Za-z0-9]{43}|[./A-Za-z0-9]{86})$/;

export function parseShaCrypt(text: string): ForeignHash {
  const match = SHA_CRYPT.exec(text);
  if (!match) throw new HashRefused("not a SHA-crypt hash: $5$ or $6$, optional rounds=N$, a salt of up to 16 characters, then the hash");
  const variant = match[1] as "5" | "6";
  if (match[4]!.length !== (variant === "5" ? 43 : 86)) throw new HashRefused("SHA-crypt hash has the wrong length for its variant");
  // crypt(3) clamps rounds below 1000 up to 1000; above our bound we refuse rather than clamp.
  const rounds = match[2] === undefined ? 5000 : Math.max(1000, bounded(match[2], "SHA-crypt rounds", 1, SHA_CRYPT_MAX_ROUNDS));
  const salt = utf8(match[3]!);
  const expected = match[4]!;
  return {
    format: "sha-crypt",
    verify: async (password) => constantTimeEqual(encodeShaCrypt(variant, shaCrypt(variant, utf8(password), salt, rounds)), expected),
  };
}

export function md5Crypt(password: Uint8Array, salt: Uint8Array): Uint8Array {
  const magic = utf8("$1$");
  let final = digest("md5", password, salt, password);
  const ctx = createHash("md5").update(password).update(magic).update(salt);
  for (let n = password.length; n > 0; n -= 16) ctx.update(final.subarray(0, Math.min(16, n)));
  // The bits of the length pick a zero byte or the password's first byte (the scheme's quirk).
  const zero = new Uint8Array(1);
  for (let n = password.length; n; n >>= 1) ctx.update(n & 1 ? zero : password.subarray(0, 1));
  final = new Uint8Array(ctx.digest());
  for (let i = 0; i < 1000; i++) {
    const h = createHash("md5");
    h.update(i & 1 ? password : final);
    if (i % 3) h.update(salt);
    if (i % 7) h.update(password);
    h.update(i & 1 ? final : password);
    final = new Uint8Array(h.digest());
  }
  return final;
}

function encodeMd5Crypt(f: Uint8Array): string {
  let out = "";
  for (let k = 0; k < 5; k++) out += encode24(f[k]!, f[k + 6]!, f[k === 4 ? 5 : k + 12]!, 4);
  return out + encode24(0, 0, f[11]!, 2);
}

const MD5_CRYPT = /^\$1\$([^$:\n]{0,8})\$([./A-Za-z0-9]{22})$/;

export function parseMd5Crypt(text: string): ForeignHash {
  const match = MD5_CRYPT.exec(text);
  if (!match) throw new HashRefused("not an MD5-crypt hash: $1$, a salt of up to 8 characters, then 22 characters");
  const salt = utf8(match[1]!);
  const expected = match[2]!;
  return {
    format: "md5-crypt",
    verify: async (password) => constantTimeEqual(encodeMd5Crypt(md5Crypt(utf8(password), salt)), expected),
  };
}
