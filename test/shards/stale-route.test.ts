// A route cached from before a move (storage/app-cache.ts: another isolate's cache holds an app's
// row for up to 10 s). The old shard keeps a `moved` fence after its rows are purged: a token
// check that meets it asks the primary for the app's routing and answers from the new shard, in
// the batched Kii `users/me` and in the plain token check alike.
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { forgetApp, remember } from "../../src/storage/app-cache";
import { AppStore } from "../../src/storage/apps";
import { openDatabase } from "../../src/storage/db";
import { ADMIN_TOKEN, call, createApp, kiiHeaders, registerKiiUser, userToken } from "../helpers";

const PASSWORD = "long enough pw";

afterEach(() => forgetApp());

/** Moves the app to shard 1 at once, then puts its row from before the move back in this isolate's cache. */
async function moveBehindTheCache(appId: string): Promise<void> {
  const before = await new AppStore(openDatabase(env.DB)).getPrimary(appId);
  expect(before?.shard).toBe(0);
  const moved = await call(`/admin/apps/${appId}/move`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { shard: 1, settleSeconds: 0 } });
  expect(moved.status).toBe(200);
  await remember(appId, Promise.resolve(before));
}

describe("a stale cached route after a move", () => {
  it("Kii users/me answers from the new shard", async () => {
    const app = await createApp({}, { shard: 0 });
    const { userID } = await registerKiiUser(app, { loginName: "stale-me", password: PASSWORD });
    const token = await userToken(app, "stale-me", PASSWORD);
    await moveBehindTheCache(app.appId);
    const res = await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { userID: string }).userID).toBe(userID);
  });

  it("the plain token check (Kii user by id) answers from the new shard too", async () => {
    const app = await createApp({}, { shard: 0 });
    const { userID } = await registerKiiUser(app, { loginName: "stale-id", password: PASSWORD });
    const token = await userToken(app, "stale-id", PASSWORD);
    await moveBehindTheCache(app.appId);
    const res = await call(`/api/apps/${app.appId}/users/${userID}`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("a token that is no longer live is still refused", async () => {
    const app = await createApp({}, { shard: 0 });
    await registerKiiUser(app, { loginName: "stale-dead", password: PASSWORD });
    await moveBehindTheCache(app.appId);
    const res = await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${app.appId}.${"B".repeat(43)}` }) });
    expect(res.status).toBe(401);
  });
});
