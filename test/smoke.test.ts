import { describe, expect, it } from "vitest";
import { call, createApp, kiiHeaders, registerKiiUser, userToken } from "./helpers";

describe("smoke", () => {
  it("registers, signs in and reads me", async () => {
    const app = await createApp();
    const reg = await registerKiiUser(app, { loginName: "alice", password: "correct horse", emailAddress: "alice@example.com" });
    const token = await userToken(app, "alice", "correct horse");
    const me = await call(`/api/apps/${app.appId}/users/me`, { headers: kiiHeaders(app, { Authorization: `Bearer ${token}` }) });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { userID: string }).userID).toBe(reg.userID);
  });
});
