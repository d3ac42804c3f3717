// The isolate's app cache under concurrency, in real workerd (wrangler dev): many requests that
// miss the cache at the same moment, each going on to its own D1, Durable Object, KV and queue
// work, all answer without a fault.
import { describe, expect, inject, it } from "vitest";
import { baseUrl, createE2eApp } from "./helpers";

const PASSWORD = "cache test password";

describe("app cache", () => {
  it("answers every one of many concurrent requests that miss the cache together", async () => {
    const app = await createE2eApp();
    const kii = { "X-Kii-AppID": app.appId, "X-Kii-AppKey": app.appKey };
    const registered = await fetch(`${baseUrl()}/api/apps/${app.appId}/users`, {
      method: "POST",
      headers: { ...kii, "Content-Type": "application/vnd.kii.RegistrationRequest+json" },
      body: JSON.stringify({ loginName: "cache-user", emailAddress: "cache-user@example.com", password: PASSWORD }),
    });
    expect(registered.status).toBe(201);
    const signedIn = await fetch(`${baseUrl()}/api/oauth2/token`, {
      method: "POST",
      headers: { ...kii, "Content-Type": "application/json" },
      body: JSON.stringify({ username: "cache-user", password: PASSWORD }),
    });
    expect(signedIn.status).toBe(200);
    const { access_token: token } = (await signedIn.json()) as { access_token: string };
    for (let round = 0; round < 3; round++) {
      // A settings write through the operator API drops the app from the isolate's cache, so the
      // burst below starts with every request missing it at the same moment.
      const patched = await fetch(`${baseUrl()}/admin/apps/${app.appId}`, {
        method: "PATCH",
        headers: { Authorization: `Bearer ${inject("adminToken")}`, "Content-Type": "application/json" },
        body: JSON.stringify({ settings: { passwordPolicy: { minLength: 8 + round } } }),
      });
      expect(patched.status).toBe(200);
      const answers = await Promise.all([
        ...Array.from({ length: 24 }, () => fetch(`${baseUrl()}/api/apps/${app.appId}/users/me`, { headers: { ...kii, Authorization: `Bearer ${token}` } })),
        ...Array.from({ length: 8 }, () =>
          fetch(`${baseUrl()}/api/apps/${app.appId}/users/LOGIN_NAME:cache-user/password/request-reset`, { method: "POST", headers: kii }),
        ),
      ]);
      const statuses = answers.map((r) => r.status);
      const bodies = await Promise.all(answers.map((r) => r.text()));
      expect(statuses.slice(0, 24), bodies.find((_, i) => statuses[i] !== 200)).toEqual(Array(24).fill(200));
      // Resets: sent or limited per address (3 per 15 minutes by default), never a fault.
      for (const [i, status] of statuses.slice(24).entries()) expect([204, 429], bodies[24 + i]).toContain(status);
    }
  });
});
