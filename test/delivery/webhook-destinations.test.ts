// Webhook destinations: a production deployment calls only https URLs on public hosts, however the
// host is spelled, and takes no outbox. The host is parsed (lib/host.ts), not matched by a pattern.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app as worker } from "../../src/app";
import { sendWith } from "../../src/delivery/providers/index";
import { DeliveryFailure } from "../../src/delivery/providers/http";
import { classifyHost } from "../../src/lib/host";
import { ADMIN_TOKEN, call, createApp } from "../helpers";
import { deliveryMessage, interceptFetch, sendContext, webhookSecret } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const PRODUCTION_TOKEN = "q".repeat(40);
const hostOf = (url: string) => new URL(url).hostname;

/** Every spelling of a host a production Worker must not call, with what it is. */
const REFUSED: [string, string][] = [
  ["https://localhost/hook", "localhost"],
  ["https://localhost./hook", "localhost with the root's dot"],
  ["https://LOCALHOST/hook", "upper-case localhost"],
  ["https://api.localhost/hook", "a name under .localhost"],
  ["https://127.0.0.1/hook", "IPv4 loopback"],
  ["https://127.0.0.1./hook", "IPv4 loopback with a trailing dot"],
  ["https://127.1/hook", "shortened IPv4 loopback"],
  ["https://0x7f000001/hook", "hexadecimal IPv4 loopback"],
  ["https://2130706433/hook", "decimal IPv4 loopback"],
  ["https://0177.0.0.1/hook", "octal IPv4 loopback"],
  ["https://127.255.255.254/hook", "the rest of 127/8"],
  ["https://[::1]/hook", "IPv6 loopback"],
  ["https://[::ffff:127.0.0.1]/hook", "IPv4-mapped loopback"],
  ["https://[::ffff:10.0.0.1]/hook", "IPv4-mapped private"],
  ["https://[::127.0.0.1]/hook", "IPv4-compatible loopback"],
  ["https://[::a00:1]/hook", "IPv4-compatible private"],
  ["https://[64:ff9b::7f00:1]/hook", "NAT64 of loopback"],
  ["https://10.0.0.1/hook", "private 10/8"],
  ["https://172.16.0.1/hook", "private 172.16/12"],
  ["https://192.168.1.1/hook", "private 192.168/16"],
  ["https://169.254.169.254/latest/meta-data", "link-local (cloud metadata)"],
  ["https://[fe80::1]/hook", "IPv6 link-local"],
  ["https://[fc00::1]/hook", "IPv6 unique-local"],
  ["https://[fd12:3456::1]/hook", "IPv6 unique-local fd00::/8"],
  ["https://100.64.0.1/hook", "carrier-grade NAT"],
  ["https://0.0.0.0/hook", "IPv4 unspecified"],
  ["https://[::]/hook", "IPv6 unspecified"],
  ["https://255.255.255.255/hook", "broadcast"],
  ["https://224.0.0.1/hook", "multicast"],
  ["https://intranet/hook", "a single-label name"],
  ["https://printer.local/hook", "an mDNS name"],
  ["https://db.internal/hook", "an .internal name"],
];

const ALLOWED = ["https://hooks.example.com/latchkey", "https://93.184.216.34/hook", "https://[2606:4700:4700::1111]/hook"];

describe("classifyHost", () => {
  it.each(REFUSED)("%s (%s) is not public", (url) => {
    expect(classifyHost(hostOf(url))).not.toBe("public");
  });

  it.each(ALLOWED)("%s is public", (url) => {
    expect(classifyHost(hostOf(url))).toBe("public");
  });

  it("knows loopback in every spelling, for plain http in development", () => {
    for (const url of ["http://localhost.", "http://127.1", "http://0x7f000001", "http://[::1]", "http://[::ffff:127.0.0.1]", "http://a.localhost"]) {
      expect(classifyHost(hostOf(url)), url).toBe("loopback");
    }
    expect(classifyHost("10.0.0.1")).toBe("internal");
  });
});

async function production(path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`https://auth.example.com${path}`, init),
    { ...env, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com", ADMIN_TOKEN: PRODUCTION_TOKEN },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const createInProduction = (settings: unknown) =>
  production("/admin/apps", {
    method: "POST",
    headers: { Authorization: `Bearer ${PRODUCTION_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ settings }),
  });

describe("app settings in production", () => {
  it.each(REFUSED)("refuse a webhook at %s (%s), naming the field", async (url) => {
    const res = await createInProduction({ delivery: { sms: { provider: "webhook", url, secret: webhookSecret() } } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_settings", field: "settings.delivery.sms.url" });
  });

  it("refuse plain http even to a public host", async () => {
    const res = await createInProduction({ delivery: { email: { provider: "webhook", url: "http://hooks.example.com/x", secret: webhookSecret() } } });
    expect(res.status).toBe(400);
  });

  it("accept https to a public host", async () => {
    const res = await createInProduction({ delivery: { email: { provider: "webhook", url: ALLOWED[0], secret: webhookSecret() } } });
    expect(res.status).toBe(201);
  });

  it.each(["email", "sms"])("refuse the outbox for %s", async (channel) => {
    const res = await createInProduction({ delivery: { [channel]: { provider: "outbox" } } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_settings", field: `settings.delivery.${channel}.provider` });
  });

  it("refuse a PATCH that points an existing app at loopback", async () => {
    const created = await createInProduction({});
    const { appId } = (await created.json()) as { appId: string };
    const res = await production(`/admin/apps/${appId}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${PRODUCTION_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ settings: { delivery: { email: { provider: "webhook", url: "https://[::ffff:127.0.0.1]/x", secret: webhookSecret() } } } }),
    });
    expect(res.status).toBe(400);
  });
});

describe("app settings in development", () => {
  const patchDev = async (url: string) => {
    const app = await createApp();
    return call(`/admin/apps/${app.appId}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { settings: { delivery: { email: { provider: "webhook", url, secret: webhookSecret() } } } },
    });
  };

  it.each(["http://127.0.0.1:9999/hook", "http://127.1:9999/hook", "http://0x7f000001:9999/hook", "http://localhost.:9999/hook", "http://[::1]:9999/hook"])(
    "accept plain http to loopback %s",
    async (url) => {
      expect((await patchDev(url)).status).toBe(200);
    },
  );

  it.each(["http://10.0.0.1/hook", "http://169.254.169.254/", "http://hooks.example.com/hook"])("refuse plain http off loopback %s", async (url) => {
    expect((await patchDev(url)).status).toBe(400);
  });
});

describe("sending in production", () => {
  async function refusal(url: string): Promise<DeliveryFailure> {
    const error = await sendWith({ provider: "webhook", url, secret: webhookSecret() }, deliveryMessage(), sendContext({ development: false })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeliveryFailure);
    return error as DeliveryFailure;
  }

  // Settings saved before the rule, and DELIVERY_EMAIL / DELIVERY_SMS, are checked at each send.
  it.each(REFUSED)("does not call %s (%s)", async (url) => {
    const { calls } = interceptFetch();
    expect(await refusal(url)).toMatchObject({ retryable: false, reason: "webhook_destination_refused" });
    expect(calls).toHaveLength(0);
  });

  it("refuses the outbox", async () => {
    const error = await sendWith({ provider: "outbox" }, deliveryMessage(), sendContext({ development: false })).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: false, reason: "outbox_outside_development" });
  });
});
