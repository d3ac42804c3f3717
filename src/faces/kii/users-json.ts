// User data in Kii's shape (UserDataRetrievalResponse).
import * as z from "zod";
import type { User } from "../../core/users";

/** What kiiUserJson writes, for the OpenAPI document (test/web/openapi.test.ts checks real answers against it). */
export const kiiUserSchema = z.strictObject({
  userID: z.string(),
  loginName: z.string().optional(),
  displayName: z.string().optional(),
  internalUserID: z.int().optional().describe("shown to the user and app admins only, like every field below"),
  emailAddress: z.string().optional(),
  emailAddressVerified: z.boolean().optional(),
  phoneNumber: z.string().optional(),
  phoneNumberVerified: z.boolean().optional(),
  _emailAddressPending: z.string().optional().describe("a new address waiting for its verification code"),
  _phoneNumberPending: z.string().optional().describe("a new number waiting for its verification code"),
  country: z.string().optional(),
  locale: z.string().optional(),
  _hasPassword: z.boolean().optional(),
  _disabled: z.boolean().optional(),
  _created: z.int().optional().describe("milliseconds since 1970"),
  _modified: z.int().optional().describe("milliseconds since 1970"),
});

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
