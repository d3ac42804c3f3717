// Foreign password hashes (issue 12): each format against vectors published with it, against
// hashes made by the format's usual tool, and against the bounds that keep an imported hash
// from burning CPU or memory. Sources are named beside each vector.
import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { HashRefused, importHash, parseForeignHash, verifyForeignHash } from "../../../src/core/hashes";
import { pbkdf2 } from "../../../src/core/hashes/pbkdf2";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (text: string) => new TextEncoder().encode(text);

async function expectVerifies(hash: string, password: string) {
  expect(await verifyForeignHash(password, hash), `${password} against ${hash}`).toBe(true);
  expect(await verifyForeignHash(`${password}x`, hash)).toBe(false);
}

function refusal(hash: string, format?: string, params?: Record<string, unknown>): string {
  try {
    importHash(hash, format, params);
  } catch (e) {
    if (e instanceof HashRefused) return e.message;
    throw e;
  }
  throw new Error(`accepted ${hash}`);
}

describe("bcrypt", () => {
  it("verifies OpenBSD's published vector for the empty password ($2a$06$DCq7…)", async () => {
    // From the OpenBSD bcrypt regression tests (also in jBCrypt's TestBCrypt).
    await expectVerifies("$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.", "");
  });

  it("verifies $2b$, $2y$ and $2a$ hashes made by libxcrypt's crypt(3)", async () => {
    await expectVerifies("$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", "correct horse");
    await expectVerifies("$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", "correct horse");
    await expectVerifies("$2a$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e", "correct horse");
  });

  it("verifies hashes made by bcryptjs (the npm tool), non-ASCII included", async () => {
    await expectVerifies(bcrypt.hashSync("pässwörd 日本", 4), "pässwörd 日本");
  });

  it("refuses costs above 14 and below 4, and malformed strings", () => {
    const body = "abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2";
    expect(refusal(`$2b$15$${body}`)).toMatch(/cost must be a whole number from 4 to 14/);
    expect(refusal(`$2b$03$${body}`)).toMatch(/from 4 to 14/);
    expect(refusal(`$2b$10$${body.slice(1)}`)).toMatch(/not a bcrypt hash/);
    expect(importHash(`$2b$14$${body}`, "bcrypt").format).toBe("bcrypt");
  });
});

describe("argon2", () => {
  // The reference implementation's tests (phc-winner-argon2 src/test.c), password "password", salt "somesalt".
  it("verifies the reference argon2id and argon2i vectors (m=256, t=2, p=1)", async () => {
    await expectVerifies("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password");
    await expectVerifies("$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8", "password");
  });

  it("reads Django's argon2$ prefix", async () => {
    await expectVerifies("argon2$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password");
  });

  it("refuses memory over 64 MiB, t over 16, m·t over 262144, p over 16 and argon2d", () => {
    const tail = "$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
    expect(refusal(`$argon2id$v=19$m=65537,t=1,p=1${tail}`)).toMatch(/m \(KiB\)/);
    expect(refusal(`$argon2id$v=19$m=1024,t=17,p=1${tail}`)).toMatch(/argon2 t/);
    expect(refusal(`$argon2id$v=19$m=65536,t=5,p=1${tail}`)).toMatch(/m·t/);
    expect(refusal(`$argon2id$v=19$m=1024,t=1,p=17${tail}`)).toMatch(/argon2 p/);
    expect(refusal(`$argon2d$v=19$m=256,t=2,p=1${tail}`)).toMatch(/not an argon2 hash/);
    expect(importHash(`$argon2id$v=19$m=65536,t=4,p=4${tail}`, "argon2id").format).toBe("argon2");
  });
});

describe("scrypt", () => {
  it("verifies RFC 7914 §12's scrypt vector (password, NaCl, N=1024, r=8, p=16) as a PHC string", async () => {
    const key = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640";
    const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
    const bytes = Uint8Array.from(key.match(/../g)!, (h) => parseInt(h, 16));
    await expectVerifies(`$scrypt$ln=10,r=8,p=16$${b64(utf8("NaCl"))}$${b64(bytes)}`, "password");
  });

  it("verifies a 64-byte scrypt PHC hash made by Python's hashlib.scrypt", async () => {
    await expectVerifies(
      "$scrypt$ln=10,r=8,p=2$AAECAwQFBgcICQoLDA0ODw$RBjCXYboo4yjHH0P1K75vrL4xGciLt6io+o2v0yqSlqDMCxDMpbj3ZR4N7/uBmzyReEWZs4jFE4piyz/6L+O4g",
      "correct horse",
    );
  });

  it("refuses N·r·p over 2^20 and a working set over 32 MiB", () => {
    expect(refusal("$scrypt$ln=15,r=8,p=5$AAECAwQFBgcICQoLDA0ODw$RBjCXYboo4yjHH0P1K75vrL4xGciLt6io+o2v0yqSlo")).toMatch(/N·r·p/);
    expect(refusal("$scrypt$ln=16,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$RBjCXYboo4yjHH0P1K75vrL4xGciLt6io+o2v0yqSlo")).toMatch(/32 MiB/);
  });
});

describe("Firebase modified scrypt", () => {
  // The example in Firebase's own reference implementation (github.com/firebase/scrypt, README).
  const params = {
    signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    saltSeparator: "Bw==",
    rounds: 8,
    memCost: 14,
    salt: "42xEC+ixf3L2lw==",
  };
  const hash = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";

  it("verifies Firebase's published example (user1password) once its parameters are attached", async () => {
    const { stored, format } = importHash(hash, "firebase-scrypt", params);
    expect(format).toBe("firebase-scrypt");
    expect(stored.startsWith("$firebase-scrypt$ln=14,r=8$")).toBe(true);
    await expectVerifies(stored, "user1password");
  });

  it("accepts the Admin SDK's memoryCost spelling", () => {
    const { memCost, ...rest } = params;
    expect(importHash(hash, "firebase-scrypt", { ...rest, memoryCost: memCost }).format).toBe("firebase-scrypt");
  });

  it("refuses rounds over 8, memCost over 14 and missing parameters", () => {
    expect(refusal(hash, "firebase-scrypt", { ...params, rounds: 9 })).toMatch(/rounds/);
    expect(refusal(hash, "firebase-scrypt", { ...params, memCost: 15 })).toMatch(/memCost/);
    expect(refusal(hash, "firebase-scrypt", { ...params, signerKey: undefined })).toMatch(/signerKey/);
    expect(refusal(hash)).toMatch(/unknown hash format/);
  });
});

describe("PBKDF2", () => {
  it("computes RFC 6070's PBKDF2-HMAC-SHA1 vectors (c = 1, 2, 4096)", async () => {
    const at = async (c: number) => hex(await pbkdf2("sha1", utf8("password"), utf8("salt"), c, 20));
    expect(await at(1)).toBe("0c60c80f961f0e71f3a9b524af6012062fe037a6");
    expect(await at(2)).toBe("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    expect(await at(4096)).toBe("4b007901b765489abead49d926f721d065a429c1");
  });

  it("computes the same RFC 6070 vector on the JavaScript path used above workerd's 100,000-iteration cap", async () => {
    // Forced at 4096 iterations (the cap is a parameter) to keep the suite fast.
    expect(hex(await pbkdf2("sha1", utf8("password"), utf8("salt"), 4096, 20, 1000))).toBe("4b007901b765489abead49d926f721d065a429c1");
    const key = await pbkdf2("sha512", utf8("correct horse"), utf8("seasalt0123"), 2000, 64, 1000);
    expect(hex(key)).toBe(hex(await pbkdf2("sha512", utf8("correct horse"), utf8("seasalt0123"), 2000, 64)));
    // Two blocks: a key longer than one digest.
    const long = await pbkdf2("sha256", utf8("correct horse"), utf8("seasalt0123"), 3000, 48, 1000);
    expect(hex(long)).toBe(hex(await pbkdf2("sha256", utf8("correct horse"), utf8("seasalt0123"), 3000, 48)));
  });

  it("verifies Django's pbkdf2_sha256$ and pbkdf2_sha1$ (made with Python's hashlib.pbkdf2_hmac, as Django does)", async () => {
    await expectVerifies("pbkdf2_sha256$1000$seasalt0123$OqbXxe6PGNMkBy92TzNh5t7W/wJBrykUau70A+QmPzA=", "correct horse");
    await expectVerifies("pbkdf2_sha1$2000$seasalt0123$ETu0GifJO7UOpIOjcjsRqunF1v8=", "correct horse");
  });

  it("verifies PHC ($pbkdf2-sha512$i=…,l=…) and passlib ($pbkdf2-sha256$rounds$, ab64) spellings", async () => {
    await expectVerifies(
      "$pbkdf2-sha512$i=5000,l=64$AAECAwQFBgcICQoLDA0ODw$+fUXt7CYNGWPxxbi+RePnlKXESj22m0qDpWpApxCBikauOu1L0fxVcvoKuOHje7cJV+N0ak8xB2/5g69dB9rrg",
      "correct horse",
    );
    await expectVerifies(
      "$pbkdf2-sha512$5000$AAECAwQFBgcICQoLDA0ODw$.fUXt7CYNGWPxxbi.RePnlKXESj22m0qDpWpApxCBikauOu1L0fxVcvoKuOHje7cJV.N0ak8xB2/5g69dB9rrg",
      "correct horse",
    );
    await expectVerifies("$pbkdf2-sha256$i=3000,l=32$AAECAwQFBgcICQoLDA0ODw$YB5LwBNmL1ZIlCLtzz4YLFVfjHK0HSBLMeXpMcUrb48", "correct horse");
    await expectVerifies("$pbkdf2$4000$AAECAwQFBgcICQoLDA0ODw$VtBiFV.sqBjoFycqLg8Le7YXK74", "correct horse");
  });

  it("refuses more than 1,200,000 iterations", () => {
    expect(refusal("pbkdf2_sha256$1200001$seasalt0123$OqbXxe6PGNMkBy92TzNh5t7W/wJBrykUau70A+QmPzA=")).toMatch(/iterations/);
    expect(importHash("pbkdf2_sha256$1200000$seasalt0123$OqbXxe6PGNMkBy92TzNh5t7W/wJBrykUau70A+QmPzA=", "django").format).toBe("pbkdf2");
  });
});

describe("SHA-crypt and MD5-crypt", () => {
  // Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors.
  it("verifies the specification's $5$ and $6$ vectors, default and rounds=10000", async () => {
    await expectVerifies("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!");
    await expectVerifies("$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!");
    await expectVerifies("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!");
    await expectVerifies(
      "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
      "Hello world!",
    );
  });

  it("verifies $5$ and $6$ hashes made by libxcrypt's crypt(3), UTF-8 included", async () => {
    await expectVerifies("$5$x9SaltSalt$GYtTTbVlD4n96ApUxYEWtAM6wsgiGwroc7YFrRV.ScD", "correct horse");
    await expectVerifies("$6$x9SaltSalt$33S4mnO1GbWiJJZpJdqyuy0B0Y5iytkdmGve01WYfjemOaFoQwhkyyf8nDjjbKL/f3uxdsOiych0nRZ1FTSG0.", "correct horse");
    await expectVerifies(
      "$6$rounds=1000$shortsalt$DhVn7j5IfmrJugkIms1NGUZgplsRIIePtICB9VBA6TNlbQEOJ767l27dv98uhGnHi8s/s7Oeh9iqmfmiZ.kDM.",
      "correct horse 日本",
    );
  });

  it("verifies MD5-crypt: passlib's documented example and libxcrypt-made hashes (empty and long passwords)", async () => {
    await expectVerifies("$1$3azHgidD$SrJPt7B.9rekpmwJwtON31", "password");
    await expectVerifies("$1$x9Salt12$6mgtcw44PFDDDUoq/kDJ10", "correct horse");
    await expectVerifies("$1$x9Salt12$gMG6COuY8yG6SPYvZ26JN/", "");
    await expectVerifies("$1$abc$6zlPgzqSKYulnq3x0UaPr.", "a password longer than sixteen bytes");
  });

  it("refuses more than 1,000,000 SHA-crypt rounds and a hash of the wrong length", () => {
    expect(refusal("$6$rounds=1000001$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")).toMatch(/rounds/);
    expect(refusal("$5$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")).toMatch(/wrong length/);
  });
});

describe("import rules", () => {
  it("refuses unknown formats, a hashFormat that contradicts the hash, and oversize strings", () => {
    expect(refusal("md5:5f4dcc3b5aa765d61d8327deb882cf99")).toMatch(/unknown hash format/);
    expect(refusal("$1$3azHgidD$SrJPt7B.9rekpmwJwtON31", "bcrypt")).toMatch(/is md5-crypt, not bcrypt/);
    expect(refusal("$1$x", "whirlpool")).toMatch(/unknown hashFormat/);
    expect(refusal(`$2b$10$${"a".repeat(2000)}`)).toMatch(/longer than 1024/);
  });

  it("answers false, never throws, for an unusable stored hash at sign-in", async () => {
    expect(await verifyForeignHash("x", "garbage")).toBe(false);
    expect(() => parseForeignHash("garbage")).toThrow(HashRefused);
  });
});
