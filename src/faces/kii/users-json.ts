// User data in Kii's shape (UserDataRetrievalResponse).
import * as z from "zod/mini";
import type { User } from "../../core/users";

/** What kiiUserJson writes, for the OpenAPI document (test/web/openapi.test.ts checks real answers against it). */
export const kiiUserSchema = z.strictObject({
  userID: z.string(),
  loginName: z.optional(z.string()),
  displayName: z.optional(z.string()),
  internalUserID: z.optional(z.int()).register(z.globalRegistry, { description: "shown to the user and app admins only, like every field below" }),
  emailAddress: z.optional(z.string()),
  emailAddressVerified: z.optional(z.boolean()),
  phoneNumber: z.optional(z.string()),
  phoneNumberVerified: z.optional(z.boolean()),
  _emailAddressPending: z.optional(z.string()).register(z.globalRegistry, { description: "a new address waiting for its verification code" }),
  _phoneNumberPending: z.optional(z.string()).register(z.globalRegistry, { description: "a new number waiting for its verification code" }),
  country: z.optional(z.string()),
  locale: z.optional(z.string()),
  _hasPassword: z.optional(z.boolean()),
  _disabled: z.optional(z.boolean()),
  _created: z.optional(z.int()).register(z.globalRegistry, { description: "milliseconds since 1970" }),
  _modified: z.optional(z.int()).register(z.globalRegistry, { description: "milliseconds since 1970" }),
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
