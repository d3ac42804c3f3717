// SPEC §8: only hashes of codes and tokens are stored. After real resets and sign-ins, every KV
// value and every D1 row is read raw and searched for the plaintext secrets.
import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import { adminToken, call, createApp, userToken } from "../helpers";
import { latestMessage, linkIn, newUser, PASSWORD, pinIn, requestReset } from "../kii/password-helpers";

async function everythingStored(): Promise<string> {
  const parts: string[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.CODES.list(cursor ? { cursor } : {});
    for (const key of page.keys) parts.push(key.name, (await env.CODES.get(key.name)) ?? "");
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  // The control database and every shard: each has every table (one schema for all).
  for (const db of [env.DB, env.USERS_0!, env.USERS_1!]) {
    const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{
      name: string;
    }>();
    expect(tables.results.map((t) => t.name)).toEqual(expect.arrayContaining(["users", "access_tokens", "password_resets", "sessions", "sign_in_guards"]));
    for (const { name } of tables.results) {
      const rows = await db.prepare(`SELECT * FROM "${name}"`).all();
      parts.push(JSON.stringify(rows.results));
    }
  }
  return parts.join("\n");
}

it("stores no plaintext reset code, link token, access token, password or client secret in KV or D1", async () => {
  const app = await createApp();
  const users = await Promise.all([newUser(app), newUser(app), newUser(app)]);
  const [emailUser, smsLinkUser, pinUser] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];

  const tokens = [
    await userToken(app, emailUser.loginName, PASSWORD),
    await userToken(app, smsLinkUser.loginName, PASSWORD),
    await userToken(app, pinUser.loginName, PASSWORD),
    await adminToken(app),
  ];
  // A ZITADEL session token (SessionService), created with the admin token.
  const session = await call("/v2/sessions", {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens[3]}` },
    json: { checks: { user: { userId: emailUser.userID }, password: { password: PASSWORD } } },
  });
  expect(session.status).toBe(200);
  tokens.push(((await session.json()) as { sessionToken: string }).sessionToken);
  expect((await requestReset(app, `EMAIL:${emailUser.email}`)).status).toBe(204);
  expect((await requestReset(app, smsLinkUser.userID, { json: { notificationMethod: "SMS" } })).status).toBe(204);
  expect((await requestReset(app, pinUser.userID, { json: { notificationMethod: "SMS", smsResetMethod: "PIN" } })).status).toBe(204);

  const emailCode = linkIn(await latestMessage(emailUser.email, "reset_link")).code;
  const smsCode = linkIn(await latestMessage(smsLinkUser.phone, "reset_link")).code;
  const pin = pinIn(await latestMessage(pinUser.phone, "reset_pin"));

  const stored = await everythingStored();
  // The codes are live, so they are referenced somewhere: prove the search looks at the right data.
  expect(stored).toContain(emailUser.userID);
  expect((await env.CODES.list()).keys.length).toBeGreaterThanOrEqual(3);

  for (const secret of [emailCode, smsCode, ...tokens, PASSWORD, app.clientSecret]) expect(stored).not.toContain(secret);
  // A PIN is six digits: only a standalone occurrence would be the PIN itself, not part of a timestamp.
  expect(stored).not.toMatch(new RegExp(`(?<!\\d)${pin}(?!\\d)`));
});
