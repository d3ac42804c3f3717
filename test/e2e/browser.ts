// Headless Chromium for end-to-end tests: the distribution's `chromium` driven by playwright-core
// (no browser download). CHROMIUM_PATH overrides where it is.
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // No sandbox: test containers often run as root, where Chromium's sandbox refuses to start.
    // The rest keeps it off the network: the tests only ever talk to wrangler dev on loopback.
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
