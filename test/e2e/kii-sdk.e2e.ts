// The official Kii JS SDK against wrangler dev: register → sign-in → me → disable → sign-in refused.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp } from "./helpers";

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;
const newSdk = (): Sdk => require("kii-cloud-sdk").create();

describe("kii-cloud-sdk", () => {
  let app: E2eApp;
  let sdk: Sdk;
  beforeAll(async () => {
    app = await createE2eApp();
    sdk = newSdk();
    sdk.Kii.initializeWithSite(app.appId, app.appKey, `${baseUrl()}/api`);
  });

  it("registers, signs in, reads me, and is refused once disabled", async () => {
    const user = sdk.KiiUser.userWithEmailAddressAndUsername("sdk-user-1@example.com", "sdk-user-1", "first-password");
    user.setDisplayName("SDK User");
    const registered = await user.register();
    const userId = registered.getID();
    expect(userId).toMatch(/^\d+$/);

    const signedIn = await sdk.KiiUser.authenticate("sdk-user-1", "first-password");
    expect(signedIn.getID()).toBe(userId);
    const token = signedIn.getAccessToken();
    expect(token.length).toBeGreaterThan(20);

    const me = await sdk.KiiUser.authenticateWithToken(token);
    expect(me.getID()).toBe(userId);
    expect(me.getUsername()).toBe("sdk-user-1");
    expect(me.getEmailAddress()).toBe("sdk-user-1@example.com");
    expect(me.getDisplayName()).toBe("SDK User");
    expect(me.disabled()).toBe(false);

    const adminCtx = await sdk.Kii.authenticateAsAppAdmin(app.clientId, app.clientSecret);
    const status = await fetch(`${baseUrl()}/api/apps/${app.appId}/users/${userId}/status`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${adminCtx._getToken()}`, "Content-Type": "application/vnd.kii.UserStatusUpdateRequest+json" },
      body: JSON.stringify({ disabled: true }),
    });
    expect(status.status).toBe(204);

    await expect(sdk.KiiUser.authenticate("sdk-user-1", "first-password")).rejects.toThrow(/USER_DISABLED/);
    await expect(sdk.KiiUser.authenticateWithToken(token)).rejects.toThrow(/UNAUTHORIZED/);
  });
});
