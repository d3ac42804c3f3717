// Bulk import end to end (issue 12): users imported with foreign hashes over NDJSON sign in with
// the official Kii SDK, and @zitadel/client imports a bcrypt hash through AddHumanUser and checks
// it as currentPassword. Against wrangler dev (workerd), Connect JSON transport.
import { createRequire } from "node:module";
import { ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createUserServiceClient } from "@zitadel/client/v2";
import bcrypt from "bcryptjs";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp } from "./helpers";

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;

const USERS = [
  { loginName: "imp-bcrypt", password: "correct horse", passwordHash: bcrypt.hashSync("correct horse", 4) },
  // phc-winner-argon2's reference vector (src/test.c).
  { loginName: "imp-argon2", password: "password", passwordHash: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4" },
  // Drepper's SHA-crypt specification, rounds=10000 vector.
  { loginName: "imp-sha512", password: "Hello world!", passwordHash: "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v." },
  // firebase/scrypt README example.
  {
    loginName: "imp-firebase",
    password: "user1password",
    passwordHash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
    hashFormat: "firebase-scrypt",
    hashParams: { signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==", saltSeparator: "Bw==", rounds: 8, memCost: 14, salt: "42xEC+ixf3L2lw==" },
  },
];

describe("bulk import, then sign-in through both dialects' clients", () => {
  let app: E2eApp;
  beforeAll(async () => {
    app = await createE2eApp();
  });

  it("imports NDJSON and each user signs in with the Kii SDK, again after the upgrade", async () => {
    const body = USERS.map(({ password: _, ...u }) => JSON.stringify({ ...u, email: `${u.loginName}@example.com`, emailVerified: true })).join("\n") + "\n";
    const res = await fetch(`${baseUrl()}/admin/apps/${app.appId}/users:import`, {
      method: "POST",
      headers: { Authorization: `Bearer ${inject("adminToken")}`, "Content-Type": "application/x-ndjson" },
      body,
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.pop()).toEqual({ summary: { created: USERS.length, updated: 0, refused: 0 } });

    const sdk: Sdk = require("kii-cloud-sdk").create();
    sdk.Kii.initializeWithSite(app.appId, app.appKey, `${baseUrl()}/api`);
    for (const u of USERS) {
      const first = await sdk.KiiUser.authenticate(u.loginName, u.password);
      expect(first.getUsername()).toBe(u.loginName);
      const again = await sdk.KiiUser.authenticate(u.loginName, u.password);
      expect(again.getID()).toBe(first.getID());
      await expect(sdk.KiiUser.authenticate(u.loginName, `${u.password}!`)).rejects.toBeTruthy();
    }
  });

  it("pauses at ?maxQueries= with the line to resume from, and ?fromLine= finishes the file", async () => {
    const body = Array.from({ length: 40 }, (_, i) => JSON.stringify({ loginName: `imp-page-${i + 1}`, email: `imp-page-${i + 1}@example.com` })).join("\n") + "\n";
    const post = async (query: string) => {
      const res = await fetch(`${baseUrl()}/admin/apps/${app.appId}/users:import${query}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${inject("adminToken")}`, "Content-Type": "application/x-ndjson" },
        body,
      });
      expect(res.status).toBe(200);
      return (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
    };
    const first = await post("?maxQueries=4");
    expect(first.pop()).toMatchObject({ paused: true, nextLine: 33, counts: { created: 32, updated: 0, refused: 0 } });
    expect(first.map((l) => l.line)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    const rest = await post("?fromLine=33");
    expect(rest.pop()).toEqual({ summary: { created: 8, updated: 0, refused: 0 } });
    expect(rest.map((l) => l.line)).toEqual(Array.from({ length: 8 }, (_, i) => i + 33));
    const bad = await fetch(`${baseUrl()}/admin/apps/${app.appId}/users:import?fromLine=0`, {
      method: "POST",
      headers: { Authorization: `Bearer ${inject("adminToken")}`, "Content-Type": "application/x-ndjson" },
      body,
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_request", field: "fromLine" });
  });

  it("@zitadel/client: AddHumanUser with a bcrypt hashedPassword, then SetPassword with it as currentPassword", async () => {
    const tokenRes = await fetch(`${baseUrl()}/api/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
      body: JSON.stringify({ client_id: app.clientId, client_secret: app.clientSecret }),
    });
    const admin = ((await tokenRes.json()) as { access_token: string }).access_token;
    const client = createUserServiceClient(createConnectTransport({ baseUrl: baseUrl(), interceptors: [NewAuthorizationBearerInterceptor(admin)] }));
    const added = await client.addHumanUser({
      username: "zitadel-imported",
      profile: { givenName: "Ida", familyName: "Imported" },
      email: { email: "zitadel-imported@example.com", verification: { case: "isVerified", value: true } },
      passwordType: { case: "hashedPassword", value: { hash: bcrypt.hashSync("Old-bcrypt-pass-1", 4) } },
    });
    await client.setPassword({
      userId: added.userId,
      newPassword: { password: "New-native-pass-2", changeRequired: false },
      verification: { case: "currentPassword", value: "Old-bcrypt-pass-1" },
    });
    const signIn = await fetch(`${baseUrl()}/api/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
      body: JSON.stringify({ username: "zitadel-imported", password: "New-native-pass-2" }),
    });
    expect(signIn.status).toBe(200);

    const refused = await client
      .addHumanUser({
        profile: { givenName: "A", familyName: "B" },
        email: { email: "too-costly@example.com" },
        passwordType: { case: "hashedPassword", value: { hash: "$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4" } },
      })
      .then(
        () => null,
        (e) => ConnectError.from(e),
      );
    expect(refused?.code).toBe(3); // InvalidArgument
    expect(refused?.rawMessage).toMatch(/argon2 m \(KiB\)/);
  });
});
