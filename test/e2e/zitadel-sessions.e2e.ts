// @zitadel/client's createSessionServiceClient against wrangler dev over Connect JSON, Connect
// binary and gRPC-web: create with user + password checks, set, get, delete; a locked user refused.
import { ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport as createNodeConnectTransport } from "@connectrpc/connect-node";
import { createConnectTransport as createWebConnectTransport } from "@connectrpc/connect-web";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createSessionServiceClient, createUserServiceClient } from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { describe, expect, it } from "vitest";
import { baseUrl, createE2eApp } from "./helpers";

const PASSWORD = "Correct-horse-7";

const TRANSPORTS = {
  "Connect JSON": (token: string): Transport => createWebConnectTransport({ baseUrl: baseUrl(), interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "Connect binary": (token: string): Transport =>
    createNodeConnectTransport({ baseUrl: baseUrl(), httpVersion: "1.1", useBinaryFormat: true, interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "gRPC-web": (token: string): Transport => createClientTransport(token, { baseUrl: baseUrl() }),
} as const;

async function failure(call: Promise<unknown>): Promise<{ code: number; id: string | undefined }> {
  try {
    await call;
  } catch (e) {
    const error = ConnectError.from(e);
    return { code: error.code, id: error.findDetails(ErrorDetailSchema)[0]?.id };
  }
  throw new Error("the call succeeded");
}

describe.each(Object.keys(TRANSPORTS) as (keyof typeof TRANSPORTS)[])("@zitadel/client SessionService over %s", (transport) => {
  it("creates a session with user and password checks, sets, gets and deletes it; a locked user is refused", async () => {
    const app = await createE2eApp({ lockout: { maxPasswordAttempts: 2 } });
    const res = await fetch(`${baseUrl()}/api/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret }),
    });
    const admin = ((await res.json()) as { access_token: string }).access_token;
    const users = createUserServiceClient(TRANSPORTS[transport](admin));
    const sessions = createSessionServiceClient(TRANSPORTS[transport](admin));
    const username = `sess-${transport.replace(/\W/g, "").toLowerCase()}`;
    const { userId } = await users.addHumanUser({
      username,
      profile: { givenName: "Ada", familyName: "Lovelace" },
      email: { email: `${username}@example.com`, verification: { case: "isVerified", value: true } },
      passwordType: { case: "password", value: { password: PASSWORD, changeRequired: false } },
    });

    const created = await sessions.createSession({
      checks: { user: { search: { case: "loginName", value: username } }, password: { password: PASSWORD } },
      lifetime: { seconds: 3600n, nanos: 0 },
    });
    expect(created.sessionToken.length).toBeGreaterThanOrEqual(22);
    const got = await sessions.getSession({ sessionId: created.sessionId, sessionToken: created.sessionToken });
    expect(got.session?.factors?.user?.id).toBe(userId);
    expect(got.session?.factors?.password?.verifiedAt).toBeDefined();
    expect(got.session?.expirationDate).toBeDefined();

    const userOnly = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });
    const set = await sessions.setSession({ sessionId: userOnly.sessionId, sessionToken: userOnly.sessionToken, checks: { password: { password: PASSWORD } } });
    expect(set.sessionToken).not.toBe(userOnly.sessionToken);
    expect(await failure(sessions.getSession({ sessionId: userOnly.sessionId, sessionToken: userOnly.sessionToken }))).toEqual({ code: 7, id: "COMMAND-sGr42" });

    const listed = await sessions.listSessions({ queries: [{ query: { case: "userIdQuery", value: { id: userId } } }] });
    expect(listed.sessions.map((s) => s.id).sort()).toEqual([created.sessionId, userOnly.sessionId].sort());

    await sessions.deleteSession({ sessionId: created.sessionId, sessionToken: created.sessionToken });
    expect(await failure(sessions.getSession({ sessionId: created.sessionId }))).toEqual({ code: 5, id: "QUERY-SFeaa" });

    const wrong = { checks: { user: { search: { case: "userId" as const, value: userId } }, password: { password: "wrong password" } } };
    expect(await failure(sessions.createSession(wrong))).toEqual({ code: 3, id: "COMMAND-3M0fs" });
    expect(await failure(sessions.createSession(wrong))).toEqual({ code: 3, id: "COMMAND-3M0fs" });
    const right = { checks: { user: { search: { case: "userId" as const, value: userId } }, password: { password: PASSWORD } } };
    expect(await failure(sessions.createSession(right))).toEqual({ code: 9, id: "COMMAND-JLK35" });
    expect(await failure(sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } }, totp: { code: "123456" } } }))).toEqual({
      code: 12,
      id: "LATCHKEY-UNIMPLEMENTED",
    });
  });
});
