// Password hashing: scrypt from node:crypto (native BoringSSL in workerd), stored as a PHC
// string that carries its own parameters, so a hash made with older parameters still verifies
// and is upgraded at the next successful sign-in (needsRehash).
//
// Parameters: N=2^14, r=8, p=5 is one of OWASP's equal-cost scrypt settings (with N=2^17 p=1,
// N=2^16 p=2, N=2^15 p=3). It is the one that fits Workers: workerd caps N·r·p at 2^20
// (2^14·8·5 = 655,360), and its 16 MiB working set leaves room for concurrent requests in a
// 128 MB isolate, where N=2^17 would need 128 MiB. `npm run bench` prints its cost.
import { scrypt as scryptCallback } from "node:crypto";
import { constantTimeEqual, hmacSha256 } from "../lib/digest";
import { base64, fromBase64 } from "../lib/encoding";
import { randomBytes } from "../lib/random";
import { UNKNOWN_PASSWORD, verifyForeignHash } from "./hashes";

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export const CURRENT_PARAMS: ScryptParams = { logN: 14, r: 8, p: 5 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const WORKERD_COST_CAP = 2 ** 20;
const MAX_SCRYPT_MEMORY = 32 * 1024 * 1024;

export interface PasswordHasherOptions {
  /** Optional secret mixed in with HMAC-SHA256 before scrypt; never stored with the hash. */
  pepper?: string | undefined;
  params?: ScryptParams;
}

interface ParsedHash {
  params: ScryptParams;
  peppered: boolean;
  salt: Uint8Array;
  hash: Uint8Array;
}

/** NIST 800-63B: compare passwords after Unicode NFKC normalisation, never truncated. */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

function scrypt(input: Uint8Array | string, salt: Uint8Array, { logN, r, p }: ScryptParams): Promise<Uint8Array> {
  const N = 2 ** logN;
  if (N * r * p > WORKERD_COST_CAP) throw new RangeError("scrypt parameters exceed workerd's N·r·p cap");
  return new Promise((resolve, reject) => {
    // maxmem must exceed 128·N·r (plus slack) or node refuses the call.
    scryptCallback(input, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}

const b64 = (bytes: Uint8Array) => base64(bytes).replace(/=+$/, "");

export function formatPhc(params: ScryptParams, peppered: boolean, salt: Uint8Array, hash: Uint8Array): string {
  const pep = peppered ? ",pep=1" : "";
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}${pep}$${b64(salt)}$${b64(hash)}`;
}

export function parsePhc(phc: string): ParsedHash | null {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})(,pep=1)?\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  if (!match) return null;
  const [, logN, r, p, pep, salt, hash] = match;
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  if (params.logN < 1 || params.r < 1 || params.p < 1) return null;
  if (2 ** params.logN * params.r * params.p > WORKERD_COST_CAP) return null;
  // An isolate has 128 MB for all its requests: refuse hashes (imports) whose 128·N·r working
  // set would not fit beside others, or anyone could make us allocate it with a wrong password.
  if (128 * 2 ** params.logN * params.r > MAX_SCRYPT_MEMORY) return null;
  const key = fromBase64(hash!);
  if (key.length !== KEY_LENGTH) return null;
  return { params, peppered: Boolean(pep), salt: fromBase64(salt!), hash: key };
}

export class PasswordHasher {
  private readonly pepper: string | undefined;
  private readonly params: ScryptParams;

  constructor(options: PasswordHasherOptions = {}) {
    this.pepper = options.pepper || undefined;
    this.params = options.params ?? CURRENT_PARAMS;
  }

  private input(password: string, peppered: boolean): Uint8Array | string {
    const normal = normalizePassword(password);
    return peppered && this.pepper ? hmacSha256(this.pepper, normal) : normal;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const peppered = this.pepper !== undefined;
    const key = await scrypt(this.input(password, peppered), salt, this.params);
    return formatPhc(this.params, peppered, salt, key);
  }

  /**
   * Checks a password against a native hash or an imported foreign one (core/hashes). A foreign
   * hash always needsRehash, so the caller's upgrade path replaces it after one success.
   */
  async verify(password: string, phc: string): Promise<boolean> {
    const parsed = parsePhc(phc);
    if (phc === UNKNOWN_PASSWORD) {
      await this.burn(password);
      return false;
    }
    // Foreign hashes get the password as typed: their makers did not normalise it.
    if (!parsed) return verifyForeignHash(password, phc);
    // A peppered hash cannot be checked once the pepper is gone: fail closed.
    if (parsed.peppered && !this.pepper) return false;
    const key = await scrypt(this.input(password, parsed.peppered), parsed.salt, parsed.params);
    return constantTimeEqual(b64(key), b64(parsed.hash));
  }

  /** True when the stored hash is foreign or was made with other parameters or pepper state than today's. */
  needsRehash(phc: string): boolean {
    const parsed = parsePhc(phc);
    if (!parsed) return true;
    const { logN, r, p } = parsed.params;
    return (
      logN !== this.params.logN || r !== this.params.r || p !== this.params.p || parsed.peppered !== (this.pepper !== undefined)
    );
  }

  /**
   * Spends the time of one verification, so that "no such user" and "wrong password" take as
   * long as each other.
   */
  async burn(password: string): Promise<void> {
    await scrypt(this.input(password, false), DUMMY_SALT, this.params);
  }
}

const DUMMY_SALT = new Uint8Array(SALT_LENGTH);
