// ShardStores.resolveWithUser: the token check and the token's user (with its pending address
// verifications) in one batch, as Kii's GET users/me uses it. What it answers must be exactly
// what the token check alone allows: nothing for a dead, expired or other app's token.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ShardStores } from "../../src/storage/shards";
import { adminToken, call, createApp, kiiHeaders, registerKiiUser, shardOf, userToken } from "../helpers";

async function storesOf(appId: string): Promise<ShardStores> {
  return new ShardStores({ index: -1, name: "test", d1: await shardOf(appId) }, env.CODES);
}

describe("resolveWithUser", () => {
  it("answers the token's grant, its user and that user's pending verifications", async () => {
    const app = await createApp({ verification: { email: "required", phone: "trusted" } });
    const { userID } = await registerKiiUser(app, { loginName: "holder-one", password: "long enough pw" });
    await registerKiiUser(app, { loginName: "holder-two", password: "long enough pw" });
    const token = await userToken(app, "holder-one", "long enough pw");
    // A pending address change for the holder.
    const changed = await call(`/api/apps/${app.appId}/users/${userID}/email-address`, {
      method: "PUT",
      headers: kiiHeaders(app, { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.kii.EmailAddressModificationRequest+json" }),
      body: JSON.stringify({ emailAddress: "holder@example.com" }),
    });
    expect(changed.status, await changed.clone().text()).toBe(204);
    const found = await (await storesOf(app.appId)).resolveWithUser(token, Date.now(), app.appId);
    expect(found.grant).toMatchObject({ appId: app.appId, userId: userID });
    expect(found.user?.id).toBe(userID);
    expect(found.user?.loginName).toBe("holder-one");
    expect(found.verifications.map((v) => [v.channel, v.address])).toEqual([["email", "holder@example.com"]]);
  });

  it("answers no user for an expired token, an unknown one, or one read as another app's", async () => {
    const app = await createApp();
    await registerKiiUser(app, { loginName: "holder-three", password: "long enough pw" });
    const token = await userToken(app, "holder-three", "long enough pw");
    const stores = await storesOf(app.appId);
    const later = Date.now() + 400 * 24 * 3600 * 1000;
    for (const [t, now, appId] of [
      [token, later, app.appId],
      [`${app.appId}.${"A".repeat(43)}`, Date.now(), app.appId],
      [token, Date.now(), "otherapp01"],
    ] as const) {
      const found = await stores.resolveWithUser(t, now, appId);
      expect(found.user).toBeNull();
      expect(found.verifications).toEqual([]);
      if (appId === app.appId) expect(found.grant).toBeNull();
    }
  });

  it("answers an app admin's token with its grant and no user", async () => {
    const app = await createApp();
    const token = await adminToken(app);
    const found = await (await storesOf(app.appId)).resolveWithUser(token, Date.now(), app.appId);
    expect(found.grant).toMatchObject({ appId: app.appId, userId: null });
    expect(found.user).toBeNull();
  });

  it("GET users/me answers the same as GET users/{id} for the token's own user", async () => {
    const app = await createApp();
    const { userID } = await registerKiiUser(app, { loginName: "holder-four", password: "long enough pw", emailAddress: "four@example.com" });
    const token = await userToken(app, "holder-four", "long enough pw");
    const headers = kiiHeaders(app, { Authorization: `Bearer ${token}` });
    const me = await call(`/api/apps/${app.appId}/users/me`, { headers });
    const byId = await call(`/api/apps/${app.appId}/users/${userID}`, { headers });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(await byId.json());
  });
});
