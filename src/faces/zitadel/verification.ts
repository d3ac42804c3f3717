// The UserService RPCs for addresses: SetEmail, ResendEmailCode, VerifyEmail, SetPhone,
// ResendPhoneCode, VerifyPhone, RemovePhone. Like service.ts, one body per RPC for every
// protocol; the rules (who may, what is verified, limits) live in core/verification.ts.
// One difference from ZITADEL, on purpose: a new address stays pending while the old one is
// verified, so GetUserByID keeps showing the old, verified address until the code is entered.
import { create } from "@bufbuild/protobuf";
import {
  type RemovePhoneRequest,
  RemovePhoneResponseSchema,
  type ResendEmailCodeRequest,
  ResendEmailCodeResponseSchema,
  type ResendPhoneCodeRequest,
  ResendPhoneCodeResponseSchema,
  type SetEmailRequest,
  SetEmailResponseSchema,
  type SetPhoneRequest,
  SetPhoneResponseSchema,
  type VerifyEmailRequest,
  VerifyEmailResponseSchema,
  type VerifyPhoneRequest,
  VerifyPhoneResponseSchema,
} from "./protos.gen";
import { E164, EMAIL, requireUser } from "../../core/identity";
import { type AddressChannel, type AddressIntent, changeAddress, removePhone as removeUserPhone, resendVerification, verifyAddress, type VerificationDelivery } from "../../core/verification";
import { invalidArgument } from "./errors";
import { addressIntent, type Caller, details, guarded, text, userIdOf } from "./service";

const ctxOf = (caller: Caller) => ({ principal: caller.principal, clientIp: caller.clientIp, origin: caller.origin, dialect: "zitadel" as const });

function addressOf(channel: AddressChannel, value: string): string {
  const address = text(value, channel, 1, 200);
  if (channel === "email" ? !EMAIL.test(address) : !E164.test(address)) {
    throw invalidArgument(channel === "email" ? "email is not an email address" : "phone must be an international number such as +819012345678");
  }
  return address;
}

async function set(caller: Caller, channel: AddressChannel, userId: string, value: string, intent: AddressIntent) {
  const address = addressOf(channel, value);
  const user = await requireUser(caller.svc, caller.app, { by: "id", value: userIdOf(userId) });
  const result = await changeAddress(caller.svc, caller.app, { ...ctxOf(caller), user, channel, address, intent });
  return { details: details(caller.app, result.sequence, result.changedAt), ...(result.code !== undefined ? { verificationCode: result.code } : {}) };
}

async function resend(caller: Caller, channel: AddressChannel, userId: string, intent: AddressIntent) {
  const delivery = intent as VerificationDelivery; // resend has no isVerified
  const result = await resendVerification(caller.svc, caller.app, {
    ...ctxOf(caller),
    ref: { by: "id", value: userIdOf(userId) },
    channel,
    delivery,
    authorized: true,
  });
  return { details: details(caller.app, result.sequence, result.changedAt), ...(result.code !== undefined ? { verificationCode: result.code } : {}) };
}

async function verify(caller: Caller, channel: AddressChannel, userId: string, code: string) {
  const id = userIdOf(userId);
  const checked = text(code, "verificationCode", 1, 20);
  const user = await requireUser(caller.svc, caller.app, { by: "id", value: id });
  // As in ZITADEL, the code is the proof: any caller of the app holding it may use it.
  const result = await verifyAddress(caller.svc, caller.app, { user, channel, code: checked });
  return { details: details(caller.app, result.sequence, result.changedAt) };
}

export const setEmail = (req: SetEmailRequest, caller: Caller) =>
  guarded("SetEmail", async () => create(SetEmailResponseSchema, await set(caller, "email", req.userId, req.email, addressIntent(req.verification, "email"))));

export const resendEmailCode = (req: ResendEmailCodeRequest, caller: Caller) =>
  guarded("ResendEmailCode", async () => create(ResendEmailCodeResponseSchema, await resend(caller, "email", req.userId, addressIntent(req.verification, "email"))));

export const verifyEmail = (req: VerifyEmailRequest, caller: Caller) =>
  guarded("VerifyEmail", async () => create(VerifyEmailResponseSchema, await verify(caller, "email", req.userId, req.verificationCode)));

export const setPhone = (req: SetPhoneRequest, caller: Caller) =>
  guarded("SetPhone", async () => create(SetPhoneResponseSchema, await set(caller, "phone", req.userId, req.phone, addressIntent(req.verification, "phone"))));

export const resendPhoneCode = (req: ResendPhoneCodeRequest, caller: Caller) =>
  guarded("ResendPhoneCode", async () => create(ResendPhoneCodeResponseSchema, await resend(caller, "phone", req.userId, addressIntent(req.verification, "phone"))));

export const verifyPhone = (req: VerifyPhoneRequest, caller: Caller) =>
  guarded("VerifyPhone", async () => create(VerifyPhoneResponseSchema, await verify(caller, "phone", req.userId, req.verificationCode)));

export const removePhone = (req: RemovePhoneRequest, caller: Caller) =>
  guarded("RemovePhone", async () => {
    const user = await requireUser(caller.svc, caller.app, { by: "id", value: userIdOf(req.userId) });
    const result = await removeUserPhone(caller.svc, caller.app, { user, principal: caller.principal });
    return create(RemovePhoneResponseSchema, { details: details(caller.app, result.sequence, result.changedAt) });
  });
