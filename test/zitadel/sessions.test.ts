// zitadel.session.v2.SessionService over REST (issue 10): user + password checks, tokens stored
// hashed and replaced at every change, lifetimes, the lockout, unsupported factors, and sessions
// dying with the password. test/e2e/zitadel-sessions.e2e.ts drives the same RPCs with @zitadel/client.
import { createScheduledController, env } from "cloudflare:test";
import worker from "../../src/index";
import { describe, expect, it } from "vitest";
import { sha256Base64url } from "../../src/lib/digest";
import { createServices } from "../../src/core/services";
import { createSession as coreCreateSession, setSession as coreSetSession } from "../../src/core/sessions";
import { PasswordHasher } from "../../src/core/passwords";
import { signIn, everyShard } from "../helpers";
import { addHuman, expectOk, expectZitadelError, PASSWORD, rest, zitadelApp, type ZitadelApp } from "./helpers";

interface Created {
  sessionId: string;
  sessionToken: string;
  details: { sequence: string; resourceOwner: string };
}

const createSession = (app: ZitadelApp, checks: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  rest("/sessions", { token: app.admin, json: { checks, ...extra } });

const getSession = (app: ZitadelApp, id: string, sessionToken?: string, token: string = app.admin) =>
  rest(`/sessions/${id}${sessionToken ? `?sessionToken=${encodeURIComponent(sessionToken)}` : ""}`, { token });

describe("CreateSession", () => {
  it("checks the user (by loginName or userId) and the password, and stores only the token's hash", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { loginName: user.username }, password: { password: PASSWORD } }));
    // {appId}.{256 random bits}: the app names the shard that holds the session.
    expect(created.sessionToken).toMatch(new RegExp(`^${app.appId}\\.[A-Za-z0-9_-]{43}$`));
    expect(created.details.resourceOwner).toBe(app.orgId);
    const row = await everyShard.prepare("SELECT * FROM sessions WHERE id = ?").bind(created.sessionId).first<Record<string, unknown>>();
    expect(row!.token_hash).toBe(sha256Base64url(created.sessionToken));
    expect(JSON.stringify(row)).not.toContain(created.sessionToken);
    const { session } = await expectOk<{ session: { id: string; factors: { user: { id: string; organizationId: string }; password?: { verifiedAt: string } } } }>(
      await getSession(app, created.sessionId, created.sessionToken),
    );
    expect(session.factors.user).toMatchObject({ id: user.userId, organizationId: app.orgId });
    expect(session.factors.password?.verifiedAt).toMatch(/Z$/);
    const byId = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    const other = await expectOk<{ session: { factors: { password?: unknown } } }>(await getSession(app, byId.sessionId));
    expect(other.session.factors.password).toBeUndefined();
  });

  it("a wrong password: InvalidArgument COMMAND-3M0fs and no session; an unknown user: NotFound", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await createSession(app, { user: { userId: user.userId }, password: { password: "wrong one" } }), 400, 3, "COMMAND-3M0fs");
    await expectZitadelError(await createSession(app, { user: { loginName: "nobody-here" }, password: { password: "x" } }), 404, 5, "COMMAND-SAF4f");
    expect(await everyShard.prepare("SELECT COUNT(*) AS n FROM sessions WHERE app_id = ?").bind(app.appId).first("n")).toBe(0);
  });

  it("failed password checks count toward the lockout; then even the right one gets COMMAND-JLK35", async () => {
    const app = await zitadelApp({ lockout: { maxPasswordAttempts: 2 } });
    const user = await addHuman(app);
    for (let i = 0; i < 2; i++) await expectZitadelError(await createSession(app, { user: { userId: user.userId }, password: { password: "wrong" } }), 400, 3, "COMMAND-3M0fs");
    await expectZitadelError(await createSession(app, { user: { userId: user.userId }, password: { password: PASSWORD } }), 400, 9, "COMMAND-JLK35");
  });

  it("answers unsupported factors, challenges and metadata with Unimplemented, and a missing user check with InvalidArgument", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    await expectZitadelError(await createSession(app, { user: { userId: user.userId }, totp: { code: "123456" } }), 501, 12, "LATCHKEY-UNIMPLEMENTED");
    await expectZitadelError(await createSession(app, { user: { userId: user.userId } }, { challenges: { otpSms: {} } }), 501, 12, "LATCHKEY-UNIMPLEMENTED");
    await expectZitadelError(await createSession(app, { user: { userId: user.userId } }, { metadata: { k: "dmFsdWU=" } }), 501, 12, "LATCHKEY-UNIMPLEMENTED");
    await expectZitadelError(await createSession(app, { password: { password: PASSWORD } }), 400, 3, "LATCHKEY-INPUT");
  });

  it("needs the app admin", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const token = await expectOk<{ access_token: string }>(await signIn(app, user.username, PASSWORD));
    await expectZitadelError(await rest("/sessions", { token: token.access_token, json: { checks: { user: { userId: user.userId } } } }), 403, 7, "AUTH-5mWD2");
  });
});

describe("SetSession, GetSession, DeleteSession", () => {
  it("SetSession adds a password check and replaces the token: the old one stops working", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    const set = await expectOk<{ sessionToken: string; details: { sequence: string } }>(
      await rest(`/sessions/${created.sessionId}`, { token: app.admin, method: "PATCH", json: { sessionToken: created.sessionToken, checks: { password: { password: PASSWORD } } } }),
    );
    expect(set.sessionToken).not.toBe(created.sessionToken);
    expect(set.details.sequence).toBe("2");
    await expectZitadelError(await getSession(app, created.sessionId, created.sessionToken), 403, 7, "COMMAND-sGr42");
    const { session } = await expectOk<{ session: { factors: { password?: unknown } } }>(await getSession(app, created.sessionId, set.sessionToken));
    expect(session.factors.password).toBeDefined();
  });

  it("SetSession with a wrong token or a wrong password changes nothing", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    const patch = (json: unknown) => rest(`/sessions/${created.sessionId}`, { token: app.admin, method: "PATCH", json });
    await expectZitadelError(await patch({ sessionToken: "not-the-token", checks: { password: { password: PASSWORD } } }), 403, 7, "COMMAND-sGr42");
    await expectZitadelError(await patch({ sessionToken: created.sessionToken, checks: { password: { password: "wrong" } } }), 400, 3, "COMMAND-3M0fs");
    await expectZitadelError(await patch({ sessionToken: created.sessionToken, checks: { user: { loginName: "someone-else" } } }), 400, 3, "LATCHKEY-INPUT");
    const { session } = await expectOk<{ session: { sequence: string; factors: { password?: unknown } } }>(await getSession(app, created.sessionId, created.sessionToken));
    expect(session.sequence).toBe("1");
    expect(session.factors.password).toBeUndefined();
  });

  it("a session of another app is not found", async () => {
    const app = await zitadelApp();
    const other = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    await expectZitadelError(await getSession(other, created.sessionId, created.sessionToken), 404, 5, "QUERY-SFeaa");
    await expectZitadelError(await rest(`/sessions/${created.sessionId}`, { token: other.admin, method: "DELETE", json: {} }), 404, 5, "QUERY-SFeaa");
  });

  it("expires after its lifetime", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }, { lifetime: "1s" }));
    const { session } = await expectOk<{ session: { expirationDate: string } }>(await getSession(app, created.sessionId, created.sessionToken));
    expect(Date.parse(session.expirationDate)).toBeGreaterThan(Date.now() - 1000);
    await everyShard.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, created.sessionId).run();
    await expectZitadelError(
      await rest(`/sessions/${created.sessionId}`, { token: app.admin, method: "PATCH", json: { sessionToken: created.sessionToken } }),
      400,
      9,
      "COMMAND-Hkl3d",
    );
  });

  it("DeleteSession with the session token removes it", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    await expectZitadelError(await rest(`/sessions/${created.sessionId}`, { token: app.admin, method: "DELETE", json: { sessionToken: "wrong" } }), 403, 7, "COMMAND-sGr42");
    await expectOk(await rest(`/sessions/${created.sessionId}`, { token: app.admin, method: "DELETE", json: { sessionToken: created.sessionToken } }));
    await expectZitadelError(await getSession(app, created.sessionId), 404, 5, "QUERY-SFeaa");
  });
});

describe("sessions die with the password, and ListSessions", () => {
  it("a password change, a deactivation or a lock removes the user's sessions", async () => {
    const app = await zitadelApp();
    for (const end of [
      (id: string) => rest(`/users/${id}/password`, { token: app.admin, json: { newPassword: { password: "Another-horse-8" } } }),
      (id: string) => rest(`/users/${id}/deactivate`, { token: app.admin, json: {} }),
      (id: string) => rest(`/users/${id}/lock`, { token: app.admin, json: {} }),
    ]) {
      const user = await addHuman(app);
      const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId }, password: { password: PASSWORD } }));
      await expectOk(await end(user.userId));
      await expectZitadelError(await getSession(app, created.sessionId, created.sessionToken), 404, 5, "QUERY-SFeaa");
    }
  });

  it("lists the app's sessions filtered by ids and by user id", async () => {
    const app = await zitadelApp();
    const ann = await addHuman(app);
    const bob = await addHuman(app);
    const a1 = await expectOk<Created>(await createSession(app, { user: { userId: ann.userId } }));
    const a2 = await expectOk<Created>(await createSession(app, { user: { userId: ann.userId } }));
    const b1 = await expectOk<Created>(await createSession(app, { user: { userId: bob.userId } }));
    const list = async (queries: unknown[]) =>
      (await expectOk<{ sessions?: { id: string }[] }>(await rest("/sessions/search", { token: app.admin, json: { queries } }))).sessions?.map((s) => s.id).sort() ?? [];
    expect(await list([])).toEqual([a1.sessionId, a2.sessionId, b1.sessionId].sort());
    expect(await list([{ userIdQuery: { id: ann.userId } }])).toEqual([a1.sessionId, a2.sessionId].sort());
    expect(await list([{ idsQuery: { ids: [a1.sessionId, b1.sessionId] } }])).toEqual([a1.sessionId, b1.sessionId].sort());
    expect(await list([{ idsQuery: { ids: [a1.sessionId, b1.sessionId] } }, { userIdQuery: { id: bob.userId } }])).toEqual([b1.sessionId]);
  });
});

describe("daily clean-up", () => {
  it("deletes expired sessions and keeps live ones and those without a lifetime", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const expiring = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }, { lifetime: "3600s" }));
    const live = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }, { lifetime: "3600s" }));
    const forever = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    await everyShard.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, expiring.sessionId).run();
    await worker.scheduled(createScheduledController({ cron: "17 3 * * *" }), env);
    const ids = (await everyShard.prepare("SELECT id FROM sessions WHERE app_id = ?").bind(app.appId).all<{ id: string }>()).results.map((r) => r.id).sort();
    expect(ids).toEqual([live.sessionId, forever.sessionId].sort());
  });
});

describe("a password change or deactivation racing a session's password check", () => {
  // The change lands while the password is being compared (the hasher is wrapped): the session
  // must not outlive the change that was meant to remove it, as a token does not (test/kii/signin.test.ts).
  async function whileCompared(app: ZitadelApp, userId: string, change: () => Promise<unknown>) {
    const svc = createServices(env);
    const stored = (await svc.apps.get(app.appId))!;
    const verify = svc.hasher.verify.bind(svc.hasher);
    svc.hasher.verify = async (password, phc) => {
      const ok = await verify(password, phc);
      await change();
      return ok;
    };
    return { svc, stored, principal: { kind: "admin" as const, appId: app.appId }, userId };
  }
  const kindOf = (e: unknown) => (e as { kind?: string }).kind;
  const sessionsOf = (userId: string) => everyShard.prepare("SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?").bind(userId).first<number>("n");

  it("CreateSession stores nothing when the password changed, or the user was deactivated or locked, meanwhile", async () => {
    const app = await zitadelApp();
    const cases: [string, (id: string) => Promise<Response | null>][] = [
      ["wrong_password", (id) => rest(`/users/${id}/password`, { token: app.admin, json: { newPassword: { password: "Another-horse-8" } } })],
      ["user_disabled", (id) => rest(`/users/${id}/deactivate`, { token: app.admin, json: {} })],
      ["wrong_password locked", (id) => rest(`/users/${id}/lock`, { token: app.admin, json: {} })],
      ["created", async () => null],
    ];
    for (const [expected, change] of cases) {
      const user = await addHuman(app);
      const { svc, stored, principal } = await whileCompared(app, user.userId, async () => expect((await change(user.userId))?.status ?? 200).toBe(200));
      const outcome = await coreCreateSession(svc, stored, principal, { user: { by: "id", value: user.userId }, password: PASSWORD }).then(
        () => "created",
        (e: { kind?: string; details?: { locked?: boolean } }) => (e.details?.locked ? `${e.kind} locked` : e.kind),
      );
      expect([outcome, await sessionsOf(user.userId)]).toEqual([expected, expected === "created" ? 1 : 0]);
    }
  });

  it("SetSession records no password check when the password changed meanwhile", async () => {
    const app = await zitadelApp();
    const user = await addHuman(app);
    const created = await expectOk<Created>(await createSession(app, { user: { userId: user.userId } }));
    const other = await new PasswordHasher({ params: { logN: 10, r: 8, p: 1 } }).hash("another password");
    // A bare UPDATE of the hash, which leaves the session in place: only the condition stops the check.
    const { svc, stored, principal } = await whileCompared(app, user.userId, () =>
      everyShard.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(other, user.userId).run(),
    );
    const outcome = await coreSetSession(svc, stored, principal, { sessionId: created.sessionId, sessionToken: created.sessionToken, password: PASSWORD }).then(() => "set", kindOf);
    expect(outcome).toBe("wrong_password");
    const row = await everyShard.prepare("SELECT password_checked_at, token_hash FROM sessions WHERE id = ?").bind(created.sessionId).first<{ password_checked_at: number | null; token_hash: string }>();
    expect(row).toEqual({ password_checked_at: null, token_hash: sha256Base64url(created.sessionToken) });
  });
});
