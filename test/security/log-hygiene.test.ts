// SPEC §8: no password, code or token in any log line, including when storage fails.
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app as worker } from "../../src/app";
import { createServices } from "../../src/core/services";
import { registerWithVerification } from "../../src/core/verification";
import { createApp, kiiHeaders } from "../helpers";

afterEach(() => vi.restoreAllMocks());

/** A D1 whose writes fail after binding their values, as a constraint or outage would. */
function failingWrites(real: D1Database): D1Database {
  const fail = async () => {
    throw new Error("D1_ERROR: disk I/O error");
  };
  const inserts = new WeakSet<object>();
  return new Proxy(real, {
    get(target, prop) {
      // A batch fails as a whole when any of its statements is an insert.
      if (prop === "batch") return (statements: D1PreparedStatement[]) => (statements.some((s) => inserts.has(s)) ? fail() : target.batch(statements));
      if (prop !== "prepare") return Reflect.get(target, prop).bind(target);
      return (query: string) => {
        const statement = target.prepare(query);
        if (!/^\s*insert/i.test(query)) return statement;
        return new Proxy(statement, {
          get(s, p) {
            if (p === "bind")
              return (...values: unknown[]) => {
                const bound = new Proxy(s.bind(...values), { get: (b, q) => (["run", "all", "first", "raw"].includes(String(q)) ? fail : Reflect.get(b, q).bind(b)) });
                inserts.add(bound);
                return bound;
              };
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
  it("is refused as a conflict naming the field, not a failure, and leaves nothing behind", async () => {
    const app = await createApp();
    const svc = createServices(env);
    const stored = (await svc.apps.get(app.appId))!;
    const users = svc.shard(stored).users;
    // The racing registration lands while this one hashes: after its look-up found the name free.
    const hash = svc.hasher.hash.bind(svc.hasher);
    svc.hasher.hash = async (p) => {
      await users.insertStatement({ id: "1001", appId: app.appId, loginName: "racer", loginNameKey: "racer", createdAt: 1, changedAt: 1 });
      return hash(p);
    };
    const input = { userId: "1002", loginName: "Racer", email: "racer@example.com", password: "a long password" };
    const error = await registerWithVerification(svc, stored, input, { principal: null, clientIp: null, origin: "http://localhost", dialect: "kii" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "user_exists", details: { field: "loginName" } });
    expect(await users.byId(app.appId, "1002")).toBeNull();
    expect(await svc.shard(stored).verifications.get(app.appId, "1002", "email")).toBeNull();
  });
});
