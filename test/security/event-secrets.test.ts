// SPEC §8 for security events: no password, code, token, hash or address in any event. Every flow
// of both dialects runs with events on; then every console line, every queued event (opened) and
// every webhook POST (body and headers) is scanned for each secret value the flows used.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../helpers";
import { kiiFlows, zitadelFlows } from "../events/flows";
import { deliverEvents, eventSettings, harness } from "../events/helpers";

afterEach(() => vi.restoreAllMocks());

describe("security events", () => {
  it("carry no password, code, token, hash, address or signing secret, in logs, on the queue or in webhooks", async () => {
    const settings = eventSettings();
    const app = await createApp({ events: settings, verification: { email: "trusted", phone: "trusted" } });
    const h = harness();
    const kiiRun = await kiiFlows(h, app);
    const zitadelRun = await zitadelFlows(h, app);
    const delivered = await deliverEvents(h, settings.secret);
    const events = await h.events();
    expect(events.length).toBeGreaterThanOrEqual(20);
    expect(delivered).toHaveLength(events.length);

    const secrets = [...kiiRun.secrets, ...zitadelRun.secrets, app.clientSecret, app.appKey, settings.secret, settings.secret.slice("whsec_".length)];
    // Sanity: the flows did produce each of them (a PIN, a code, tokens), so an absence means something.
    for (const value of secrets) expect(value.length, "secret value").toBeGreaterThanOrEqual(6);

    const haystacks = [
      ...h.lines.map((line) => ["log line", line] as const),
      ...events.map((event) => ["queued event", JSON.stringify(event)] as const),
      ...delivered.map((d) => ["webhook body", d.body] as const),
      ...delivered.map((d) => ["webhook headers", JSON.stringify({ ...d.headers, "webhook-signature": undefined })] as const),
    ];
    expect(h.lines.length).toBeGreaterThan(events.length);
    for (const [where, text] of haystacks) {
      for (const value of secrets) expect(text.includes(value), `${where} holds ${value}: ${text}`).toBe(false);
      // Hashes of any kind: PHC scrypt, bcrypt.
      expect(text, where).not.toMatch(/\$scrypt\$|\$2[aby]\$/);
    }
  });
});
