// Bulk import (issue 12): POST /admin/apps/{appId}/users:import takes NDJSON, answers one NDJSON
// result per line (created / updated / refused with reason and line number) and a summary.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createApp, kiiHeaders, type TestApp, everyShard } from "../helpers";
import { signInStatus, unique, userRow } from "../kii/password-helpers";

type Result = { line: number; status: "created" | "updated" | "refused"; userId?: string; reason?: string; field?: string };
type Summary = { summary: { created: number; updated: number; refused: number } };

async function importNdjson(app: TestApp, lines: (string | object)[], headers: Record<string, string> = {}) {
  const body = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
  return call(`/admin/apps/${app.appId}/users:import`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/x-ndjson", ...headers },
    body,
  });
}

async function results(res: Response): Promise<{ lines: Result[]; summary: Summary["summary"] }> {
  // Decoded by hand: workerd's .text() warns on a content type it does not know as text.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  expect(res.status, text).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
  const all = text.trim().split("\n").map((l) => JSON.parse(l));
  const last = all.pop() as Summary;
  expect(last.summary, text).toBeDefined();
  return { lines: all as Result[], summary: last.summary };
}

const BCRYPT = "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2"; // "correct horse", libxcrypt
const FIREBASE = {
  passwordHash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
  hashFormat: "firebase-scrypt",
  hashParams: {
    signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    saltSeparator: "Bw==",
    rounds: 8,
    memCost: 14,
    salt: "42xEC+ixf3L2lw==",
  },
}; // firebase/scrypt README example: "user1password"

describe("users:import", () => {
  it("creates users in several formats, each signing in with its original password", async () => {
    const app = await createApp();
    const a = unique("imp");
    const { lines, summary } = await results(
      await importNdjson(app, [
        { id: `${a}-1`, loginName: `${a}-bc`, email: `${a}-bc@example.com`, emailVerified: true, givenName: "Bea", passwordHash: BCRYPT },
        { username: `${a}-fb`, phone: "+819012345678", phoneVerified: true, ...FIREBASE },
        { loginName: `${a}-pl`, password: "a plain password", locale: "ja" },
        { loginName: `${a}-none`, email: `${a}-none@example.com` },
      ]),
    );
    expect(summary).toEqual({ created: 4, updated: 0, refused: 0 });
    expect(lines.map((l) => [l.line, l.status])).toEqual([[1, "created"], [2, "created"], [3, "created"], [4, "created"]]);
    expect(lines[0]!.userId).toBe(`${a}-1`);
    expect(await userRow(`${a}-1`)).toMatchObject({ given_name: "Bea", email_verified: 1, password_hash: BCRYPT });
    expect(await signInStatus(app, `${a}-bc`, "correct horse")).toBe(200);
    expect(await signInStatus(app, `${a}-fb`, "user1password")).toBe(200);
    expect(await signInStatus(app, `${a}-pl`, "a plain password")).toBe(200);
    expect((await userRow(lines[3]!.userId!))!.password_hash).toBeNull();
  });

  it("is idempotent: a rerun updates by id or login name and never duplicates, nor undoes an upgraded password", async () => {
    const app = await createApp();
    const a = unique("rerun");
    const file = [
      { id: `${a}-1`, loginName: `${a}-one`, displayName: "One", passwordHash: BCRYPT },
      { loginName: `${a}-two`, displayName: "Two", passwordHash: BCRYPT },
    ];
    const first = await results(await importNdjson(app, file));
    expect(first.summary.created).toBe(2);
    expect(await signInStatus(app, `${a}-one`, "correct horse")).toBe(200); // upgrades user one
    const second = await results(
      await importNdjson(app, [
        { ...file[0], displayName: "One again" },
        { ...file[1], displayName: "Two again", passwordHash: "$1$x9Salt12$gMG6COuY8yG6SPYvZ26JN/" },
      ]),
    );
    expect(second.summary).toEqual({ created: 0, updated: 2, refused: 0 });
    expect(second.lines[1]!.userId).toBe(first.lines[1]!.userId);
    const count = await everyShard.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n");
    expect(count).toBe(2);
    const one = (await userRow(`${a}-1`))!;
    expect(one.display_name).toBe("One again");
    expect(one.password_hash).toMatch(/^\$scrypt\$ln=14/); // kept: the user had signed in
    expect((await userRow(first.lines[1]!.userId!))!.password_hash).toBe("$1$x9Salt12$gMG6COuY8yG6SPYvZ26JN/"); // replaced: still imported
    expect(await signInStatus(app, `${a}-two`, "")).toBe(200);
  });

  it("refuses bad lines with their line number and reason, and stores the rest", async () => {
    const app = await createApp();
    const a = unique("bad");
    const { lines, summary } = await results(
      await importNdjson(app, [
        "{not json",
        { loginName: `${a}-x`, passwordHash: "md5:5f4dcc3b5aa765d61d8327deb882cf99" },
        { loginName: `${a}-y`, passwordHash: BCRYPT.replace("$05$", "$15$") },
        { loginName: `${a}-ok`, passwordHash: BCRYPT },
        "",
        { loginName: `${a}-OK`, passwordHash: BCRYPT },
        { loginName: `${a}-z`, passwrd: "typo" },
        { email: "not-an-email" },
        JSON.stringify({ loginName: `${a}-big`, displayName: "x".repeat(20_000) }),
        { loginName: `${a}-fb`, ...FIREBASE, hashParams: { ...FIREBASE.hashParams, rounds: 9 } },
        { loginName: `${a}-last`, password: "another plain one" },
        { loginName: `${a}-rtl`, password: "another plain one", displayName: "evil\u202Etxt.exe" },
        { loginName: `${a}-crlf`, password: "another plain one", givenName: "a\r\nBcc: x@example.com" },
      ]),
    );
    const byLine = new Map(lines.map((l) => [l.line, l]));
    expect(byLine.get(1)).toMatchObject({ status: "refused", reason: "not a JSON object" });
    expect(byLine.get(2)!.reason).toMatch(/unknown hash format/);
    expect(byLine.get(3)!.reason).toMatch(/bcrypt cost must be a whole number from 4 to 14/);
    expect(byLine.get(4)).toMatchObject({ status: "created" });
    expect(byLine.has(5)).toBe(false); // blank lines are skipped
    expect(byLine.get(6)!.reason).toMatch(/duplicate of line 4/);
    expect(byLine.get(7)).toMatchObject({ status: "refused" });
    expect(byLine.get(8)).toMatchObject({ status: "refused", field: "email" });
    expect(byLine.get(9)!.reason).toMatch(/longer than 16384 bytes/);
    expect(byLine.get(10)!.reason).toMatch(/Firebase rounds/);
    expect(byLine.get(11)).toMatchObject({ status: "created" });
    expect(byLine.get(12)).toMatchObject({ status: "refused", field: "displayName" });
    expect(byLine.get(13)).toMatchObject({ status: "refused", field: "givenName" });
    expect(summary).toEqual({ created: 2, updated: 0, refused: 10 });
  });

  it("batches beyond D1's 100-parameter limit and streams bodies larger than the 64 KiB admin limit", async () => {
    const app = await createApp();
    const a = unique("many");
    const users = Array.from({ length: 300 }, (_, i) => ({
      loginName: `${a}-${i}`,
      email: `${a}-${i}@example.com`,
      displayName: `User number ${i} ${"with a long display name ".repeat(6)}`,
      passwordHash: BCRYPT,
    }));
    expect(users.map((u) => JSON.stringify(u)).join("\n").length).toBeGreaterThan(64 * 1024);
    const res = await importNdjson(app, users);
    const { lines, summary } = await results(res);
    expect(summary).toEqual({ created: 300, updated: 0, refused: 0 });
    expect(lines.map((l) => l.line)).toEqual(users.map((_, i) => i + 1));
    expect(await everyShard.prepare("SELECT count(*) AS n FROM users WHERE app_id = ?").bind(app.appId).first("n")).toBe(300);
  });

  it("refuses one update that takes another user's email, and stores the rest of its batch", async () => {
    const app = await createApp();
    const a = unique("clash");
    await results(await importNdjson(app, [{ loginName: `${a}-1`, email: `${a}-1@example.com` }, { loginName: `${a}-2`, email: `${a}-2@example.com` }]));
    const { lines } = await results(
      await importNdjson(app, [
        { loginName: `${a}-1`, email: `${a}-2@example.com` },
        { loginName: `${a}-2`, displayName: "Still fine" },
        { loginName: `${a}-3`, email: `${a}-3@example.com` },
      ]),
    );
    expect(lines.map((l) => l.status)).toEqual(["refused", "updated", "created"]);
    expect(lines[0]!.reason).toMatch(/another user of the app already has this login name, email address or phone number/);
  });

  it("passwordUnknown (Kii): no password signs in, but the user can reset through the normal path", async () => {
    const app = await createApp();
    const a = unique("kii");
    const { lines } = await results(await importNdjson(app, [{ loginName: a, email: `${a}@example.com`, emailVerified: true, passwordUnknown: true }]));
    expect(lines[0]!.status).toBe("created");
    expect(await signInStatus(app, a, "")).toBe(400);
    expect(await signInStatus(app, a, "$unknown$")).toBe(400);
    const reset = await call(`/api/apps/${app.appId}/users/EMAIL:${a}@example.com/password/request-reset`, { method: "POST", headers: kiiHeaders(app) });
    expect(reset.status, await reset.text()).toBe(204);
  });

  it("answers 415 for another content type, 401 without the admin token, 404 for an unknown app", async () => {
    const app = await createApp();
    expect((await importNdjson(app, [{ loginName: "x" }], { "Content-Type": "application/json" })).status).toBe(415);
    expect((await importNdjson(app, [{ loginName: "x" }], { Authorization: "Bearer nope" })).status).toBe(401);
    const res = await call(`/admin/apps/nosuchapp0/users:import`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/x-ndjson" },
      body: "{}\n",
    });
    expect(res.status).toBe(404);
  });
});
