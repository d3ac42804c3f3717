// The isolate's cache of app rows (storage/app-cache.ts): a request reads its app from memory
// for APP_CACHE_TTL_MS; a write through the operator API is seen at once in this isolate; an
// unknown id is never remembered; meeting a move's fence forgets every route.
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { coreErrorOf } from "../../src/core/shards";
import { APP_CACHE_TTL_MS, cachedApp, forgetApp } from "../../src/storage/app-cache";
import type { App } from "../../src/storage/apps";
import { ADMIN_TOKEN, call, createApp, kiiHeaders } from "../helpers";

type TestApp = Awaited<ReturnType<typeof createApp>>;

const register = (app: TestApp, loginName: string, password: string) =>
  call(`/api/apps/${app.appId}/users`, {
    method: "POST",
    headers: kiiHeaders(app, { "Content-Type": "application/vnd.kii.RegistrationRequest+json" }),
    json: { loginName, password },
  });

/** Changes the app's settings behind the Worker's back, as another isolate's write would look from here. */
const setMinLengthInDatabase = (appId: string, min: number) =>
  env.DB.prepare("UPDATE apps SET settings = json_set(settings, '$.passwordPolicy.minLength', ?) WHERE id = ?").bind(min, appId).run();

afterEach(() => forgetApp());

describe("app cache", () => {
  it("serves a request's app from memory: a change written elsewhere shows only after the entry is forgotten", async () => {
    const app = await createApp({ passwordPolicy: { minLength: 8 } });
    expect((await register(app, "first-user", "eight ch")).status).toBe(201);
    await setMinLengthInDatabase(app.appId, 20);
    // Still the cached row: 8 characters pass.
    expect((await register(app, "second-user", "eight ch")).status).toBe(201);
    forgetApp(app.appId);
    const refused = await register(app, "third-user", "eight ch");
    expect(refused.status).toBe(400);
  });

  it("sees a settings change made through the operator API at once", async () => {
    const app = await createApp({ passwordPolicy: { minLength: 8 } });
    expect((await register(app, "first-user", "eight ch")).status).toBe(201);
    const patched = await call(`/admin/apps/${app.appId}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { settings: { passwordPolicy: { minLength: 20 } } },
    });
    expect(patched.status).toBe(200);
    expect((await register(app, "second-user", "eight ch")).status).toBe(400);
  });

  it("does not remember an unknown id: an app created after a miss is served at once", async () => {
    const ghost = { appId: "cachemiss01", appKey: "x".repeat(32) };
    const before = await call(`/api/apps/${ghost.appId}/users/me`, { headers: { "X-Kii-AppID": ghost.appId, "X-Kii-AppKey": ghost.appKey } });
    expect(before.status).toBe(404);
    const created = await call("/admin/apps", { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }, json: { appId: ghost.appId } });
    expect(created.status).toBe(201);
    const app = await created.json<TestApp>();
    expect((await register(app, "late-user", "long enough pw")).status).toBe(201);
  });

  it("keeps an entry for its lifetime, then reads again; concurrent misses each read (no read in progress is shared)", async () => {
    let reads = 0;
    const row = { id: "cachettl01" } as App;
    const load = async () => {
      reads++;
      return row;
    };
    const t0 = 1_000_000;
    const [a, b] = await Promise.all([cachedApp(row.id, load, t0), cachedApp(row.id, load, t0)]);
    expect(a).toBe(row);
    expect(b).toBe(row);
    expect(reads).toBe(2);
    await cachedApp(row.id, load, t0 + APP_CACHE_TTL_MS - 1);
    expect(reads).toBe(2);
    await cachedApp(row.id, load, t0 + APP_CACHE_TTL_MS);
    expect(reads).toBe(3);
  });

  it("does not keep a read that began before a write forgot the app", async () => {
    let answer!: (app: App) => void;
    const slow = cachedApp("cacherace", () => new Promise<App>((resolve) => (answer = resolve)));
    forgetApp("cacherace"); // a write to the app, while the read is under way
    answer({ id: "cacherace", name: "before the write" } as App);
    expect((await slow)?.name).toBe("before the write");
    let reads = 0;
    const fresh = await cachedApp("cacherace", async () => (reads++, { id: "cacherace", name: "after the write" } as App));
    expect(reads).toBe(1);
    expect(fresh?.name).toBe("after the write");
  });

  it("forgets a failed or empty read", async () => {
    let reads = 0;
    await expect(cachedApp("cachefail1", async () => (reads++, Promise.reject(new Error("D1 down"))))).rejects.toThrow("D1 down");
    expect(await cachedApp("cachefail1", async () => (reads++, null))).toBeNull();
    expect(await cachedApp("cachefail1", async () => (reads++, null))).toBeNull();
    expect(reads).toBe(3);
  });

  it("forgets every route when a write meets a move's fence", async () => {
    let reads = 0;
    const load = async () => (reads++, { id: "cachefence" } as App);
    await cachedApp("cachefence", load);
    await cachedApp("cachefence", load);
    expect(reads).toBe(1);
    const answer = coreErrorOf(new Error("D1_ERROR: latchkey_app_moving: SQLITE_CONSTRAINT"));
    expect(answer?.kind).toBe("unavailable");
    await cachedApp("cachefence", load);
    expect(reads).toBe(2);
  });
});
