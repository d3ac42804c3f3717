// Core errors are typed values. Each face (Kii, ZITADEL, admin) maps a kind to its own
// status, content type and body; no wire format is decided here.

export type CoreErrorKind =
  | "invalid_input" // malformed or out-of-range input
  | "password_policy" // new password rejected by the app's policy
  | "app_not_found"
  | "unauthenticated" // no or bad credentials / token
  | "permission_denied" // authenticated, but not allowed to do this
  | "user_not_found"
  | "user_exists"
  | "wrong_password"
  | "user_disabled"
  | "no_password" // the user has no password to change or reset
  | "address_unverified" // the reset channel's address is absent or unverified
  | "code_not_found" // no current code (never issued, consumed, superseded, dead)
  | "code_invalid" // a current code exists but this is not it
  | "code_expired"
  | "address_verified" // verification asked for an address that is already verified
  | "address_not_found" // no such address (or none pending) to verify, resend to or remove
  | "rate_limited"
  | "session_not_found" // ZITADEL sessions: none with that id in this app
  | "session_expired"
  | "session_token_invalid"
  | "state_conflict" // the user is not in a state the operation applies to (details.state says which)
  | "invalid_template"
  | "unsupported"
  // The app's shard cannot serve now: a move is copying its rows (writes refused for seconds), or
  // the shard's schema is behind the code. Temporary: details.retryAfterSeconds says when to retry.
  | "unavailable";

/** Which rule of the password policy failed; the ZITADEL face maps each to its message id. */
export type PolicyViolation = "min_length" | "max_length" | "lowercase" | "uppercase" | "number" | "symbol" | "same_as_old" | "breached";

export interface CoreErrorDetails {
  field?: string;
  value?: string;
  policy?: PolicyViolation;
  minimumLength?: number;
  retryAfterSeconds?: number;
  /** For state_conflict: what stood in the way. */
  state?: "already_inactive" | "not_inactive" | "initial" | "not_lockable" | "not_locked";
  [key: string]: unknown;
}

export class CoreError extends Error {
  override readonly name = "CoreError";
  constructor(
    readonly kind: CoreErrorKind,
    message: string,
    readonly details: CoreErrorDetails = {},
  ) {
    super(message);
  }
}

export const isCoreError = (e: unknown): e is CoreError => e instanceof CoreError;
