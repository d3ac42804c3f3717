// Argon2id and Argon2i in PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash), also under Django's
// "argon2$" prefix. @noble/hashes computes it in pure JavaScript: Workers refuse WebAssembly
// compiled at run time, and argon2's working set (m KiB) is allocated inside the isolate.
import { argon2iAsync, argon2idAsync } from "@noble/hashes/argon2.js";
import { constantTimeEqualBytes } from "../../lib/digest";
import { utf8 } from "../../lib/encoding";
import { decodePhcBase64 } from "./phc";
import { bounded, type ForeignHash, HashRefused } from "./refusal";

/**
 * Bounds: m ≤ 64 MiB (half of an isolate's 128 MB, the most one sign-in may hold), t ≤ 16,
 * m·t ≤ 256 Mi block-KiB (the CPU cost: m=64 MiB at t=4, or OWASP's m=19 MiB at t=2 well inside),
 * p ≤ 16 lanes. Argon2d is not accepted: it is not meant for passwords.
 */
export const ARGON2_BOUNDS = { maxMemoryKiB: 65_536, maxTime: 16, maxMemoryTimesTime: 262_144, maxParallelism: 16 };
const ARGON2 = /^\$(argon2id|argon2i)\$(?:v=(16|19)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function parseArgon2(text: string): ForeignHash {
  const match = ARGON2.exec(text.startsWith("argon2$") ? text.slice(6) : text);
  if (!match) throw new HashRefused("not an argon2 hash: $argon2id$v=19$m=…,t=…,p=…$salt$hash (or $argon2i$)");
  const [, variant, version, mText, tText, pText, saltText, hashText] = match;
  const p = bounded(pText, "argon2 p", 1, ARGON2_BOUNDS.maxParallelism);
  const m = bounded(mText, "argon2 m (KiB)", 8 * p, ARGON2_BOUNDS.maxMemoryKiB);
  const t = bounded(tText, "argon2 t", 1, ARGON2_BOUNDS.maxTime);
  if (m * t > ARGON2_BOUNDS.maxMemoryTimesTime) throw new HashRefused(`argon2 m·t must be at most ${ARGON2_BOUNDS.maxMemoryTimesTime}`);
  const salt = decodePhcBase64(saltText!, "argon2 salt", 8, 64);
  const expected = decodePhcBase64(hashText!, "argon2 hash", 4, 64);
  const derive = variant === "argon2id" ? argon2idAsync : argon2iAsync;
  return {
    format: "argon2",
    async verify(password) {
      const key = await derive(utf8(password), salt, { m, t, p, dkLen: expected.length, version: version === "16" ? 0x10 : 0x13, maxmem: 2 ** 27 });
      return constantTimeEqualBytes(key, expected);
    },
  };
}
