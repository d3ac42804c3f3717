// The dev outbox page in headless Chromium at a phone's width (375 px) and a desktop's (1280 px):
// links in the text part are links, the HTML part is previewed in a sandboxed frame where its
// scripts do not run, and nothing is wider than the screen. SCREENSHOT_DIR keeps PNGs to look at.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser";
import { baseUrl, createE2eApp, waitForMessage } from "./helpers";

const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR;
const email = `outbox-page-${Date.now()}@example.com`;
let browser: Browser;

beforeAll(async () => {
  // The app's own HTML template tries to script its way out of the preview.
  const html = `<p>Hello from <b>{{appName}}</b></p><p><a href="{{link}}">Choose a new password</a></p><script>parent.document.title = "escaped"; document.body.dataset.ran = "yes"</script><img src="https://tracker.example/pixel.png" alt="">`;
  const app = await createE2eApp({ templates: { en: { reset_link: { html } } } });
  const headers = { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey, "Content-Type": "application/vnd.kii.RegistrationRequest+json" };
  const registered = await fetch(`${baseUrl()}/api/apps/${app.appId}/users`, {
    method: "POST",
    headers,
    body: JSON.stringify({ loginName: `outboxpage${Date.now()}`, emailAddress: email, password: "outbox page password" }),
  });
  expect(registered.status).toBe(201);
  const reset = await fetch(`${baseUrl()}/api/apps/${app.appId}/users/EMAIL:${encodeURIComponent(email)}/password/request-reset`, {
    method: "POST",
    headers: { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey },
  });
  expect(reset.status).toBe(204);
  await waitForMessage(email, (m) => m.template === "reset_link");
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe.each([375, 1280])("the dev outbox page at %i px", (width) => {
  it("shows links as links, previews the HTML part without running it, and fits the screen", async () => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const remote: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(baseUrl()) && !r.url().startsWith("about:") && !r.url().startsWith("data:")) remote.push(r.url());
    });
    const res = await page.goto(`${baseUrl()}/dev/outbox?format=html&to=${encodeURIComponent(email)}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'none'");

    const link = page.locator("article pre a").first();
    expect(await link.getAttribute("href")).toMatch(new RegExp(`^${baseUrl()}/reset/`));

    const frame = page.locator("article iframe").first();
    expect(await frame.getAttribute("sandbox")).toBe("");
    const preview = page.frameLocator("article iframe").first();
    await expect.poll(() => preview.locator("b").textContent()).toBe("Latchkey app");
    expect(await preview.locator("body").getAttribute("data-ran")).toBeNull();
    expect(await page.title()).toBe("Latchkey dev outbox");
    expect(remote).toEqual([]);

    if (SCREENSHOT_DIR) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, `dev-outbox-${width}.png`), fullPage: true });
    }
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });
});
