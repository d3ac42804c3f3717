// Password hashing (SPEC §8, §9): PHC strings that carry their parameters, standard scrypt,
// NFKC without truncation, an optional pepper, and workerd's N·r·p cap.
import { scrypt } from "@noble/hashes/scrypt.js";
import { describe, expect, it } from "vitest";
import { CURRENT_PARAMS, formatPhc, PasswordHasher, parsePhc, type ScryptParams } from "../../src/core/passwords";

const FAST: ScryptParams = { logN: 10, r: 8, p: 1 };
const fast = new PasswordHasher({ params: FAST });
const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)(,pep=1)?\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Decodes unpadded standard base64 independently of the code under test. */
function decodeBase64(text: string): Uint8Array {
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

function fields(phc: string) {
  const m = PHC.exec(phc);
  expect(m, phc).not.toBeNull();
  const [, ln, r, p, pep, salt, hash] = m!;
  return { logN: Number(ln), r: Number(r), p: Number(p), peppered: pep !== undefined, salt: decodeBase64(salt!), hash: decodeBase64(hash!) };
}

describe("PHC format", () => {
  it("stores hashes at the current parameters as $scrypt$ln=14,r=8,p=5$salt$hash", async () => {
    const phc = await new PasswordHasher().hash("correct horse");
    expect(phc).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(CURRENT_PARAMS).toEqual({ logN: 14, r: 8, p: 5 });
    const f = fields(phc);
    expect(f.salt).toHaveLength(16);
    expect(f.hash).toHaveLength(32);
  });

  it("uses a fresh salt for every hash of the same password", async () => {
    const a = fields(await fast.hash("same password"));
    const b = fields(await fast.hash("same password"));
    expect(a.salt).not.toEqual(b.salt);
    expect(a.hash).not.toEqual(b.hash);
  });

  it("round-trips through parsePhc and formatPhc", async () => {
    const phc = await fast.hash("round trip");
    const parsed = parsePhc(phc)!;
    expect(parsed.params).toEqual(FAST);
    expect(parsed.peppered).toBe(false);
    expect(formatPhc(parsed.params, parsed.peppered, parsed.salt, parsed.hash)).toBe(phc);
  });

  it.each([
    ["not a PHC string", "hunter2"],
    ["another algorithm", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"],
    ["a missing hash", "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0"],
    ["a zero parameter", "$scrypt$ln=10,r=0,p=1$c2FsdA$aGFzaA"],
    ["bad base64", "$scrypt$ln=10,r=8,p=1$c2F*dA$aGFzaA"],
  ])("parsePhc rejects %s", (_, phc) => {
    expect(parsePhc(phc)).toBeNull();
  });
});

describe("verification", () => {
  it("accepts the right password and refuses a wrong one", async () => {
    const phc = await fast.hash("correct horse");
    expect(await fast.verify("correct horse", phc)).toBe(true);
    expect(await fast.verify("correct horsE", phc)).toBe(false);
    expect(await fast.verify("", phc)).toBe(false);
  });

  it("verifies a hash made at the current parameters", async () => {
    const hasher = new PasswordHasher();
    const phc = await hasher.hash("correct horse");
    expect(await hasher.verify("correct horse", phc)).toBe(true);
    expect(await hasher.verify("correct horse ", phc)).toBe(false);
  });

  it("verifies a hash made with other parameters than its own (parameters come from the string)", async () => {
    const old = await new PasswordHasher({ params: { logN: 11, r: 4, p: 2 } }).hash("older hash");
    expect(await fast.verify("older hash", old)).toBe(true);
    expect(await fast.verify("older hasH", old)).toBe(false);
  });

  it("treats an unparseable stored hash as a failed verification", async () => {
    expect(await fast.verify("anything", "not-a-hash")).toBe(false);
    expect(await fast.verify("", "")).toBe(false);
  });

  it("compares after NFKC: full-width and composed forms equal their plain forms", async () => {
    const phc = await fast.hash("password");
    expect(await fast.verify("ｐａｓｓｗｏｒｄ", phc)).toBe(true);
    const composed = await fast.hash("caf\u00e9 au lait");
    expect(await fast.verify("cafe\u0301 au lait", composed)).toBe(true);
    expect(await fast.verify("cafe au lait", composed)).toBe(false);
  });

  it("never truncates: 200-character passwords that differ only in the last character do not match", async () => {
    const long = "x".repeat(199);
    const phc = await fast.hash(long + "a");
    expect(await fast.verify(long + "a", phc)).toBe(true);
    expect(await fast.verify(long + "b", phc)).toBe(false);
    expect(await fast.verify(long, phc)).toBe(false);
  });
});

describe("standard scrypt", () => {
  it("matches an independent scrypt (@noble/hashes) over the NFKC password and the stored salt", async () => {
    const phc = await fast.hash("ｐａｓｓ ｗｏｒｄ");
    const f = fields(phc);
    expect({ logN: f.logN, r: f.r, p: f.p }).toEqual(FAST);
    const expected = scrypt("pass word", f.salt, { N: 2 ** f.logN, r: f.r, p: f.p, dkLen: 32 });
    expect(f.hash).toEqual(expected);
  });

  it("matches an independent scrypt at the current parameters", async () => {
    const f = fields(await new PasswordHasher().hash("current parameters"));
    const expected = scrypt("current parameters", f.salt, { N: 2 ** CURRENT_PARAMS.logN, r: CURRENT_PARAMS.r, p: CURRENT_PARAMS.p, dkLen: 32 });
    expect(f.hash).toEqual(expected);
  });

  it("verifies the RFC 7914 test vector (password / NaCl, N=1024, r=8, p=16)", async () => {
    // First 32 bytes of the RFC's 64-byte output: PBKDF2 output blocks do not depend on dkLen.
    const rfc = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162";
    const hash = Uint8Array.from(rfc.match(/../g)!, (h) => parseInt(h, 16));
    const phc = formatPhc({ logN: 10, r: 8, p: 16 }, false, new TextEncoder().encode("NaCl"), hash);
    expect(phc).toBe("$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI");
    expect(await fast.verify("password", phc)).toBe(true);
    expect(await fast.verify("Password", phc)).toBe(false);
  });
});

describe("pepper", () => {
  const peppered = new PasswordHasher({ params: FAST, pepper: "a server-side secret" });

  it("marks peppered hashes and verifies them only with the same pepper", async () => {
    const phc = await peppered.hash("correct horse");
    expect(fields(phc).peppered).toBe(true);
    expect(phc).toContain(",pep=1$");
    expect(await peppered.verify("correct horse", phc)).toBe(true);
    expect(await fast.verify("correct horse", phc)).toBe(false);
    expect(await new PasswordHasher({ params: FAST, pepper: "another secret" }).verify("correct horse", phc)).toBe(false);
  });

  it("is not plain scrypt of the password (the pepper really enters the hash)", async () => {
    const f = fields(await peppered.hash("correct horse"));
    expect(f.hash).not.toEqual(scrypt("correct horse", f.salt, { N: 2 ** FAST.logN, r: FAST.r, p: FAST.p, dkLen: 32 }));
  });

  it("still verifies hashes made before the pepper was introduced", async () => {
    const phc = await fast.hash("from before");
    expect(await peppered.verify("from before", phc)).toBe(true);
    expect(await peppered.verify("from beforE", phc)).toBe(false);
  });

  it("treats an empty pepper as none", async () => {
    const phc = await new PasswordHasher({ params: FAST, pepper: "" }).hash("no pepper");
    expect(fields(phc).peppered).toBe(false);
  });
});

describe("needsRehash", () => {
  it("is false for a hash made with today's parameters and pepper state", async () => {
    expect(fast.needsRehash(await fast.hash("p"))).toBe(false);
    const peppered = new PasswordHasher({ params: FAST, pepper: "s" });
    expect(peppered.needsRehash(await peppered.hash("p"))).toBe(false);
  });

  it("flags hashes made with other scrypt parameters", async () => {
    const current = new PasswordHasher();
    expect(current.needsRehash(await fast.hash("p"))).toBe(true);
    expect(fast.needsRehash(formatPhc({ logN: 10, r: 8, p: 2 }, false, new Uint8Array(16), new Uint8Array(32)))).toBe(true);
    expect(fast.needsRehash(formatPhc({ logN: 10, r: 4, p: 1 }, false, new Uint8Array(16), new Uint8Array(32)))).toBe(true);
  });

  it("flags a pepper added or removed since the hash was made", async () => {
    const peppered = new PasswordHasher({ params: FAST, pepper: "s" });
    expect(peppered.needsRehash(await fast.hash("p"))).toBe(true);
    expect(fast.needsRehash(await peppered.hash("p"))).toBe(true);
  });

  it("flags an unparseable hash", () => {
    expect(fast.needsRehash("garbage")).toBe(true);
  });
});

describe("workerd's scrypt cap (N·r·p ≤ 2^20)", () => {
  const salt = "c2FsdHNhbHRzYWx0c2FsdA";
  const hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

  it("accepts parameters exactly at the cap", () => {
    // At the cap and within the 32 MiB working-memory budget (N=2^17, r=8 is at the cap too, but
    // needs 128 MiB and is refused: test/security/hardening.test.ts).
    expect(parsePhc(`$scrypt$ln=15,r=8,p=4$${salt}$${hash}`)?.params).toEqual({ logN: 15, r: 8, p: 4 });
    expect(parsePhc(`$scrypt$ln=14,r=8,p=8$${salt}$${hash}`)?.params).toEqual({ logN: 14, r: 8, p: 8 });
  });

  it.each([
    ["N=2^17, r=8, p=2", "ln=17,r=8,p=2"],
    ["N=2^14, r=8, p=9", "ln=14,r=8,p=9"],
    ["N=2^15, r=8, p=5", "ln=15,r=8,p=5"],
    ["N=2^21, r=1, p=1", "ln=21,r=1,p=1"],
    ["N=2^40, r=8, p=1", "ln=40,r=8,p=1"],
  ])("rejects %s in a stored hash, and verification of it fails without running scrypt", async (_, params) => {
    const phc = `$scrypt$${params}$${salt}$${hash}`;
    expect(parsePhc(phc)).toBeNull();
    expect(await fast.verify("anything", phc)).toBe(false);
  });

  it("refuses to hash with parameters over the cap", async () => {
    await expect(new PasswordHasher({ params: { logN: 15, r: 8, p: 5 } }).hash("p")).rejects.toThrow(RangeError);
  });
});
