// Issue 10 end to end, with the official clients against wrangler dev: kii-cloud-sdk's
// authenticate throttled per IP and refused while locked, its user.delete(); @zitadel/client's
// Deactivate/Reactivate/Lock/Unlock/DeleteUser over Connect JSON, Connect binary and gRPC-web.
import { createRequire } from "node:module";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport as createNodeConnectTransport } from "@connectrpc/connect-node";
import { createConnectTransport as createWebConnectTransport } from "@connectrpc/connect-web";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createUserServiceClient } from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { UserState } from "@zitadel/proto/zitadel/user/v2/user_pb.js";
import { describe, expect, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp } from "./helpers";

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;

function sdkFor(app: E2eApp): Sdk {
  const sdk = require("kii-cloud-sdk").create();
  sdk.Kii.initializeWithSite(app.appId, app.appKey, `${baseUrl()}/api`);
  return sdk;
}

async function adminToken(app: E2eApp): Promise<string> {
  const res = await fetch(`${baseUrl()}/api/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
    body: JSON.stringify({ client_id: app.clientId, client_secret: app.clientSecret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function failure(call: Promise<unknown>): Promise<{ code: number; id: string | undefined }> {
  try {
    await call;
  } catch (e) {
    const error = ConnectError.from(e);
    return { code: error.code, id: error.findDetails(ErrorDetailSchema)[0]?.id };
  }
  throw new Error("the call succeeded");
}

describe("kii-cloud-sdk sign-in protection", () => {
  it("authenticate is answered 429 TOO_MANY_REQUESTS once the per-IP sign-in limit is used", async () => {
    const app = await createE2eApp({ rateLimits: { signInPerIp: { limit: 2, windowSeconds: 60 } } });
    const sdk = sdkFor(app);
    await sdk.KiiUser.userWithUsername("throttled-user", "a long password").register();
    await sdk.KiiUser.authenticate("throttled-user", "a long password");
    await expect(sdk.KiiUser.authenticate("throttled-user", "wrong password")).rejects.toThrow();
    await expect(sdk.KiiUser.authenticate("throttled-user", "a long password")).rejects.toThrow(/429|TOO_MANY_REQUESTS/);
  });

  it("authenticate with the right password is refused while the account is locked, and works after UnlockUser", async () => {
    const app = await createE2eApp({ lockout: { maxPasswordAttempts: 3 } });
    const sdk = sdkFor(app);
    const registered = await sdk.KiiUser.userWithUsername("locked-user", "a long password").register();
    for (let i = 0; i < 3; i++) await expect(sdk.KiiUser.authenticate("locked-user", "wrong password")).rejects.toThrow(/invalid_grant|400/);
    await expect(sdk.KiiUser.authenticate("locked-user", "a long password")).rejects.toThrow(/invalid_grant|400/);
    const users = createUserServiceClient(createWebConnectTransport({ baseUrl: baseUrl(), interceptors: [NewAuthorizationBearerInterceptor(await adminToken(app))] }));
    expect((await users.getUserByID({ userId: registered.getID() })).user?.state).toBe(UserState.LOCKED);
    await users.unlockUser({ userId: registered.getID() });
    const signedIn = await sdk.KiiUser.authenticate("locked-user", "a long password");
    expect(signedIn.getID()).toBe(registered.getID());
  });

  it("user.delete() removes the signed-in user; its login name can be registered again", async () => {
    const app = await createE2eApp();
    const sdk = sdkFor(app);
    await sdk.KiiUser.userWithUsername("deleted-user", "a long password").register();
    const user = await sdk.KiiUser.authenticate("deleted-user", "a long password");
    await user.delete();
    await expect(sdk.KiiUser.authenticate("deleted-user", "a long password")).rejects.toThrow(/invalid_grant|400/);
    const again = await sdk.KiiUser.userWithUsername("deleted-user", "another long password").register();
    expect(again.getID()).not.toBe(user.getID());
  });
});

const TRANSPORTS = {
  "Connect JSON": (token: string): Transport => createWebConnectTransport({ baseUrl: baseUrl(), interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "Connect binary": (token: string): Transport =>
    createNodeConnectTransport({ baseUrl: baseUrl(), httpVersion: "1.1", useBinaryFormat: true, interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "gRPC-web": (token: string): Transport => createClientTransport(token, { baseUrl: baseUrl() }),
} as const;

describe.each(Object.keys(TRANSPORTS) as (keyof typeof TRANSPORTS)[])("@zitadel/client user lifecycle over %s", (transport) => {
  it("deactivates, reactivates, locks, unlocks and deletes, with ZITADEL's states and error ids", async () => {
    const app = await createE2eApp();
    const users = createUserServiceClient(TRANSPORTS[transport](await adminToken(app)));
    const { userId } = await users.addHumanUser({
      profile: { givenName: "Ada", familyName: "Lovelace" },
      email: { email: `ada-${transport.replace(/\W/g, "")}@example.com`, verification: { case: "isVerified", value: true } },
      passwordType: { case: "password", value: { password: "Correct-horse-7", changeRequired: false } },
    });
    const state = async () => (await users.getUserByID({ userId })).user?.state;

    await users.deactivateUser({ userId });
    expect(await state()).toBe(UserState.INACTIVE);
    expect(await failure(users.deactivateUser({ userId }))).toEqual({ code: 9, id: "COMMAND-5M0sf" });
    await users.reactivateUser({ userId });
    expect(await state()).toBe(UserState.ACTIVE);

    await users.lockUser({ userId });
    expect(await state()).toBe(UserState.LOCKED);
    expect(await failure(users.lockUser({ userId }))).toEqual({ code: 9, id: "COMMAND-3NN8v" });
    await users.unlockUser({ userId });
    expect(await state()).toBe(UserState.ACTIVE);

    const deleted = await users.deleteUser({ userId });
    expect(deleted.details?.resourceOwner).toBe(app.orgId);
    expect(await failure(users.getUserByID({ userId }))).toEqual({ code: 5, id: "COMMAND-SAF4f" });
    expect(await failure(users.deleteUser({ userId }))).toEqual({ code: 5, id: "COMMAND-m9od" });
  });
});
