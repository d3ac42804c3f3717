// The webhook provider end to end: an app whose email goes to a real HTTP server on loopback, a
// Kii reset request to wrangler dev, and the signed POST arriving through the real local Queue.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseUrl, createE2eApp, type E2eApp } from "./helpers";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const received: Received[] = [];
/** Status codes to answer with, one per request, then 204. */
const script: number[] = [];
let server: Server;
let hookUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(script.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const kiiHeaders = (app: E2eApp, contentType?: string) => ({
  "X-Kii-AppID": app.appId,
  "X-Kii-AppKey": app.appKey,
  ...(contentType ? { "Content-Type": contentType } : {}),
});

async function registerUser(app: E2eApp, loginName: string): Promise<string> {
  const email = `${loginName}@example.com`;
  const res = await fetch(`${baseUrl()}/api/apps/${app.appId}/users`, {
    method: "POST",
    headers: kiiHeaders(app, "application/vnd.kii.RegistrationRequest+json"),
    body: JSON.stringify({ loginName, emailAddress: email, password: "first-password-1", locale: "ja" }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return email;
}

async function requestReset(app: E2eApp, email: string): Promise<Response> {
  return fetch(`${baseUrl()}/api/apps/${app.appId}/users/EMAIL:${encodeURIComponent(email)}/password/request-reset`, {
    method: "POST",
    headers: kiiHeaders(app),
  });
}

async function waitForRequests(path: string, count: number, timeoutMs = 30_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const matching = received.filter((r) => r.path === path);
    if (matching.length >= count) return matching;
    if (Date.now() > deadline) throw new Error(`${matching.length} of ${count} webhook requests to ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const verify = (r: Received) =>
  new Webhook(secret).verify(r.body, Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]))) as Record<string, unknown>;

describe("webhook delivery", () => {
  it("POSTs the reset message, signed per Standard Webhooks, to the app's webhook", async () => {
    const app = await createE2eApp({ delivery: { email: { provider: "webhook", url: `${hookUrl}/first`, secret } } });
    const email = await registerUser(app, "webhook-user-1");
    const res = await requestReset(app, email);
    expect(res.status).toBe(204);

    const [request] = await waitForRequests("/first", 1);
    const payload = verify(request!);
    expect(payload).toMatchObject({ appId: app.appId, channel: "email", to: email, template: "reset_link", locale: "ja" });
    expect(Object.keys(payload).sort()).toEqual(["appId", "channel", "createdAt", "html", "id", "locale", "subject", "template", "text", "to"]);
    expect(request!.headers["webhook-id"]).toBe(payload.id);
    expect(String(payload.text)).toContain(`${baseUrl()}/reset/${app.appId}/`);
  });

  it("retries after the webhook answers 503 and sends the same id again", async () => {
    const app = await createE2eApp({ delivery: { email: { provider: "webhook", url: `${hookUrl}/flaky`, secret } } });
    const email = await registerUser(app, "webhook-user-2");
    script.push(503);
    expect((await requestReset(app, email)).status).toBe(204);

    const [first, second] = await waitForRequests("/flaky", 2, 45_000);
    expect(verify(first!).id).toBe(verify(second!).id);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
  });
});
