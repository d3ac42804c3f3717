// User data in Kii's shape (UserDataRetrievalResponse).
import type { User } from "../../core/users";

/** `pending`: addresses awaiting verification that differ from the current ones (core pendingAddresses). */
export function kiiUserJson(user: User, full: boolean, pending: { email?: string; phone?: string } = {}): Record<string, unknown> {
  const base = { userID: user.id, loginName: user.loginName ?? undefined, displayName: user.displayName ?? undefined };
  if (!full) return base;
  return {
    ...base,
    internalUserID: user.internalId,
    emailAddress: user.email ?? undefined,
    emailAddressVerified: user.email ? user.emailVerified : undefined,
    phoneNumber: user.phone ?? undefined,
    phoneNumberVerified: user.phone ? user.phoneVerified : undefined,
    _emailAddressPending: pending.email,
    _phoneNumberPending: pending.phone,
    country: user.country ?? undefined,
    locale: user.locale ?? undefined,
    _hasPassword: user.passwordHash !== null,
    _disabled: user.disabled,
    _created: user.createdAt,
    _modified: user.changedAt,
  };
}
