// SPEC §8 invariants not covered by one route's own tests.
import { describe, expect, it } from "vitest";
import { createApp } from "../helpers";
import { completeReset, newUser, PASSWORD, requestPin, requestReset, signInStatus } from "../kii/password-helpers";
import { addHuman, expectOk, rest, zitadelApp } from "../zitadel/helpers";

describe("a code is tied to one user", () => {
  it("refuses one user's valid PIN for another user, and leaves both codes usable", async () => {
    const app = await createApp();
    const ann = await newUser(app);
    const bob = await newUser(app);
    const annPin = await requestPin(app, ann);
    const bobPin = await requestPin(app, bob);
    if (annPin !== bobPin) {
      const crossed = await completeReset(app, bob.userID, { pinCode: annPin, newPassword: "a brand new password" });
      expect(crossed.status).toBe(403);
    }
    expect((await completeReset(app, ann.userID, { pinCode: annPin, newPassword: "ann's new password" })).status).toBe(204);
    expect((await completeReset(app, bob.userID, { pinCode: bobPin, newPassword: "bob's new password" })).status).toBe(204);
    expect(await signInStatus(app, ann.loginName, PASSWORD)).toBe(400);
    expect(await signInStatus(app, bob.loginName, "bob's new password")).toBe(200);
  });
});

describe("the per-address limit counts messages sent", () => {
  it("does not count ZITADEL returnCode, which sends nothing, and still counts sends in both dialects", async () => {
    const app = await zitadelApp({ rateLimits: { resetPerAddress: { limit: 2, windowSeconds: 900 } } });
    const user = await addHuman(app);
    for (let i = 0; i < 4; i++) {
      const res = await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { returnCode: {} } });
      await expectOk(res);
    }
    // Two messages are allowed: one through each dialect; the third send is refused.
    await expectOk(await rest(`/users/${user.userId}/password_reset`, { token: app.admin, json: { sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } } }));
    expect((await requestReset(app, user.userId)).status).toBe(204);
    const third = await requestReset(app, user.userId);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("Retry-After"))).toBeGreaterThan(0);
  });
});
