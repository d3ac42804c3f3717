// Kii's address-verification calls, as kii-cloud-sdk sends them (KiiUser.verifyPhoneNumber,
// resendEmailVerification, resendPhoneNumberVerification, changeEmail, changePhone):
//   POST /apps/{appID}/users/{id}/{email-address|phone-number}/resend-verification   (no body)
//   POST /apps/{appID}/users/me/{email-address|phone-number}/verify
//        application/vnd.kii.AddressVerificationRequest+json {verificationCode}
//   PUT  /apps/{appID}/users/{id}/email-address  application/vnd.kii.EmailAddressModificationRequest+json {emailAddress, verified?}
//   PUT  /apps/{appID}/users/{id}/phone-number   application/vnd.kii.PhoneNumberModificationRequest+json {phoneNumber, verified?}
// `verified: true` is an app admin's word; anyone else gets a code sent to the new address.
import type { Hono } from "hono";
import * as z from "zod/mini";
import { isCoreError } from "../../core/errors";
import { E164, EMAIL, type Principal, requireUser } from "../../core/identity";
import { type AddressChannel, changeAddress, resendVerification, verifyAddress } from "../../core/verification";
import type { App } from "../../core/apps";
import { type AppContext, type AppEnv, clientIp, publicOrigin } from "../../http";
import { fromCoreError, KiiError } from "./errors";
import { parseUserIdentifier } from "./identifiers";
import "../../lib/zod-locale";

interface Helpers {
  identify: (c: AppContext, pathAppId: string | null) => Promise<{ app: App; principal: Principal | null }>;
  readJson: <T>(c: AppContext, schema: z.ZodMiniType<T>) => Promise<T>;
  unauthorized: (appId: string | null, message: string) => KiiError;
}

export const SEGMENT: Record<string, AddressChannel> = { "email-address": "email", "phone-number": "phone" };

export const verifySchema = z.object({ verificationCode: z.string().check(z.minLength(1), z.maxLength(200)) });
export const emailSchema = z.object({ emailAddress: z.string().check(z.maxLength(254), z.regex(EMAIL, "not an email address")), verified: z.optional(z.boolean()) });
export const phoneSchema = z.object({ phoneNumber: z.string().check(z.regex(E164, "an international number such as +819012345678")), verified: z.optional(z.boolean()) });

const channelOf = (c: AppContext): AddressChannel => {
  const channel = SEGMENT[c.req.param("kind") ?? ""];
  if (!channel) throw new KiiError("NOT_FOUND", "No such resource");
  return channel;
};

export function verificationRoutes(kii: Hono<AppEnv>, { identify, readJson, unauthorized }: Helpers): void {
  kii.post("/apps/:appID/users/:id/:kind/resend-verification", async (c) => {
    const channel = channelOf(c);
    const { app, principal } = await identify(c, c.req.param("appID"));
    const ref = parseUserIdentifier(c.req.param("id"));
    await resendVerification(c.var.svc, app, {
      ref,
      channel,
      delivery: { via: "send" },
      principal,
      clientIp: clientIp(c),
      origin: publicOrigin(c),
      dialect: "kii",
    });
    return c.body(null, 204);
  });

  kii.post("/apps/:appID/users/:id/:kind/verify", async (c) => {
    const channel = channelOf(c);
    const { app, principal } = await identify(c, c.req.param("appID"));
    const body = await readJson(c, verifySchema);
    const user = await requireUser(c.var.svc, app, parseUserIdentifier(c.req.param("id")), principal);
    try {
      await verifyAddress(c.var.svc, app, { user, channel, code: body.verificationCode });
    } catch (e) {
      if (isCoreError(e) && e.kind === "code_invalid") throw new KiiError("INVALID_VERIFICATION_CODE", e.message, { userID: user.id, appID: app.id });
      throw e;
    }
    return c.body(null, 204);
  });

  kii.put("/apps/:appID/users/:id/:kind", async (c) => {
    const channel = channelOf(c);
    const { app, principal } = await identify(c, c.req.param("appID"));
    if (!principal) throw unauthorized(app.id, "An access token is required");
    const body = channel === "email" ? await readJson(c, emailSchema) : await readJson(c, phoneSchema);
    const address = "emailAddress" in body ? body.emailAddress : body.phoneNumber;
    const user = await requireUser(c.var.svc, app, parseUserIdentifier(c.req.param("id")), principal);
    try {
      await changeAddress(c.var.svc, app, {
        user,
        channel,
        address,
        intent: body.verified === true ? "verified" : { via: "send" },
        principal,
        clientIp: clientIp(c),
        origin: publicOrigin(c),
        dialect: "kii",
      });
    } catch (e) {
      if (isCoreError(e)) throw fromCoreError(e, { appId: app.id, principalId: principal.kind === "user" ? principal.userId : "admin" });
      throw e;
    }
    return c.body(null, 204);
  });
}
