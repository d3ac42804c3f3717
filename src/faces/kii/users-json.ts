// User data in Kii's shape (UserDataRetrievalResponse).
import type { User } from "../../core/users";

export function kiiUserJson(user: User, full: boolean): Record<string, unknown> {
  const base = { userID: user.id, loginName: user.loginName ?? undefined, displayName: user.displayName ?? undefined };
  if (!full) return base;
  return {
    ...base,
    internalUserID: user.internalId,
    emailAddress: user.email ?? undefined,
    emailAddressVerified: user.email ? user.emailVerified : undefined,
    phoneNumber: user.phone ?? undefined,
    phoneNumberVerified: user.phone ? user.phoneVerified : undefined,
    country: user.country ?? undefined,
    locale: user.locale ?? undefined,
    _hasPassword: user.passwordHash !== null,
    _disabled: user.disabled,
    _created: user.createdAt,
    _modified: user.changedAt,
  };
}
