// bcrypt ($2a$, $2b$, $2y$): ZITADEL's, Auth0's and Supabase's default, and Rails' has_secure_password.
// bcryptjs is pure JavaScript (no native addon, no WASM), so it runs in workerd as is.
import { compare } from "bcryptjs";
import { bounded, type ForeignHash, HashRefused } from "./refusal";

/** Cost 14 is 2^14 Blowfish expansions, about 8 native hashes; 4 is bcrypt's own minimum. */
export const BCRYPT_MAX_COST = 14;
const BCRYPT = /^\$2([aby])\$(\d\d)\$([./A-Za-z0-9]{53})$/;

export function parseBcrypt(text: string): ForeignHash {
  const match = BCRYPT.exec(text);
  if (!match) throw new HashRefused("not a bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost, then 53 characters");
  bounded(match[2], "bcrypt cost", 4, BCRYPT_MAX_COST);
  // $2y$ (PHP) and $2b$ (OpenBSD) are the same algorithm under two names; bcryptjs knows both
  // as $2b$. $2a$ differs only for passwords over 255 bytes, which bcrypt truncates at 72 anyway.
  const hash = match[1] === "y" ? `$2b$${text.slice(4)}` : text;
  return { format: "bcrypt", verify: (password) => compare(password, hash) };
}
