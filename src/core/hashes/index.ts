// Password hashes made elsewhere (issue 12): recognised by their prefix, checked against bounds
// when they are imported, verified at sign-in, and replaced by a native scrypt hash at the first
// successful sign-in (core/users.ts authenticate → PasswordHasher.needsRehash). Each format
// lives in its own file; this one picks the file and speaks for all of them.
import { parseArgon2 } from "./argon2";
import { parseBcrypt } from "./bcrypt";
import { parseMd5Crypt, parseShaCrypt } from "./crypt";
import { parsePbkdf2 } from "./pbkdf2";
import { type ForeignHash, type HashFormat, HashRefused } from "./refusal";
import { type FirebaseParams, formatFirebase, parseFirebase, parseScrypt } from "./scrypt";

export { type ForeignHash, type HashFormat, HashRefused };
export type { FirebaseParams };

const PARSERS: [prefix: RegExp, HashFormat, (text: string) => ForeignHash][] = [
  [/^\$2[aby]\$/, "bcrypt", parseBcrypt],
  [/^(argon2)?\$argon2i?d?\$/, "argon2", parseArgon2],
  [/^\$scrypt\$/, "scrypt", parseScrypt],
  [/^\$firebase-scrypt\$/, "firebase-scrypt", parseFirebase],
  [/^(\$pbkdf2(-sha\d+)?\$|pbkdf2_sha(1|256)\$)/, "pbkdf2", parsePbkdf2],
  [/^\$[56]\$/, "sha-crypt", parseShaCrypt],
  [/^\$1\$/, "md5-crypt", parseMd5Crypt],
];

/** Names an importer may give as hashFormat, and the family each belongs to. */
const FORMAT_NAMES: Record<string, HashFormat> = {
  bcrypt: "bcrypt",
  argon2: "argon2",
  argon2id: "argon2",
  argon2i: "argon2",
  scrypt: "scrypt",
  "firebase-scrypt": "firebase-scrypt",
  pbkdf2: "pbkdf2",
  "pbkdf2-sha1": "pbkdf2",
  "pbkdf2-sha256": "pbkdf2",
  "pbkdf2-sha512": "pbkdf2",
  django: "pbkdf2",
  "sha-crypt": "sha-crypt",
  "sha256-crypt": "sha-crypt",
  "sha512-crypt": "sha-crypt",
  "md5-crypt": "md5-crypt",
};
export const HASH_FORMAT_NAMES = Object.keys(FORMAT_NAMES);

/**
 * Stored for a user imported with a password that exists elsewhere but could not be exported
 * (Kii): the account has a password, so resets work as for anyone, but no password matches it.
 */
export const UNKNOWN_PASSWORD = "$unknown$";

/** A stored foreign hash, or why it is not one. Throws HashRefused. */
export function parseForeignHash(stored: string): ForeignHash {
  if (stored.length > 1024) throw new HashRefused("the hash is longer than 1024 characters");
  for (const [prefix, , parse] of PARSERS) if (prefix.test(stored)) return parse(stored);
  throw new HashRefused("unknown hash format");
}

/** Checks a password against a stored foreign hash; false for a wrong password or an unusable hash. */
export async function verifyForeignHash(password: string, stored: string): Promise<boolean> {
  let hash: ForeignHash;
  try {
    hash = parseForeignHash(stored);
  } catch (e) {
    if (e instanceof HashRefused) return false;
    throw e;
  }
  return hash.verify(password);
}

export interface ImportedHash {
  /** What goes into users.password_hash. */
  stored: string;
  format: HashFormat;
}

/**
 * Accepts a hash for import, or throws HashRefused with the reason. `format` is optional for
 * self-describing strings; Firebase's bare base64 hashes need it and their `params`.
 */
export function importHash(hash: string, format?: string, params?: Record<string, unknown>): ImportedHash {
  const family = format === undefined ? undefined : FORMAT_NAMES[format];
  if (format !== undefined && !family) throw new HashRefused(`unknown hashFormat "${format}"; known: ${HASH_FORMAT_NAMES.join(", ")}`);
  if (family === "firebase-scrypt") {
    const stored = formatFirebase(hash, (params ?? {}) as unknown as FirebaseParams);
    parseFirebase(stored);
    return { stored, format: family };
  }
  const parsed = parseForeignHash(hash);
  if (family && parsed.format !== family) throw new HashRefused(`the hash is ${parsed.format}, not ${format}`);
  return { stored: hash, format: parsed.format };
}
