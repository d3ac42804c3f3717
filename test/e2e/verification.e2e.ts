// Address verification with the official clients against wrangler dev (issue 11):
// kii-cloud-sdk register → verification SMS in the outbox → verifyPhoneNumber; @zitadel/client
// AddHumanUser returnCode → VerifyEmail, and SetPhone → SMS code in the outbox → VerifyPhone, on
// each transport (Connect JSON, Connect binary, gRPC-web).
import { createRequire } from "node:module";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { createConnectTransport as createNodeConnectTransport } from "@connectrpc/connect-node";
import { createConnectTransport as createWebConnectTransport } from "@connectrpc/connect-web";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createUserServiceClient } from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp, waitForMessage } from "./helpers";

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;

const REQUIRED = { verification: { email: "required", phone: "required" } };
const PASSWORD = "Correct-horse-7";

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
const uniquePhone = () => `+8180${String(Date.now() % 1_000_000).padStart(6, "0")}${String(counter++ % 100).padStart(2, "0")}`;
const pinOf = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;

describe("kii-cloud-sdk", () => {
  let app: E2eApp;
  let sdk: Sdk;
  beforeAll(async () => {
    app = await createE2eApp(REQUIRED);
    sdk = require("kii-cloud-sdk").create();
    sdk.Kii.initializeWithSite(app.appId, app.appKey, `${baseUrl()}/api`);
  });

  it("register → verification SMS → verifyPhoneNumber; the SDK sees the phone verified", async () => {
    const phone = uniquePhone();
    const user = sdk.KiiUser.userWithPhoneNumberAndUsername(phone, uniqueName("kv"), "first-password");
    await user.register();
    const sms = await waitForMessage(phone, (m) => m.template === "verify_sms_code");
    const signedIn = sdk.KiiUser.getCurrentUser();
    await signedIn.refresh();
    expect(signedIn.getPhoneVerified()).toBe(false);
    const wrong = pinOf(sms.text) === "000000" ? "111111" : "000000";
    await expect(signedIn.verifyPhoneNumber(wrong)).rejects.toThrow(/INVALID_VERIFICATION_CODE/);
    await signedIn.verifyPhoneNumber(pinOf(sms.text));
    await signedIn.refresh();
    expect(signedIn.getPhoneVerified()).toBe(true);
  });

  it("changeEmail keeps the new address pending; resendEmailVerification sends a new link", async () => {
    const first = `${uniqueName("first")}@example.com`;
    const user = sdk.KiiUser.userWithEmailAddressAndUsername(first, uniqueName("ke"), "first-password");
    await user.register();
    const link = await waitForMessage(first, (m) => m.template === "verify_email_link");
    const url = new URL(/(http\S+\/verify\/\S+)/.exec(link.text)![1]!);
    // What the page's form POSTs: the code from the link's fragment.
    const confirmed = await fetch(url.href.split("#")[0]!, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ code: decodeURIComponent(url.hash.slice(1)) }).toString(),
    });
    expect(confirmed.status).toBe(200);
    const me = sdk.KiiUser.getCurrentUser();
    const next = `${uniqueName("next")}@example.com`;
    await me.changeEmail(next);
    await me.refresh();
    expect(me.getEmailAddress()).toBe(first);
    expect(me.getEmailVerified()).toBe(true);
    expect(me.getPendingEmailAddress()).toBe(next);
    await me.resendEmailVerification();
    const resent = await waitForMessage(next, (m) => m.template === "verify_email_link");
    expect(resent.text).toContain(`/verify/${app.appId}/`);
  });
});

const TRANSPORTS = {
  "Connect JSON": (token: string): Transport =>
    createWebConnectTransport({ baseUrl: baseUrl(), interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "Connect binary (connect-node)": (token: string): Transport =>
    createNodeConnectTransport({ baseUrl: baseUrl(), httpVersion: "1.1", useBinaryFormat: true, interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "gRPC-web": (token: string): Transport => createClientTransport(token, { baseUrl: baseUrl() }),
} as const;

describe("@zitadel/client", () => {
  let app: E2eApp;
  let admin: string;
  beforeAll(async () => {
    app = await createE2eApp(REQUIRED);
    const res = await fetch(`${baseUrl()}/api/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
      body: JSON.stringify({ client_id: app.clientId, client_secret: app.clientSecret }),
    });
    admin = ((await res.json()) as { access_token: string }).access_token;
  });

  for (const [name, transport] of Object.entries(TRANSPORTS)) {
    it(`${name}: AddHumanUser returnCode → VerifyEmail; SetPhone → SMS → VerifyPhone`, async () => {
      const users = createUserServiceClient(transport(admin));
      const username = uniqueName("zc");
      const added = await users.addHumanUser({
        username,
        profile: { givenName: "Ada", familyName: "Lovelace" },
        email: { email: `${username}@example.com`, verification: { case: "returnCode", value: {} } },
        passwordType: { case: "password", value: { password: PASSWORD, changeRequired: false } },
      });
      expect(added.emailCode).toMatch(/^[A-Z0-9]{6}$/);
      const wrong = added.emailCode === "AAAAAA" ? "BBBBBB" : "AAAAAA";
      const refused = await users.verifyEmail({ userId: added.userId, verificationCode: wrong }).then(
        () => null,
        (e: unknown) => ConnectError.from(e),
      );
      expect(refused?.code).toBe(Code.InvalidArgument);
      expect(refused?.findDetails(ErrorDetailSchema)[0]?.id).toBe("COMMAND-eis9R");
      await users.verifyEmail({ userId: added.userId, verificationCode: added.emailCode! });
      const phone = uniquePhone();
      await users.setPhone({ userId: added.userId, phone, verification: { case: "sendCode", value: {} } });
      const sms = await waitForMessage(phone, (m) => m.template === "verify_sms_code");
      await users.verifyPhone({ userId: added.userId, verificationCode: pinOf(sms.text) });
      const { user } = await users.getUserByID({ userId: added.userId });
      const human = user!.type.case === "human" ? user!.type.value : null;
      expect(human?.email).toMatchObject({ email: `${username}@example.com`, isVerified: true });
      expect(human?.phone).toMatchObject({ phone, isVerified: true });
    });
  }
});
