// The Kii password flows end to end: the official kii-cloud-sdk against wrangler dev, messages
// read from the dev outbox, and the hosted reset page driven in headless Chromium.
// Set SCREENSHOT_DIR to keep a PNG of each page state the browser sees.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./browser";
import { baseUrl, createE2eApp, type E2eApp, waitForMessage } from "./helpers";

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sdk = any;

const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR;
const OLD = "old password 1";
const NEW = "fresh password 2";

let app: E2eApp;
let browser: Browser;
let serial = 0;

function newSdk(): Sdk {
  const sdk = require("kii-cloud-sdk").create();
  sdk.Kii.initializeWithSite(app.appId, app.appKey, `${baseUrl()}/api`);
  return sdk;
}

const uniqueEmail = () => `e2e-reset-${++serial}-${Date.now()}@example.com`;
const uniquePhone = () => `+8190${String(Date.now() % 1e6).padStart(6, "0")}${String(++serial).padStart(2, "0")}`;

async function registerByEmail(sdk: Sdk, email: string): Promise<string> {
  const user = await sdk.KiiUser.userWithEmailAddress(email, OLD).register();
  return user.getID();
}

const linkIn = (text: string) => {
  const link = /https?:\/\/\S+\/reset\/\S+/.exec(text)?.[0];
  if (!link) throw new Error(`no reset link in: ${text}`);
  return link;
};

async function emailedLink(sdk: Sdk, email: string): Promise<string> {
  const before = Date.now();
  await sdk.KiiUser.resetPassword(email);
  const message = await waitForMessage(email, (m) => m.template === "reset_link" && Date.parse(m.createdAt) >= before - 1000);
  return linkIn(message.text);
}

async function shot(page: Page, name: string) {
  if (!SCREENSHOT_DIR) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

async function submitForm(page: Page, password: string, confirm = password) {
  await page.getByLabel("New password", { exact: true }).fill(password);
  await page.getByLabel("Confirm new password", { exact: true }).fill(confirm);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForLoadState();
}

/** Moves the user's reset code's expiry into the past, in wrangler dev's local D1: in each shard (the user is in one). */
function expireResetCode(userId: string) {
  if (!/^\d+$/.test(userId)) throw new Error(`unexpected user id ${userId}`);
  for (const shard of ["USERS_0", "USERS_1"]) {
    const result = spawnSync(
      "wrangler",
      ["d1", "execute", shard, "--local", "--persist-to", inject("persistTo"), "--command", `UPDATE password_resets SET expires_at = 1 WHERE user_id = '${userId}'`],
      { encoding: "utf8", env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } },
    );
    if (result.status !== 0) throw new Error(`wrangler d1 execute failed: ${result.stdout}\n${result.stderr}`);
  }
}

beforeAll(async () => {
  app = await createE2eApp();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe("Kii password reset with the official SDK", () => {
  it("resetPassword(email) → emailed link → hosted page in Chromium → only the new password signs in", async () => {
    const sdk = newSdk();
    const email = uniqueEmail();
    const userId = await registerByEmail(sdk, email);
    const link = await emailedLink(sdk, email);
    expect(link).toContain(`/reset/${app.appId}/${userId}/`);

    const page = await browser.newPage();
    const opened = await page.goto(link);
    expect(opened?.status()).toBe(200);
    expect(await page.locator("h1").textContent()).toBe("Choose a new password");
    await shot(page, "form");
    await submitForm(page, NEW);
    expect(await page.locator("h1").textContent()).toBe("Password changed");
    await shot(page, "success");
    await page.close();

    const signedIn = await newSdk().KiiUser.authenticate(email, NEW);
    expect(signedIn.getID()).toBe(userId);
    await expect(newSdk().KiiUser.authenticate(email, OLD)).rejects.toThrow(/invalid_grant/);
  });

  it("resetPasswordWithNotificationMethod(phone, SMS_PIN) → PIN by SMS → completeResetPassword → signs in", async () => {
    const sdk = newSdk();
    const phone = uniquePhone();
    const user = await sdk.KiiUser.userWithPhoneNumber(phone, OLD).register();
    const before = Date.now();
    await sdk.KiiUser.resetPasswordWithNotificationMethod(phone, "SMS_PIN");
    const sms = await waitForMessage(phone, (m) => m.template === "reset_pin" && Date.parse(m.createdAt) >= before - 1000);
    expect(sms.channel).toBe("sms");
    const pin = /\b(\d{6})\b/.exec(sms.text)?.[1];
    expect(pin).toMatch(/^\d{6}$/);

    await sdk.KiiUser.completeResetPassword(phone, pin, NEW);
    const signedIn = await newSdk().KiiUser.authenticate(phone, NEW);
    expect(signedIn.getID()).toBe(user.getID());
    await expect(newSdk().KiiUser.authenticate(phone, OLD)).rejects.toThrow(/invalid_grant/);
  });

  it("resetPasswordWithNotificationMethod(email, SMS) → link by SMS → Chromium completes it", async () => {
    const sdk = newSdk();
    const email = uniqueEmail();
    const phone = uniquePhone();
    const user = await sdk.KiiUser.userWithEmailAddressAndPhoneNumber(email, phone, OLD).register();
    const before = Date.now();
    await sdk.KiiUser.resetPasswordWithNotificationMethod(email, "SMS");
    const sms = await waitForMessage(phone, (m) => m.template === "reset_link" && Date.parse(m.createdAt) >= before - 1000);
    expect(sms.channel).toBe("sms");

    const page = await browser.newPage();
    expect((await page.goto(linkIn(sms.text)))?.status()).toBe(200);
    await submitForm(page, NEW);
    expect(await page.locator("h1").textContent()).toBe("Password changed");
    await page.close();

    const signedIn = await newSdk().KiiUser.authenticate(email, NEW);
    expect(signedIn.getID()).toBe(user.getID());
  });

  it("updatePassword(old, new) → the old token is refused and the new password signs in", async () => {
    const sdk = newSdk();
    const username = `e2e-change-${Date.now()}`;
    await sdk.KiiUser.userWithUsername(username, OLD).register();
    const signedIn = await sdk.KiiUser.authenticate(username, OLD);
    const oldToken = signedIn.getAccessToken();

    await signedIn.updatePassword(OLD, NEW);
    await expect(newSdk().KiiUser.authenticateWithToken(oldToken)).rejects.toThrow(/UNAUTHORIZED|WRONG_TOKEN/);
    const again = await newSdk().KiiUser.authenticate(username, NEW);
    expect(again.getID()).toBe(signedIn.getID());
    await expect(newSdk().KiiUser.authenticate(username, OLD)).rejects.toThrow(/invalid_grant/);
  });
});

describe("the hosted reset page in Chromium", () => {
  it("shows the expired page for an expired link", async () => {
    const sdk = newSdk();
    const email = uniqueEmail();
    const userId = await registerByEmail(sdk, email);
    const link = await emailedLink(sdk, email);
    expireResetCode(userId);

    const page = await browser.newPage();
    expect((await page.goto(link))?.status()).toBe(410);
    expect(await page.locator("h1").textContent()).toBe("This link has expired");
    await shot(page, "expired");
    await page.close();
    await expect(newSdk().KiiUser.authenticate(email, OLD)).resolves.toBeTruthy();
  });

  it("works without JavaScript (the code typed from the message), and shows the used page when a link is opened again after the reset", async () => {
    const sdk = newSdk();
    const email = uniqueEmail();
    await registerByEmail(sdk, email);
    const link = await emailedLink(sdk, email);

    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(link);
    await shot(page, "form-without-javascript");
    // The message shows the code beside the link; here it is typed in lower case, as people do.
    await page.getByLabel("Code from the message", { exact: true }).fill(decodeURIComponent(new URL(link).hash.slice(1)).toLowerCase());
    await submitForm(page, NEW);
    expect(await page.locator("h1").textContent()).toBe("Password changed");
    // From elsewhere: the page is already at the link's path, where a fragment alone would not reload.
    await page.goto("about:blank");
    expect((await page.goto(link))?.status()).toBe(410);
    expect(await page.locator("h1").textContent()).toBe("This link can no longer be used");
    await shot(page, "used");
    await context.close();
  });

  it("names the minimum length for a too-short password and keeps the link usable", async () => {
    const sdk = newSdk();
    const email = uniqueEmail();
    await registerByEmail(sdk, email);
    const link = await emailedLink(sdk, email);

    const page = await browser.newPage();
    await page.goto(link);
    await submitForm(page, "short");
    expect(await page.locator("h1").textContent()).toBe("Choose a new password");
    const error = page.locator("#password-error");
    expect(await error.textContent()).toBe("Error: The password is too short: use at least 8 characters.");
    // The field points at its error, so a screen reader reads it with the field.
    expect(await page.getByLabel("New password", { exact: true }).getAttribute("aria-describedby")).toBe("password-hint password-error");
    await shot(page, "invalid-password");

    await submitForm(page, NEW);
    expect(await page.locator("h1").textContent()).toBe("Password changed");
    await page.close();
  });

  it("shows the form in Japanese to a Japanese browser", async () => {
    const sdk = newSdk();
    const email = uniqueEmail();
    await registerByEmail(sdk, email);
    const link = await emailedLink(sdk, email);

    const context = await browser.newContext({ locale: "ja-JP" });
    const page = await context.newPage();
    await page.goto(link);
    expect(await page.locator("html").getAttribute("lang")).toBe("ja");
    expect(await page.locator("h1").textContent()).toBe("新しいパスワードの設定");
    await page.getByLabel("新しいパスワード", { exact: true }).fill(NEW);
    await page.getByLabel("新しいパスワード（確認）", { exact: true }).fill(`${NEW}!`);
    await page.getByRole("button", { name: "パスワードを変更" }).click();
    await page.waitForLoadState();
    expect(await page.locator("#confirm-error").textContent()).toContain("2 つのパスワードが一致しません。");
    await shot(page, "japanese-mismatch");
    await page.goto(link);
    await shot(page, "japanese-form");
    await context.close();
  });
});
