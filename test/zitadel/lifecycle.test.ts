// ZITADEL DeleteUser, DeactivateUser / ReactivateUser, LockUser / UnlockUser over REST, and the
// state GetUserByID shows (issue 10). Connect and gRPC-web share the same RPC bodies (rpc.test.ts
// covers the transports; test/e2e/zitadel-lifecycle.e2e.ts drives them with @zitadel/client).
import { describe, expect, it } from "vitest";
import { signIn } from "../helpers";
import { addHuman, expectOk, expectZitadelError, PASSWORD, rest, zitadelApp, type ZitadelApp } from "./helpers";

const state = async (app: ZitadelApp, userId: string) =>
  (await expectOk<{ user: { state: string } }>(await rest(`/users/${userId}`, { token: app.admin }))).user.state;

const post = (app: ZitadelApp, userId: string, verb: string, token: string = app.admin) => rest(`/users/${userId}/${verb}`, { token, json: {} });

describe("DeactivateUser / ReactivateUser", () => {
  it("INACTIVE is Kii's disabled: sign-in answers USER_DISABLED; reactivating restores ACTIVE", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const body = await expectOk<{ details: { sequence: string; resourceOwner: string } }>(await post(app, user.userId, "deactivate"));
    expect(body.details.resourceOwner).toBe(app.orgId);
    expect(await state(app, user.userId)).toBe("USER_STATE_INACTIVE");
    const res = await signIn(app, user.username, PASSWORD);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ errorCode: "USER_DISABLED" });
    await expectOk(await post(app, user.userId, "reactivate"));
    expect(await state(app, user.userId)).toBe("USER_STATE_ACTIVE");
    expect((await signIn(app, user.username, PASSWORD)).status).toBe(200);
  });

  it("answers ZITADEL's preconditions: already inactive, not inactive, initial", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await post(app, user.userId, "reactivate"), 400, 9, "COMMAND-6M0sf");
    await expectOk(await post(app, user.userId, "deactivate"));
    await expectZitadelError(await post(app, user.userId, "deactivate"), 400, 9, "COMMAND-5M0sf");
    const initial = await addHuman(app, {}, null);
    expect(await state(app, initial.userId)).toBe("USER_STATE_INITIAL");
    await expectZitadelError(await post(app, initial.userId, "deactivate"), 404, 5, "COMMAND-ke0fw");
  });
});

describe("LockUser / UnlockUser", () => {
  it("LOCKED until unlocked; lock twice and unlock an unlocked user answer ZITADEL's ids", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await post(app, user.userId, "unlock"), 400, 9, "COMMAND-4M0ds");
    await expectOk(await post(app, user.userId, "lock"));
    expect(await state(app, user.userId)).toBe("USER_STATE_LOCKED");
    expect((await signIn(app, user.username, PASSWORD)).status).toBe(400);
    await expectZitadelError(await post(app, user.userId, "lock"), 400, 9, "COMMAND-3NN8v");
    await expectOk(await post(app, user.userId, "unlock"));
    expect(await state(app, user.userId)).toBe("USER_STATE_ACTIVE");
    expect((await signIn(app, user.username, PASSWORD)).status).toBe(200);
  });

  it("an inactive user cannot be locked", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectOk(await post(app, user.userId, "deactivate"));
    await expectZitadelError(await post(app, user.userId, "lock"), 400, 9, "COMMAND-3NN8v");
  });

  it("a user's own token may not lock, unlock, deactivate or reactivate", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = ((await (await signIn(app, user.username, PASSWORD)).json()) as { access_token: string }).access_token;
    for (const verb of ["lock", "unlock", "deactivate", "reactivate"]) {
      await expectZitadelError(await post(app, user.userId, verb, token), 403, 7, "AUTH-5mWD2");
    }
    expect(await state(app, user.userId)).toBe("USER_STATE_ACTIVE");
  });

  it("unknown users answer NotFound with each command's id", async () => {
    const app = await zitadelApp();
    for (const [verb, id] of [
      ["lock", "COMMAND-5M9fs"],
      ["unlock", "COMMAND-M0dos"],
      ["deactivate", "COMMAND-3M9ds"],
      ["reactivate", "COMMAND-4M0sd"],
    ]) {
      await expectZitadelError(await post(app, "no-such-user", verb!), 404, 5, id!);
    }
    await expectZitadelError(await rest("/users/no-such-user", { token: app.admin, method: "DELETE" }), 404, 5, "COMMAND-m9od");
  });
});

describe("DeleteUser", () => {
  it("removes the user: GetUserByID then answers NotFound and the username is free", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const body = await expectOk<{ details: { resourceOwner: string } }>(await rest(`/users/${user.userId}`, { token: app.admin, method: "DELETE" }));
    expect(body.details.resourceOwner).toBe(app.orgId);
    await expectZitadelError(await rest(`/users/${user.userId}`, { token: app.admin }), 404, 5, "COMMAND-SAF4f");
    expect((await signIn(app, user.username, PASSWORD)).status).toBe(400);
    await expectOk(
      await rest("/users/human", {
        token: app.admin,
        json: { userId: user.userId, username: user.username, profile: { givenName: "A", familyName: "B" }, email: { email: user.email, isVerified: true } },
      }),
    );
  });

  it("a user may delete itself but not another user", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const other = await addHuman(app);
    const token = ((await (await signIn(app, user.username, PASSWORD)).json()) as { access_token: string }).access_token;
    await expectZitadelError(await rest(`/users/${other.userId}`, { token, method: "DELETE" }), 403, 7, "AUTH-5mWD2");
    await expectOk(await rest(`/users/${user.userId}`, { token, method: "DELETE" }));
  });
});
