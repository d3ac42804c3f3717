// The hosted reset page (SPEC §6): every state, its headers, its languages, and that opening a
// link never spends or counts the code.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { createServices } from "../../src/core/services";
import { linkTag, newCodeId } from "../../src/storage/codes";
import { outboxStub } from "../../src/storage/outbox";
import { adminToken, call, createApp, kiiHeaders, registerKiiUser, signIn, type TestApp, everyShard } from "../helpers";

let serial = 0;

interface Account {
  app: TestApp;
  userId: string;
  email: string;
  password: string;
}

async function account(app: TestApp, fields: Record<string, unknown> = {}): Promise<Account> {
  const email = `reset-page-${++serial}@example.com`;
  const password = "old password 1";
  const { userID } = await registerKiiUser(app, { emailAddress: email, password, ...fields });
  return { app, userId: userID, email, password };
}

interface Link {
  /** What the browser requests: the link without its fragment. */
  path: string;
  /** The fragment: what the page's script (or the person) puts into the form. */
  code: string;
}

/** Requests a reset link by email through the Kii API and returns it from the outbox. */
async function requestLink(a: Account): Promise<Link> {
  const outbox = outboxStub(env.OUTBOX);
  const before = (await outbox.list(a.email)).length;
  const res = await call(`/api/apps/${a.app.appId}/users/EMAIL:${a.email}/password/request-reset`, { method: "POST", headers: kiiHeaders(a.app) });
  expect(res.status, await res.clone().text()).toBe(204);
  const messages = await vi.waitUntil(
    async () => {
      const list = await outbox.list(a.email);
      return list.length > before ? list : false;
    },
    { timeout: 10_000, interval: 25 },
  );
  const url = /https?:\/\/\S+\/reset\/\S+/.exec(messages[0]!.text)?.[0];
  expect(url).toBeDefined();
  const { pathname, hash } = new URL(url!);
  expect(hash).not.toBe("");
  return { path: pathname, code: decodeURIComponent(hash.slice(1)) };
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
});

async function resetRow(userId: string) {
  return everyShard.prepare("SELECT code_id, failures, expires_at FROM password_resets WHERE user_id = ?")
    .bind(userId)
    .first<{ code_id: string | null; failures: number; expires_at: number }>();
}

async function expectPassword(a: Account, works: string, refused: string) {
  expect((await signIn(a.app, a.email, works)).status).toBe(200);
  expect((await signIn(a.app, a.email, refused)).status).toBe(400);
}

const h1s = (html: string) => [...html.matchAll(/<h1>(.*?)<\/h1>/g)].map((m) => m[1]);

describe("GET of a live link", () => {
  it("shows an accessible form with the policy's minimum length", async () => {
    const app = await createApp({ passwordPolicy: { minLength: 10 } });
    const link = await requestLink(await account(app));
    const res = await call(link.path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html; charset=utf-8/i);
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(h1s(html)).toEqual(["Choose a new password"]);
    expect(html).toContain('<label for="password">New password</label>');
    expect(html).toContain('<label for="confirm">Confirm new password</label>');
    expect(html.match(/autocomplete="new-password"/g)).toHaveLength(2);
    expect(html).toMatch(/<input id="password" name="password" type="password"[^>]*aria-describedby="password-hint"/);
    expect(html).toContain('<p class="hint" id="password-hint">At least 10 characters.');
    expect(html).toContain(`<form method="post" action="${link.path}">`);
    // The code field, for a browser without JavaScript: labelled, described, filled from the message.
    expect(html).toContain('<label for="code">Code from the message</label>');
    expect(html).toMatch(/<input id="code" name="code" type="text" autocomplete="one-time-code"[^>]*required="" value="" aria-describedby="code-hint"/);
    expect(html).not.toContain(link.code);
    // One inline script (allowed by its hash), nothing loaded from anywhere.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script src|<link|src=/);
  });

  it("sends a strict CSP whose style hash matches the inline style, and no-store, no-referrer, DENY", async () => {
    const app = await createApp();
    const link = await requestLink(await account(app));
    const res = await call(link.path);
    const html = await res.text();
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; script-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    const sha256 = async (text: string) => btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))));
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp).toContain(`style-src 'sha256-${await sha256(style)}'`);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(csp).toContain(`script-src 'sha256-${await sha256(script)}'`);
    // What the script does: the fragment into the code field, and out of the address bar.
    expect(script).toContain("location.hash");
    expect(script).toContain("history.replaceState");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("neither counts a failure nor consumes the code, however often it is opened", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const before = await resetRow(a.userId);
    for (let i = 0; i < 6; i++) expect((await call(link.path)).status).toBe(200);
    expect(await resetRow(a.userId)).toEqual(before);
    expect(before!.failures).toBe(0);
    const done = await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }));
    expect(done.status).toBe(200);
  });

  it("of a wrong link code does not count a failure against the live one", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const wrong = link.path.replace(/[^/]+$/, "A".repeat(16));
    for (let i = 0; i < 6; i++) expect((await call(wrong)).status).toBe(410);
    expect((await resetRow(a.userId))!.failures).toBe(0);
    expect((await call(link.path)).status).toBe(200);
  });
  it("of an older short-code link (code.tag in the path) does not reveal whether the code is right; the counted POST decides", async () => {
    const a = await account(await createApp());
    const svc = createServices(env);
    const codeId = newCodeId();
    const prepared = svc.shard((await svc.apps.get(a.app.appId))!).codes.prepare(a.app.appId, a.userId, "code", "K7Q2ZP", 600, Date.now(), codeId);
    await Promise.all([prepared.stored, prepared.statement.run()]);
    // A short code's link names the code it was issued as; a wrong code under the live tag is a guess.
    const wrong = `/reset/${a.app.appId}/${a.userId}/AAAAAA.${linkTag(codeId)}`;
    expect((await call(wrong)).status).toBe(200);
    expect((await resetRow(a.userId))!.failures).toBe(0);
    expect((await call(wrong, form({ password: "brand new secret", confirm: "brand new secret" }))).status).toBe(410);
    expect((await resetRow(a.userId))!.failures).toBe(1);
    const right = await call(`/reset/${a.app.appId}/${a.userId}/K7Q2ZP.${linkTag(codeId)}`, form({ password: "brand new secret", confirm: "brand new secret" }));
    expect(right.status).toBe(200);
    await expectPassword(a, "brand new secret", a.password);
  });
});

describe("the code from the fragment, or typed", () => {
  it("without a code asks for it (400) and counts nothing", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const before = await resetRow(a.userId);
    const res = await call(link.path, form({ password: "brand new secret", confirm: "brand new secret" }));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<p class="error" id="code-error">Error: Enter the code from the message.</p>');
    expect(html).toMatch(/<input id="code"[^>]*aria-describedby="code-hint code-error" aria-invalid="true"/);
    expect(await resetRow(a.userId)).toEqual(before);
    await expectPassword(a, a.password, "brand new secret");
  });

  it("with a wrong link code says so (400), counts nothing, and the right code still works", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const before = await resetRow(a.userId);
    const wrong = link.code.replace(/^./, (ch) => (ch === "Z" ? "Y" : "Z"));
    for (let i = 0; i < 6; i++) {
      const res = await call(link.path, form({ code: wrong, password: "brand new secret", confirm: "brand new secret" }));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("Error: This is not the code in the latest message.");
    }
    expect(await resetRow(a.userId)).toEqual(before);
    expect((await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }))).status).toBe(200);
    await expectPassword(a, "brand new secret", a.password);
  });

  it("reads a typed code as a person writes it: lower case, spaces for hyphens, O for 0 and I or L for 1", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const typed = ` ${link.code.toLowerCase().replace(/-/g, " ").replace(/0/g, "o").replace(/1/g, "l")} `;
    const res = await call(link.path, form({ code: typed, password: "brand new secret", confirm: "brand new secret" }));
    expect(res.status).toBe(200);
    await expectPassword(a, "brand new secret", a.password);
  });

  it("keeps a right code (hidden) when the form comes back with a password problem", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const res = await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secreT" }));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain(`<input id="code" name="code" type="hidden" value="${link.code}"/>`);
    expect(html).not.toContain('<label for="code">');
  });

  it("a short code typed under a live tag is a counted guess: wrong says so (400), right completes", async () => {
    const a = await account(await createApp());
    const svc = createServices(env);
    const codeId = newCodeId();
    const app = (await svc.apps.getPrimary(a.app.appId))!;
    const prepared = svc.shard(app).codes.prepare(a.app.appId, a.userId, "code", "K7Q2ZP", 600, Date.now(), codeId);
    await Promise.all([prepared.stored, prepared.statement.run()]);
    const path = `/reset/${a.app.appId}/${a.userId}/${linkTag(codeId)}`;
    expect((await call(path)).status).toBe(200);
    const wrong = await call(path, form({ code: "AAAAAA", password: "brand new secret", confirm: "brand new secret" }));
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("Error: This is not the code in the latest message.");
    expect((await resetRow(a.userId))!.failures).toBe(1);
    // Not a possible code at all: refused without counting.
    expect((await call(path, form({ code: "not-a-code!", password: "brand new secret", confirm: "brand new secret" }))).status).toBe(400);
    expect((await resetRow(a.userId))!.failures).toBe(1);
    const right = await call(path, form({ code: "k7q2zp", password: "brand new secret", confirm: "brand new secret" }));
    expect(right.status).toBe(200);
    await expectPassword(a, "brand new secret", a.password);
  });

  it("a link in the older form (code in the path) is still accepted until it expires", async () => {
    const a = await account(await createApp());
    const svc = createServices(env);
    // What an email link looked like before codes moved to the fragment: 256 bits of base64url.
    const token = "Q2xhc3NpY19saW5rX3Rva2VuX2Zyb21fYmVmb3JlXzAx";
    const app = (await svc.apps.getPrimary(a.app.appId))!;
    const prepared = svc.shard(app).codes.prepare(a.app.appId, a.userId, "email_link", token, 600, Date.now());
    await Promise.all([prepared.stored, prepared.statement.run()]);
    const path = `/reset/${a.app.appId}/${a.userId}/${token}`;
    const page = await call(path);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<form method="post" action="${path}">`);
    expect(html).not.toContain('id="code"');
    expect((await call(path, form({ password: "brand new secret", confirm: "brand new secret" }))).status).toBe(200);
    await expectPassword(a, "brand new secret", a.password);
    expect((await call(path)).status).toBe(410);
  });
});

describe("POST of the form", () => {
  it("changes the password from an application/x-www-form-urlencoded body and shows success", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const res = await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(h1s(html)).toEqual(["Password changed"]);
    expect(html).toContain("You can now sign in with your new password.");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    await expectPassword(a, "brand new secret", a.password);
    expect((await resetRow(a.userId))!.code_id).toBeNull();
  });

  it("with two different passwords shows the form with the mismatch on the confirmation, code untouched", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const before = await resetRow(a.userId);
    const res = await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secreT" }));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<p class="error" id="confirm-error">Error: The two passwords do not match.');
    expect(html).toMatch(/<input id="confirm"[^>]*aria-describedby="confirm-error" aria-invalid="true"/);
    expect(await resetRow(a.userId)).toEqual(before);
    await expectPassword(a, a.password, "brand new secret");
  });

  it("with a too-short password names the minimum length, code untouched", async () => {
    const a = await account(await createApp({ passwordPolicy: { minLength: 12 } }));
    const link = await requestLink(a);
    const before = await resetRow(a.userId);
    const res = await call(link.path, form({ code: link.code, password: "short one", confirm: "short one" }));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<p class="error" id="password-error">Error: The password is too short: use at least 12 characters.</p>');
    expect(html).toMatch(/<input id="password"[^>]*aria-describedby="password-hint password-error" aria-invalid="true"/);
    expect(await resetRow(a.userId)).toEqual(before);
    await expectPassword(a, a.password, "short one");
  });

  it("with a password missing a required character class names the rule", async () => {
    const a = await account(await createApp({ passwordPolicy: { requireNumber: true } }));
    const link = await requestLink(a);
    const res = await call(link.path, form({ code: link.code, password: "no digits in here", confirm: "no digits in here" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Error: The password needs at least one digit.");
    await expectPassword(a, a.password, "no digits in here");
  });

  it("without a password asks for one", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const res = await call(link.path, form({ code: link.code, confirm: "" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Error: Enter a new password.");
    expect((await call(link.path)).status).toBe(200);
  });

  it("redirects to the app's success URL when one is set, and allows it as a form target", async () => {
    const a = await account(await createApp({ resetRedirects: { success: "https://app.example.com/done?x=1" } }));
    const link = await requestLink(a);
    const page = await call(link.path);
    expect(page.headers.get("Content-Security-Policy")).toContain("form-action 'self' https://app.example.com;");
    const res = await call(link.path, { ...form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }), redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("https://app.example.com/done?x=1");
    await expectPassword(a, "brand new secret", a.password);
  });

  it("refuses a body over the limit with a 413 page and changes nothing", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const before = await resetRow(a.userId);
    const big = "x".repeat(40 * 1024);
    const res = await call(link.path, form({ code: link.code, password: big, confirm: big }));
    expect(res.status).toBe(413);
    expect(h1s(await res.text())).toEqual(["The form could not be sent"]);
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(await resetRow(a.userId)).toEqual(before);
    await expectPassword(a, a.password, big.slice(0, 20));
  });
});

describe("links that cannot be used", () => {
  it("an expired link shows the expired page (410) on GET and POST, password unchanged", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    await everyShard.prepare("UPDATE password_resets SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1000, a.userId).run();
    const get = await call(link.path);
    expect(get.status).toBe(410);
    expect(h1s(await get.text())).toEqual(["This link has expired"]);
    const post = await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }));
    expect(post.status).toBe(410);
    expect(h1s(await post.text())).toEqual(["This link has expired"]);
    await expectPassword(a, a.password, "brand new secret");
  });

  it("a used link shows the used page (410) and cannot change the password again", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    expect((await call(link.path, form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }))).status).toBe(200);
    const get = await call(link.path);
    expect(get.status).toBe(410);
    expect(h1s(await get.text())).toEqual(["This link can no longer be used"]);
    const post = await call(link.path, form({ code: link.code, password: "another new one", confirm: "another new one" }));
    expect(post.status).toBe(410);
    await expectPassword(a, "brand new secret", "another new one");
  });

  it("a link superseded by a newer one shows the replaced page (410) while the newer one works", async () => {
    const a = await account(await createApp());
    const older = await requestLink(a);
    const newer = await requestLink(a);
    expect(newer.path).not.toBe(older.path);
    const get = await call(older.path);
    expect(get.status).toBe(410);
    expect(h1s(await get.text())).toEqual(["This link has been replaced"]);
    const post = await call(older.path, form({ code: older.code, password: "brand new secret", confirm: "brand new secret" }));
    expect(post.status).toBe(410);
    await expectPassword(a, a.password, "brand new secret");
    expect((await call(newer.path)).status).toBe(200);
  });

  it("a link to an unknown user shows the not-valid page (404)", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const res = await call(link.path.replace(`/${a.userId}/`, "/999999999/"));
    expect(res.status).toBe(404);
    expect(h1s(await res.text())).toEqual(["This link is not valid"]);
  });

  it("a link to an unknown app shows the not-valid page (404) for GET and POST", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const other = link.path.replace(`/reset/${a.app.appId}/`, "/reset/nosuchapp1/");
    expect((await call(other)).status).toBe(404);
    const post = await call(other, form({ code: link.code, password: "brand new secret", confirm: "brand new secret" }));
    expect(post.status).toBe(404);
    expect(h1s(await post.text())).toEqual(["This link is not valid"]);
    expect((await call(link.path)).status).toBe(200);
  });

  it("a disabled user's link shows the disabled page (403)", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const res = await call(`/api/apps/${a.app.appId}/users/${a.userId}/status`, {
      method: "PUT",
      headers: kiiHeaders(a.app, { Authorization: `Bearer ${await adminToken(a.app)}`, "Content-Type": "application/vnd.kii.UserStatusUpdateRequest+json" }),
      json: { disabled: true },
    });
    expect(res.status).toBe(204);
    const page = await call(link.path);
    expect(page.status).toBe(403);
    expect(h1s(await page.text())).toEqual(["This account is disabled"]);
  });

  it("redirects to the app's failure URL with the reason when one is set", async () => {
    const a = await account(await createApp({ resetRedirects: { failure: "https://app.example.com/reset-failed" } }));
    const link = await requestLink(a);
    await everyShard.prepare("UPDATE password_resets SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1000, a.userId).run();
    const res = await call(link.path, { redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("https://app.example.com/reset-failed?reason=expired");
  });

  it("garbage path segments get the not-valid page (404), never a 500", async () => {
    const segment = fc.string({ unit: "binary", maxLength: 80 }).map(encodeURIComponent);
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 0, maxLength: 5 }), fc.boolean(), async (segments, post) => {
        const res = await call(`/reset/${segments.join("/")}`, post ? form({ password: "brand new secret", confirm: "brand new secret" }) : {});
        expect(res.status).toBe(404);
        expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
        expect(h1s(await res.text())).toEqual(["This link is not valid"]);
      }),
      { numRuns: 25 },
    );
  });
});

describe("language", () => {
  it("is Japanese when Accept-Language prefers it", async () => {
    const a = await account(await createApp());
    const link = await requestLink(a);
    const res = await call(link.path, { headers: { "Accept-Language": "fr-FR, ja;q=0.9, en;q=0.8" } });
    const html = await res.text();
    expect(html).toContain('<html lang="ja">');
    expect(h1s(html)).toEqual(["新しいパスワードの設定"]);
    expect(html).toContain('<label for="password">新しいパスワード</label>');
    expect(res.headers.get("Content-Language")).toBe("ja");
  });

  it("follows the user's stored locale over Accept-Language", async () => {
    const a = await account(await createApp(), { locale: "ja-JP" });
    const link = await requestLink(a);
    const res = await call(link.path, form({ code: link.code, password: "short", confirm: "short" }, { "Accept-Language": "en-US,en;q=0.9" }));
    const html = await res.text();
    expect(html).toContain('<html lang="ja">');
    expect(html).toContain("エラー: パスワードが短すぎます。8 文字以上にしてください。");
  });

  it("falls back to the app's default locale", async () => {
    const a = await account(await createApp({ defaultLocale: "ja" }));
    const link = await requestLink(a);
    const html = await (await call(link.path)).text();
    expect(html).toContain('<html lang="ja">');
  });

  it("stays English when Accept-Language ranks English above Japanese", async () => {
    const a = await account(await createApp({ defaultLocale: "ja" }));
    const link = await requestLink(a);
    const html = await (await call(link.path, { headers: { "Accept-Language": "ja;q=0.5, en-GB;q=0.8" } })).text();
    expect(html).toContain('<html lang="en">');
  });
});
