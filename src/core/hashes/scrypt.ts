// scrypt from elsewhere: PHC strings ($scrypt$ln=…,r=…,p=…$salt$hash, as passlib and our own
// hasher write them) whose key length is not ours, and Firebase Authentication's modified
// scrypt. Both run on node:crypto's scrypt, native in workerd.
import { Buffer } from "node:buffer";
import { createCipheriv, scrypt as scryptCallback } from "node:crypto";
import { constantTimeEqualBytes } from "../../lib/digest";
import { base64, utf8 } from "../../lib/encoding";
import { decodePhcBase64 } from "./phc";
import { bounded, type ForeignHash, HashRefused } from "./refusal";

/**
 * Bounds shared with the native hasher: workerd refuses N·r·p > 2^20, and the 128·N·r working
 * set is kept within 32 MiB so that a hash cannot take an isolate's memory from its neighbours.
 */
const MAX_COST = 2 ** 20;
const MAX_MEMORY = 32 * 1024 * 1024;

function scrypt(password: Uint8Array, salt: Uint8Array, N: number, r: number, p: number, keyLength: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}

function checkCost(logN: number, r: number, p: number): void {
  if (2 ** logN * r * p > MAX_COST) throw new HashRefused("scrypt N·r·p must be at most 2^20");
  if (128 * 2 ** logN * r > MAX_MEMORY) throw new HashRefused("scrypt memory (128·N·r) must be at most 32 MiB");
}

const SCRYPT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function parseScrypt(text: string): ForeignHash {
  const match = SCRYPT.exec(text);
  if (!match) throw new HashRefused("not a scrypt hash: $scrypt$ln=…,r=…,p=…$salt$hash");
  const logN = bounded(match[1], "scrypt ln", 1, 20);
  const r = bounded(match[2], "scrypt r", 1, 32);
  const p = bounded(match[3], "scrypt p", 1, 16);
  checkCost(logN, r, p);
  const salt = decodePhcBase64(match[4]!, "scrypt salt", 1, 64);
  const expected = decodePhcBase64(match[5]!, "scrypt hash", 16, 64);
  return {
    format: "scrypt",
    verify: async (password) => constantTimeEqualBytes(await scrypt(utf8(password), salt, 2 ** logN, r, p, expected.length), expected),
  };
}

/**
 * Firebase's per-project hash parameters (Console → Authentication → Password hash parameters),
 * with each user's salt and hash from `firebase auth:export`. All values base64 as Firebase shows them.
 */
export interface FirebaseParams {
  signerKey: string;
  saltSeparator: string;
  rounds: number;
  /** Firebase's console says "mem_cost", its Admin SDK "memoryCost"; either is read. */
  memCost?: number;
  memoryCost?: number;
  salt: string;
}

/** Firebase's own ranges (rounds 1–8, memCost 1–14); N=2^14 with r=8 is 16 MiB, as ours. */
export const FIREBASE_BOUNDS = { maxRounds: 8, maxMemCost: 14 };
const b64 = (bytes: Uint8Array) => base64(bytes).replace(/=+$/, "");

/** The stored form: every parameter in one string, so the hash needs no side table. */
export function formatFirebase(hash: string, params: FirebaseParams): string {
  const rounds = bounded(String(params.rounds), "Firebase rounds", 1, FIREBASE_BOUNDS.maxRounds);
  const memCost = bounded(String(params.memCost ?? params.memoryCost), "Firebase memCost", 1, FIREBASE_BOUNDS.maxMemCost);
  const signerKey = decodePhcBase64(String(params.signerKey ?? ""), "Firebase signerKey", 16, 128);
  const separator = decodePhcBase64(String(params.saltSeparator ?? ""), "Firebase saltSeparator", 1, 64);
  const salt = decodePhcBase64(String(params.salt ?? ""), "Firebase salt", 1, 64);
  const key = decodePhcBase64(hash, "Firebase passwordHash", 16, 128);
  return `$firebase-scrypt$ln=${memCost},r=${rounds}$${b64(signerKey)}$${b64(separator)}$${b64(salt)}$${b64(key)}`;
}

const FIREBASE = /^\$firebase-scrypt\$ln=(\d+),r=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function parseFirebase(text: string): ForeignHash {
  const match = FIREBASE.exec(text);
  if (!match) throw new HashRefused("not a Firebase scrypt hash");
  const logN = bounded(match[1], "Firebase memCost", 1, FIREBASE_BOUNDS.maxMemCost);
  const r = bounded(match[2], "Firebase rounds", 1, FIREBASE_BOUNDS.maxRounds);
  checkCost(logN, r, 1);
  const signerKey = decodePhcBase64(match[3]!, "Firebase signerKey", 16, 128);
  const separator = decodePhcBase64(match[4]!, "Firebase saltSeparator", 1, 64);
  const salt = decodePhcBase64(match[5]!, "Firebase salt", 1, 64);
  const expected = decodePhcBase64(match[6]!, "Firebase passwordHash", 16, 128);
  return {
    format: "firebase-scrypt",
    async verify(password) {
      // Firebase's scheme: scrypt(password, salt ‖ separator, N=2^memCost, r=rounds, p=1, 64 bytes);
      // its first 32 bytes key AES-256-CTR (zero IV), which encrypts the project's signer key.
      const derived = await scrypt(utf8(password), concat(salt, separator), 2 ** logN, r, 1, 64);
      const cipher = createCipheriv("aes-256-ctr", derived.subarray(0, 32), new Uint8Array(16));
      const out = new Uint8Array(Buffer.concat([cipher.update(signerKey), cipher.final()]));
      return constantTimeEqualBytes(out, expected);
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
