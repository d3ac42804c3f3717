// Helpers for end-to-end tests against wrangler dev.
import { inject } from "vitest";

export const baseUrl = () => inject("baseUrl");

export interface E2eApp {
  appId: string;
  appKey: string;
  clientId: string;
  clientSecret: string;
  orgId: string;
}

/** A fresh app per test file, through the operator API, so files do not share users or limits. */
export async function createE2eApp(settings: Record<string, unknown> = {}): Promise<E2eApp> {
  // New apps require address verification; files about other things get apps that trust
  // registered addresses unless they ask otherwise.
  if (!("verification" in settings)) settings = { ...settings, verification: { email: "trusted", phone: "trusted" } };
  const res = await fetch(`${baseUrl()}/admin/apps`, {
    method: "POST",
    headers: { Authorization: `Bearer ${inject("adminToken")}`, "Content-Type": "application/json" },
    body: JSON.stringify({ settings }),
  });
  if (res.status !== 201) throw new Error(`creating an app failed: ${res.status} ${await res.text()}`);
  return res.json() as Promise<E2eApp>;
}

export interface OutboxMessage {
  id: string;
  appId: string;
  channel: "email" | "sms";
  to: string;
  subject: string;
  text: string;
  html: string;
  template: string;
  createdAt: string;
}

/** Waits for the newest outbox message to `to` that satisfies `match` (delivery goes through a Queue). */
export async function waitForMessage(to: string, match: (m: OutboxMessage) => boolean = () => true, timeoutMs = 20_000): Promise<OutboxMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${baseUrl()}/dev/outbox?to=${encodeURIComponent(to)}`);
    const { messages } = (await res.json()) as { messages: OutboxMessage[] };
    const found = messages.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no outbox message to ${to} within ${timeoutMs} ms (have: ${messages.map((m) => m.template).join(", ")})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
