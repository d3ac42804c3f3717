// PBKDF2 with HMAC-SHA1, SHA-256 or SHA-512 in three spellings:
//   passlib      $pbkdf2-sha256$29000$salt$hash        (ab64: "." for "+"; $pbkdf2$ is SHA-1)
//   PHC          $pbkdf2-sha256$i=600000,l=32$salt$hash
//   Django       pbkdf2_sha256$870000$salt$hash=      (salt used as text, hash padded base64)
import { pbkdf2 as nodePbkdf2 } from "node:crypto";
import { pbkdf2Async } from "@noble/hashes/pbkdf2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { constantTimeEqualBytes } from "../../lib/digest";
import { utf8 } from "../../lib/encoding";
import { decodePhcBase64 } from "./phc";
import { bounded, type ForeignHash, HashRefused } from "./refusal";

/** Django 5.2's default is 1,000,000 and 6.0's 1,200,000; nothing above that is accepted. */
export const PBKDF2_MAX_ITERATIONS = 1_200_000;
/**
 * workerd refuses more than 100,000 iterations in production (node:crypto and WebCrypto both;
 * local workerd does not enforce it). Larger counts run on @noble/hashes' PBKDF2, which is plain
 * per-iteration HMAC in JavaScript and yields to the event loop while it works. (Measured with
 * bench/hashes.mjs: one node:crypto createHmac per iteration was about twice as slow as this.)
 */
export const NATIVE_PBKDF2_MAX = 100_000;

type Digest = "sha1" | "sha256" | "sha512";
const NOBLE = { sha1, sha256, sha512 } as const;
const DIGEST_BYTES = { sha1: 20, sha256: 32, sha512: 64 } as const;

export function pbkdf2(
  digest: Digest,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  keyLength: number,
  nativeMax = NATIVE_PBKDF2_MAX,
): Promise<Uint8Array> {
  if (iterations > nativeMax) {
    return pbkdf2Async(NOBLE[digest], password, salt, { c: iterations, dkLen: keyLength, asyncTick: 50 });
  }
  return new Promise((resolve, reject) => {
    nodePbkdf2(password, salt, iterations, keyLength, digest, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))));
  });
}

const PASSLIB = /^\$pbkdf2(?:-(sha256|sha512))?\$(\d+)\$([./A-Za-z0-9]+)\$([./A-Za-z0-9]+)$/;
const PHC = /^\$pbkdf2-(sha1|sha256|sha512)\$i=(\d+)(?:,l=(\d+))?\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const DJANGO = /^pbkdf2_(sha1|sha256)\$(\d+)\$([^$]{1,128})\$([A-Za-z0-9+/]+={0,2})$/;

export function parsePbkdf2(text: string): ForeignHash {
  let digest: Digest, iterationsText: string | undefined, salt: Uint8Array, expected: Uint8Array;
  let match: RegExpExecArray | null;
  if ((match = PHC.exec(text))) {
    digest = match[1] as Digest;
    iterationsText = match[2];
    salt = decodePhcBase64(match[4]!, "PBKDF2 salt", 8, 64);
    expected = decodePhcBase64(match[5]!, "PBKDF2 hash", 16, 64);
    if (match[3] !== undefined && Number(match[3]) !== expected.length) throw new HashRefused("PBKDF2 l= does not match the hash length");
  } else if ((match = PASSLIB.exec(text))) {
    digest = (match[1] as Digest | undefined) ?? "sha1";
    iterationsText = match[2];
    salt = decodePhcBase64(match[3]!, "PBKDF2 salt", 4, 64, "ab64");
    expected = decodePhcBase64(match[4]!, "PBKDF2 hash", 16, 64, "ab64");
  } else if ((match = DJANGO.exec(text))) {
    digest = match[1] as Digest;
    iterationsText = match[2];
    salt = utf8(match[3]!);
    expected = decodePhcBase64(match[4]!, "PBKDF2 hash", 16, 64);
  } else {
    throw new HashRefused("not a PBKDF2 hash: $pbkdf2-sha256$i=…$salt$hash, passlib's $pbkdf2-sha256$rounds$salt$hash or Django's pbkdf2_sha256$…");
  }
  const iterations = bounded(iterationsText, "PBKDF2 iterations", 1, PBKDF2_MAX_ITERATIONS);
  if (expected.length > DIGEST_BYTES[digest] * 2) throw new HashRefused("PBKDF2 hash is longer than two digests");
  return {
    format: "pbkdf2",
    verify: async (password) => constantTimeEqualBytes(await pbkdf2(digest, utf8(password), salt, iterations, expected.length), expected),
  };
}
