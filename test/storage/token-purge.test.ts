import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createApp, registerKiiUser, userToken, everyShard } from "../helpers";

describe("daily clean-up", () => {
  it("deletes expired access tokens and keeps live ones", async () => {
    const app = await createApp();
    await registerKiiUser(app, { loginName: "purge-user", password: "long enough pw" });
    await userToken(app, "purge-user", "long enough pw");
    await userToken(app, "purge-user", "long enough pw");
    const expired = await everyShard.prepare("SELECT token_hash FROM access_tokens LIMIT 1").first<{ token_hash: string }>();
    await everyShard.prepare("UPDATE access_tokens SET expires_at = ? WHERE token_hash = ?").bind(Date.now() - 1000, expired!.token_hash).run();

    await worker.scheduled(createScheduledController({ cron: "17 3 * * *" }), env);

    const rows = await everyShard.prepare("SELECT token_hash FROM access_tokens").all<{ token_hash: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.token_hash).not.toBe(expired!.token_hash);
  });
});
