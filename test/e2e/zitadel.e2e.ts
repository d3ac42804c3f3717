// @zitadel/client's createUserServiceClient against wrangler dev, over the three transports a
// ZITADEL app can use with Latchkey: Connect JSON (connect-web, fetch), Connect binary
// (connect-node) and gRPC-web (@zitadel/client/web). Every RPC's success and the error codes
// 3, 5, 7, 9 and 16 on each; codes that cross transports; users that cross dialects.
import { type Transport, ConnectError } from "@connectrpc/connect";
import { createConnectTransport as createNodeConnectTransport } from "@connectrpc/connect-node";
import { createConnectTransport as createWebConnectTransport } from "@connectrpc/connect-web";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createUserServiceClient } from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { NotificationType } from "@zitadel/proto/zitadel/user/v2/password_pb.js";
import { UserState } from "@zitadel/proto/zitadel/user/v2/user_pb.js";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp, waitForMessage } from "./helpers";

const PASSWORD = "Correct-horse-7";

const TRANSPORTS = {
  "Connect JSON": (token: string): Transport =>
    createWebConnectTransport({ baseUrl: baseUrl(), interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "Connect binary (connect-node)": (token: string): Transport =>
    createNodeConnectTransport({ baseUrl: baseUrl(), httpVersion: "1.1", useBinaryFormat: true, interceptors: [NewAuthorizationBearerInterceptor(token)] }),
  "gRPC-web": (token: string): Transport => createClientTransport(token, { baseUrl: baseUrl() }),
} as const;
type TransportName = keyof typeof TRANSPORTS;

const clientFor = (name: TransportName, token: string) => createUserServiceClient(TRANSPORTS[name](token));

function kiiHeaders(app: E2eApp): Record<string, string> {
  return { "Content-Type": "application/json", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey };
}

async function kiiToken(app: E2eApp, body: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl()}/api/oauth2/token`, { method: "POST", headers: kiiHeaders(app), body: JSON.stringify(body) });
}

async function adminToken(app: E2eApp): Promise<string> {
  const res = await kiiToken(app, { client_id: app.clientId, client_secret: app.clientSecret });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function userToken(app: E2eApp, username: string, password: string): Promise<string> {
  const res = await kiiToken(app, { username, password });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The rejected call's gRPC code and ZITADEL ErrorDetail id, as a client sees them. */
async function failure(call: Promise<unknown>): Promise<{ code: number; id: string | undefined; message: string }> {
  try {
    await call;
  } catch (e) {
    const error = ConnectError.from(e);
    return { code: error.code, id: error.findDetails(ErrorDetailSchema)[0]?.id, message: error.rawMessage };
  }
  throw new Error("the call succeeded");
}

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

async function addUser(name: TransportName, app: E2eApp, admin: string, password: string | null = PASSWORD) {
  const username = uniqueName("z");
  const email = `${username}@example.com`;
  const res = await clientFor(name, admin).addHumanUser({
    username,
    profile: { givenName: "Ada", familyName: "Lovelace" },
    email: { email, verification: { case: "isVerified", value: true } },
    ...(password !== null ? { passwordType: { case: "password" as const, value: { password, changeRequired: false } } } : {}),
  });
  return { userId: res.userId, username, email, details: res.details };
}

let app: E2eApp;
let admin: string;

beforeAll(async () => {
  app = await createE2eApp();
  admin = await adminToken(app);
});

describe.each(Object.keys(TRANSPORTS) as TransportName[])("@zitadel/client over %s", (name) => {
  describe("successes", () => {
    it("AddHumanUser creates a user in the app's org", async () => {
      const user = await addUser(name, app, admin);
      expect(user.userId).toMatch(/^\d+$/);
      expect(user.details?.resourceOwner).toBe(app.orgId);
      expect(user.details?.sequence).toBe(1n);
    });

    it("GetUserByID shows the human user", async () => {
      const user = await addUser(name, app, admin);
      const res = await clientFor(name, admin).getUserByID({ userId: user.userId });
      expect(res.user?.state).toBe(UserState.ACTIVE);
      expect(res.user?.username).toBe(user.username);
      expect(res.user?.type.case).toBe("human");
      const human = res.user?.type.case === "human" ? res.user.type.value : undefined;
      expect(human?.email?.email).toBe(user.email);
      expect(human?.profile?.givenName).toBe("Ada");
      expect(human?.passwordChanged).toBeDefined();
    });

    it("PasswordReset sendLink delivers the urlTemplate, filled in, to the outbox", async () => {
      const user = await addUser(name, app, admin);
      const res = await clientFor(name, admin).passwordReset({
        userId: user.userId,
        medium: {
          case: "sendLink",
          value: { notificationType: NotificationType.Email, urlTemplate: "https://app.example.com/pw?u={{.UserID}}&c={{.Code}}&o={{.OrgID}}" },
        },
      });
      expect(res.verificationCode).toBeUndefined();
      expect(res.details?.resourceOwner).toBe(app.orgId);
      const pattern = new RegExp(`https://app\\.example\\.com/pw\\?u=${user.userId}&c=[A-Z0-9]{6}&o=${app.orgId}`);
      const message = await waitForMessage(user.email, (m) => pattern.test(m.text));
      expect(message.channel).toBe("email");
    });

    it("PasswordReset returnCode gives a code that SetPassword accepts", async () => {
      const user = await addUser(name, app, admin);
      const client = clientFor(name, admin);
      const { verificationCode } = await client.passwordReset({ userId: user.userId, medium: { case: "returnCode", value: {} } });
      expect(verificationCode).toMatch(/^[A-Z0-9]{6}$/);
      const set = await client.setPassword({
        userId: user.userId,
        newPassword: { password: "Reset-by-code-1", changeRequired: false },
        verification: { case: "verificationCode", value: verificationCode! },
      });
      expect(set.details?.sequence).toBe(3n);
      expect((await kiiToken(app, { username: user.username, password: "Reset-by-code-1" })).status).toBe(200);
    });

    it("SetPassword with currentPassword changes the user's own password", async () => {
      const user = await addUser(name, app, admin);
      const token = await userToken(app, user.username, PASSWORD);
      await clientFor(name, token).setPassword({
        userId: user.userId,
        newPassword: { password: "Changed-by-me-2", changeRequired: false },
        verification: { case: "currentPassword", value: PASSWORD },
      });
      expect((await kiiToken(app, { username: user.username, password: "Changed-by-me-2" })).status).toBe(200);
    });

    it("SetPassword by an admin stores changeRequired", async () => {
      const user = await addUser(name, app, admin);
      const client = clientFor(name, admin);
      await client.setPassword({ userId: user.userId, newPassword: { password: "Admin-chosen-3", changeRequired: true } });
      const res = await client.getUserByID({ userId: user.userId });
      expect(res.user?.type.case === "human" && res.user.type.value.passwordChangeRequired).toBe(true);
    });
  });

  describe("errors", () => {
    it("3 InvalidArgument: a wrong verification code (CODE-woT0xc)", async () => {
      const user = await addUser(name, app, admin);
      const client = clientFor(name, admin);
      const { verificationCode } = await client.passwordReset({ userId: user.userId, medium: { case: "returnCode", value: {} } });
      const wrong = verificationCode === "AAAAAA" ? "BBBBBB" : "AAAAAA";
      const got = await failure(
        client.setPassword({ userId: user.userId, newPassword: { password: "Never-set-4", changeRequired: false }, verification: { case: "verificationCode", value: wrong } }),
      );
      expect(got).toMatchObject({ code: 3, id: "CODE-woT0xc", message: "Code is invalid (CODE-woT0xc)" });
    });

    it("5 NotFound: an unknown user (COMMAND-SAF4f)", async () => {
      const got = await failure(clientFor(name, admin).getUserByID({ userId: "4040404" }));
      expect(got).toMatchObject({ code: 5, id: "COMMAND-SAF4f", message: "User could not be found (COMMAND-SAF4f)" });
    });

    it("7 PermissionDenied: a user reading another user", async () => {
      const user = await addUser(name, app, admin);
      const other = await addUser(name, app, admin);
      const token = await userToken(app, user.username, PASSWORD);
      const got = await failure(clientFor(name, token).getUserByID({ userId: other.userId }));
      expect(got).toMatchObject({ code: 7, message: "No matching permissions found (AUTH-5mWD2)" });
    });

    it("9 FailedPrecondition: a code when none was issued (COMMAND-2M9fs)", async () => {
      const user = await addUser(name, app, admin);
      const got = await failure(
        clientFor(name, admin).setPassword({
          userId: user.userId,
          newPassword: { password: "Never-set-5", changeRequired: false },
          verification: { case: "verificationCode", value: "ABC123" },
        }),
      );
      expect(got).toMatchObject({ code: 9, id: "COMMAND-2M9fs" });
    });

    it("16 Unauthenticated: an invalid token (AUTH-7fs1e)", async () => {
      const got = await failure(clientFor(name, "not-a-latchkey-token").getUserByID({ userId: "1" }));
      expect(got).toMatchObject({ code: 16, id: "AUTH-7fs1e" });
    });
  });
});

describe("across transports", () => {
  const pairs: [TransportName, TransportName][] = [
    ["Connect JSON", "gRPC-web"],
    ["gRPC-web", "Connect binary (connect-node)"],
    ["Connect binary (connect-node)", "Connect JSON"],
  ];
  it.each(pairs)("a code returned over %s is accepted over %s", async (from, to) => {
    const user = await addUser(from, app, admin);
    const { verificationCode } = await clientFor(from, admin).passwordReset({ userId: user.userId, medium: { case: "returnCode", value: {} } });
    await clientFor(to, admin).setPassword({
      userId: user.userId,
      newPassword: { password: "Crossed-over-6", changeRequired: false },
      verification: { case: "verificationCode", value: verificationCode! },
    });
    expect((await kiiToken(app, { username: user.email, password: "Crossed-over-6" })).status).toBe(200);
  });
});

describe("across dialects", () => {
  it("a user added with AddHumanUser signs in through Kii's token endpoint", async () => {
    const user = await addUser("gRPC-web", app, admin);
    const res = await kiiToken(app, { username: user.username, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(user.userId);
  });

  it("a user registered through Kii is reset through ZITADEL and signs in with the new password", async () => {
    const loginName = uniqueName("kii");
    const reg = await fetch(`${baseUrl()}/api/apps/${app.appId}/users`, {
      method: "POST",
      headers: { ...kiiHeaders(app), "Content-Type": "application/vnd.kii.RegistrationRequest+json" },
      body: JSON.stringify({ loginName, emailAddress: `${loginName}@example.com`, password: "kii-original-pw" }),
    });
    expect(reg.status).toBe(201);
    const { userID } = (await reg.json()) as { userID: string };
    const client = clientFor("Connect JSON", admin);
    const seen = await client.getUserByID({ userId: userID });
    expect(seen.user?.username).toBe(loginName);
    const { verificationCode } = await client.passwordReset({ userId: userID, medium: { case: "returnCode", value: {} } });
    await client.setPassword({ userId: userID, newPassword: { password: "From-zitadel-7", changeRequired: false }, verification: { case: "verificationCode", value: verificationCode! } });
    expect((await kiiToken(app, { username: loginName, password: "From-zitadel-7" })).status).toBe(200);
    expect((await kiiToken(app, { username: loginName, password: "kii-original-pw" })).status).toBe(400);
  });
});

describe("native gRPC", () => {
  it("gets grpc-status 12 with a message pointing to gRPC-web and Connect, and nothing runs", async () => {
    const user = await addUser("Connect JSON", app, admin);
    // A PasswordReset for the user, framed as native gRPC would send it (field 1 = userId).
    const id = new TextEncoder().encode(user.userId);
    const payload = new Uint8Array([0x0a, id.length, ...id]);
    const body = new Uint8Array([0, 0, 0, 0, payload.length, ...payload]);
    const res = await fetch(`${baseUrl()}/zitadel.user.v2.UserService/PasswordReset`, {
      method: "POST",
      headers: { "Content-Type": "application/grpc", TE: "trailers", Authorization: `Bearer ${admin}` },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("grpc-status")).toBe("12");
    expect(decodeURIComponent(res.headers.get("grpc-message") ?? "")).toMatch(/gRPC-web.*Connect/);
    const after = await clientFor("Connect JSON", admin).getUserByID({ userId: user.userId });
    expect(after.details?.sequence).toBe(1n);
  });
});
