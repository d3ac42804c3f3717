// Issue 13, item 3: no live code in any URL that a server, proxy or log records. A full reset and
// an address confirmation through the hosted pages, in headless Chromium with and without
// JavaScript, against wrangler dev: every URL the browser requests, and every line wrangler dev
// prints (it logs each request's method and path), is searched for the code. The code travels in
// the link's fragment and in the POSTed form only (src/core/links.ts).
import { readFileSync, statSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./browser";
import { baseUrl, createE2eApp, type E2eApp, waitForMessage } from "./helpers";

const OLD = "old password 1";
const NEW = "fresh password 2";

let app: E2eApp;
let browser: Browser;
let serial = 0;

const uniqueEmail = () => `e2e-codes-${++serial}-${Date.now()}@example.com`;

async function register(target: E2eApp, email: string): Promise<string> {
  const res = await fetch(`${baseUrl()}/api/apps/${target.appId}/users`, {
    method: "POST",
    headers: { "Content-Type": "application/vnd.kii.RegistrationRequest+json", "X-Kii-AppID": target.appId, "X-Kii-AppKey": target.appKey },
    body: JSON.stringify({ emailAddress: email, password: OLD }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { userID: string }).userID;
}

async function signInStatus(email: string, password: string): Promise<number> {
  const res = await fetch(`${baseUrl()}/api/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
    body: JSON.stringify({ username: email, password }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The link in a message, and the code the message shows beside it for a page without JavaScript. */
function linkAndCode(text: string, page: "reset" | "verify"): { link: string; shown: string } {
  const link = new RegExp(`https?://\\S+/${page}/\\S+`).exec(text)?.[0];
  const shown = /enter: (\S+)/.exec(text)?.[1];
  if (!link || !shown) throw new Error(`no link and code in: ${text}`);
  return { link, shown };
}

/** Everything wrangler dev printed since `offset`, once the last request's line has had time to arrive. */
async function serverLogSince(offset: number, mustMention: string): Promise<string> {
  const file = inject("devServerLog");
  const deadline = Date.now() + 5_000;
  for (;;) {
    const text = readFileSync(file, "utf8").slice(offset);
    if (text.includes(mustMention) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const logOffset = () => statSync(inject("devServerLog")).size;

/** Records every URL the page's browser context requests (documents, form posts, anything else). */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.context().on("request", (r) => urls.push(r.url()));
  return urls;
}

/** The forms of a code that would give it away: as issued, without its hyphens, and URL-encoded. */
const formsOf = (code: string) => [...new Set([code, code.replace(/-/g, ""), encodeURIComponent(code)])];

beforeAll(async () => {
  app = await createE2eApp();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe("a reset through the hosted page puts the code in no request URL and no server log line", () => {
  for (const javaScript of [true, false]) {
    it(javaScript ? "with JavaScript: the page takes the code from the fragment and drops it from the address bar" : "without JavaScript: the person types the code the message shows", async () => {
      const email = uniqueEmail();
      const userId = await register(app, email);
      const offset = logOffset();
      const before = Date.now();
      const reset = await fetch(`${baseUrl()}/api/apps/${app.appId}/users/EMAIL:${encodeURIComponent(email)}/password/request-reset`, {
        method: "POST",
        headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
      });
      expect(reset.status).toBe(204);
      const message = await waitForMessage(email, (m) => m.template === "reset_link" && Date.parse(m.createdAt) >= before - 1000);
      const { link, shown } = linkAndCode(message.text, "reset");
      const code = decodeURIComponent(new URL(link).hash.slice(1));
      expect(code).toBe(shown);
      expect(new URL(link).pathname).not.toContain(code);

      const context = await browser.newContext({ javaScriptEnabled: javaScript });
      const page = await context.newPage();
      const requested = recordRequests(page);
      expect((await page.goto(link))?.status()).toBe(200);
      const codeField = page.getByLabel("Code from the message", { exact: true });
      if (javaScript) {
        // The script moved the code into the (now hidden) field and out of the address bar.
        expect(await codeField.isVisible()).toBe(false);
        expect(await page.locator("#code").inputValue()).toBe(code);
        expect(page.url()).toBe(link.split("#")[0]);
      } else {
        expect(await codeField.isVisible()).toBe(true);
        await codeField.fill(shown);
      }
      await page.getByLabel("New password", { exact: true }).fill(NEW);
      await page.getByLabel("Confirm new password", { exact: true }).fill(NEW);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.waitForLoadState();
      expect(await page.locator("h1").textContent()).toBe("Password changed");
      await context.close();
      expect(await signInStatus(email, NEW)).toBe(200);
      expect(await signInStatus(email, OLD)).toBe(400);

      // The browser asked for the page and posted the form (so the search below looks at real traffic)...
      const path = `/reset/${app.appId}/${userId}/`;
      expect(requested.filter((u) => u.includes(path)).length).toBeGreaterThanOrEqual(2);
      const log = await serverLogSince(offset, `POST ${path}`);
      // ...and wrangler dev logged both requests, by path.
      expect(log).toContain(`GET ${path}`);
      expect(log).toContain(`POST ${path}`);
      for (const form of formsOf(code)) {
        for (const url of requested) expect(url, url).not.toContain(form);
        expect(log).not.toContain(form);
      }
    });
  }
});

describe("an address confirmation through the hosted page puts the code in no request URL and no server log line", () => {
  for (const javaScript of [true, false]) {
    it(javaScript ? "with JavaScript" : "without JavaScript", async () => {
      const verifying = await createE2eApp({ verification: { email: "required", phone: "required" } });
      const email = uniqueEmail();
      const offset = logOffset();
      const userId = await register(verifying, email);
      const message = await waitForMessage(email, (m) => m.template === "verify_email_link");
      const { link, shown } = linkAndCode(message.text, "verify");
      const code = decodeURIComponent(new URL(link).hash.slice(1));
      expect(code).toBe(shown);

      const context = await browser.newContext({ javaScriptEnabled: javaScript });
      const page = await context.newPage();
      const requested = recordRequests(page);
      expect((await page.goto(link))?.status()).toBe(200);
      const codeField = page.getByLabel("Code from the message", { exact: true });
      if (javaScript) expect(page.url()).toBe(link.split("#")[0]);
      else await codeField.fill(shown);
      expect(await codeField.isVisible()).toBe(!javaScript);
      await page.getByRole("button", { name: "Confirm this address" }).click();
      await page.waitForLoadState();
      expect(await page.locator("h1").textContent()).toBe("Email address confirmed");
      await context.close();

      const path = `/verify/${verifying.appId}/${userId}`;
      expect(requested.filter((u) => u.includes(path)).length).toBeGreaterThanOrEqual(2);
      const log = await serverLogSince(offset, `POST ${path}`);
      expect(log).toContain(`POST ${path}`);
      for (const form of formsOf(code)) {
        for (const url of requested) expect(url, url).not.toContain(form);
        expect(log).not.toContain(form);
      }
    });
  }
});
