// Optional breached-password check (SPEC §8) against Have I Been Pwned's range API, by
// k-anonymity: only the first 5 hex digits of the password's SHA-1 leave the Worker, and the
// answer lists every known suffix under that prefix. `Add-Padding` makes every answer about the
// same size, so its length says nothing either. Fail-open: if the API is down or slow, the
// password is accepted and one log line says the check was skipped (never the password).
import { sha1Hex } from "../lib/digest";

export const PWNED_RANGE_URL = "https://api.pwnedpasswords.com/range/";
const TIMEOUT_MS = 3000;

/** true: known from a breach; false: not known; null: could not be checked (fail-open). */
export async function isBreachedPassword(normalizedPassword: string): Promise<boolean | null> {
  const digest = sha1Hex(normalizedPassword).toUpperCase();
  const prefix = digest.slice(0, 5);
  const suffix = digest.slice(5);
  try {
    const res = await fetch(PWNED_RANGE_URL + prefix, {
      headers: { "Add-Padding": "true", "User-Agent": "latchkey-password-check" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    for (const line of (await res.text()).split("\n")) {
      const [candidate, count] = line.trim().split(":");
      // Padding rows carry a count of 0: they are not breached passwords.
      if (candidate === suffix && Number(count) > 0) return true;
    }
    return false;
  } catch (e) {
    console.warn(JSON.stringify({ level: "warn", event: "breached_password_check_skipped", reason: String((e as Error)?.message ?? e) }));
    return null;
  }
}
