// SPEC §8: no password, code or token in any log line, including when storage fails.
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app as worker } from "../../src/app";
import { openDatabase } from "../../src/storage/db";
import { UserStore } from "../../src/storage/users";
import { createApp, kiiHeaders, shardOf } from "../helpers";

afterEach(() => vi.restoreAllMocks());

/** A D1 whose writes fail after binding their values, as a constraint or outage would. */
function failingWrites(real: D1Database): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop !== "prepare") return Reflect.get(target, prop).bind(target);
      return (query: string) => {
        const statement = target.prepare(query);
        if (!/^\s*insert/i.test(query)) return statement;
        const fail = async () => {
          throw new Error("D1_ERROR: disk I/O error");
        };
        return new Proxy(statement, {
          get(s, p) {
            if (p === "bind") return (...values: unknown[]) => new Proxy(s.bind(...values), { get: (b, q) => (["run", "all", "first", "raw"].includes(String(q)) ? fail : Reflect.get(b, q).bind(b)) });
            return ["run", "all", "first", "raw"].includes(String(p)) ? fail : Reflect.get(s, p).bind(s);
          },
        });
      };
    },
  });
}

describe("log lines when storage fails", () => {
  it("name the failure but none of the query's values (address, password hash)", async () => {
    const app = await createApp();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const request = new Request(`http://latchkey.test/api/apps/${app.appId}/users`, {
      method: "POST",
      headers: { ...kiiHeaders(app), "Content-Type": "application/json" },
      body: JSON.stringify({ loginName: "logged-user", emailAddress: "private.person@example.com", password: "a secret password" }),
    });
    // Every database fails its writes: the control database and both shards (the user goes to one).
    const res = await worker.fetch(request, { ...env, DB: failingWrites(env.DB), USERS_0: failingWrites(env.USERS_0!), USERS_1: failingWrites(env.USERS_1!) }, createExecutionContext());
    expect(res.status).toBe(500);
    const lines = errors.mock.calls.map((c) => String(c[0]));
    expect(lines.some((l) => l.includes("disk I/O error"))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain("private.person@example.com");
      expect(line).not.toContain("$scrypt$");
      expect(line).not.toContain("a secret password");
    }
  });
});

describe("a registration that loses a race on a unique field", () => {
  it("is refused as a conflict, not a failure", async () => {
    const app = await createApp();
    const users = new UserStore(openDatabase(await shardOf(app)));
    const row = (id: string) => ({ id, appId: app.appId, loginName: "racer", loginNameKey: "racer", createdAt: 1, changedAt: 1 });
    expect(await users.insertReturning(row("1001"))).toMatchObject({ id: "1001" });
    expect(await users.insertReturning(row("1002"))).toBeNull();
  });
});
