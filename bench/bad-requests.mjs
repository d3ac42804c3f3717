// `node bench/bad-requests.mjs [count] [seed]`: sends generated bad requests (default 10,000)
// across every ZITADEL route (REST, Connect JSON and proto, gRPC-web) and every Kii route to a
// real `wrangler dev`, and counts answers by status and by shape. An error answer is "shaped"
// when it has its dialect's error body (SPEC §3, §4). Prints figures; exits 1 on any 5xx other
// than ZITADEL's Unimplemented (501, for what Latchkey does not serve) or any unshaped answer.
// Takes a few minutes, so it is not part of `npm test`.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeEnvelope, createEnvelopeReadableStream } from "@connectrpc/connect/protocol";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { DEMO_APP, seedDemoApp, startDevServer } from "../scripts/dev-server.mjs";

const COUNT = Number(process.argv[2] ?? 10_000);
const SEED = Number(process.argv[3] ?? 9);
const PARALLEL = 6;

// A small seeded generator (mulberry32), so a run can be repeated.
let state = SEED >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(random() * n);
const pick = (xs) => xs[int(xs.length)];
const chance = (p) => random() < p;
const bytes = (max) => Uint8Array.from({ length: int(max + 1) }, () => int(256));
const garbageString = (max = 40) => {
  const alphabet = ["a", "Z", "0", " ", "\n", "\r", "\0", "\x1b", "\u202e", "\u2066", "%", "/", ":", "+", "@", ".", "é", "山", "😀", "\\", '"', "{", "}", "<"];
  return Array.from({ length: int(max + 1) }, () => pick(alphabet)).join("");
};
const jsonValue = (depth = 0) => {
  switch (int(depth > 3 ? 5 : 7)) {
    case 0: return null;
    case 1: return chance(0.5);
    case 2: return pick([0, -1, 1e308, 2 ** 53 + 1, 3.5, NaN]);
    case 3: return garbageString();
    case 4: return pick(["", "x".repeat(300), "+819012345678", "a@b.c", "EMAIL:x", "NOTIFICATION_TYPE_SMS", "{{.Code}}"]);
    case 5: return Array.from({ length: int(4) }, () => jsonValue(depth + 1));
    default: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(FIELDS), jsonValue(depth + 1)]));
  }
};
const FIELDS = [
  "userId", "user_id", "username", "profile", "givenName", "familyName", "displayName", "nickName", "email", "isVerified", "phone",
  "password", "changeRequired", "hashedPassword", "hash", "newPassword", "currentPassword", "verificationCode", "sendLink",
  "returnCode", "notificationType", "urlTemplate", "organization", "orgId", "metadata", "loginName", "emailAddress",
  "phoneNumber", "oldPassword", "pinCode", "notificationMethod", "smsResetMethod", "disabled", "grant_type", "client_id",
  "client_secret", "expiresAt", "locale", "country",
];

function body() {
  switch (int(9)) {
    case 0: return bytes(200);
    case 1: return JSON.stringify(jsonValue());
    case 2: return JSON.stringify(jsonValue()).slice(0, -1 - int(3)); // truncated
    case 3: return garbageString(80);
    case 4: return "";
    case 5: return JSON.stringify({ padding: "x".repeat(70 * 1024) }); // over the 64 KiB limit
    case 6: return "[".repeat(5000) + "]".repeat(5000);
    case 7: return gzipSync(Buffer.from(JSON.stringify(jsonValue())));
    default: return JSON.stringify(Object.fromEntries(Array.from({ length: 1 + int(4) }, () => [pick(FIELDS), jsonValue(1)])));
  }
}

const idSegment = () => pick(["404404", "me", "%ZZ", "%2F", "x".repeat(201), "EMAIL:nobody@example.com", "PHONE:+810000", "LOGIN_NAME:nobody", encodeURIComponent(garbageString(10)), "%00", "%E2%80%AE", "EMAIL:", ":"]);

const persistTo = mkdtempSync(join(tmpdir(), "latchkey-bad-"));
const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const server = await startDevServer({ port, persistTo });
const url = server.url;

const counts = { total: 0, byStatus: {}, byFamily: {}, fiveXX: 0, unimplemented501: 0, unshaped: 0, networkErrors: 0 };
const unshapedSamples = [];
const fiveSamples = [];

try {
  await seedDemoApp(url);
  const appId = DEMO_APP.appId;
  const kiiApp = { "X-Kii-AppID": appId, "X-Kii-AppKey": DEMO_APP.appKey };
  const tokenRes = await fetch(`${url}/api/oauth2/token`, {
    method: "POST",
    headers: { ...kiiApp, "Content-Type": "application/json" },
    body: JSON.stringify({ grant_type: "client_credentials", client_id: DEMO_APP.clientId, client_secret: DEMO_APP.clientSecret }),
  });
  const admin = (await tokenRes.json()).access_token;
  const reg = await fetch(`${url}/api/apps/${appId}/users`, {
    method: "POST",
    headers: { ...kiiApp, "Content-Type": "application/json" },
    body: JSON.stringify({ loginName: "badinput", emailAddress: "badinput@example.com", password: "bad input password 1" }),
  });
  const { userID } = await reg.json();
  const userTok = (await (await fetch(`${url}/api/oauth2/token`, {
    method: "POST",
    headers: { ...kiiApp, "Content-Type": "application/json" },
    body: JSON.stringify({ username: "badinput", password: "bad input password 1" }),
  })).json()).access_token;

  const bearer = () => pick([`Bearer ${admin}`, `Bearer ${admin}`, `Bearer ${userTok}`, undefined, "Bearer", `Bearer ${"x".repeat(600)}`, "Basic Og==", garbageString(20).replace(/[^\x20-\x7e]/g, "")]);
  const someUser = () => (chance(0.4) ? userID : idSegment());

  // Each generator returns [dialect, method, path, headers, body].
  const zitadelRest = () => {
    const route = pick([
      () => ["POST", "/v2/users/human"],
      () => ["POST", `/v2/users/${someUser()}/password_reset`],
      () => ["POST", `/v2/users/${someUser()}/password`],
      () => ["GET", `/v2/users/${someUser()}`],
      () => [pick(["GET", "PUT", "DELETE", "PATCH", "POST"]), `/v2/${pick(["users", "users/human", "foo", "", "users/x/y/z", "organizations"])}`],
    ])();
    const method = chance(0.1) ? pick(["GET", "PUT", "DELETE", "PATCH"]) : route[0];
    const headers = { "Content-Type": pick(["application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "application/proto"]) };
    const auth = bearer();
    if (auth) headers.Authorization = auth;
    if (chance(0.05)) headers["Content-Encoding"] = "gzip";
    return ["zitadel-rest", method, route[1], headers, method === "GET" ? undefined : body()];
  };
  const rpcMethod = () => pick(["PasswordReset", "SetPassword", "AddHumanUser", "GetUserByID", "GetUserByID", "DeleteUser", "ListUsers", "", "%ZZ"]);
  const connect = () => {
    const contentType = pick(["application/json", "application/proto", "application/json; charset=utf-8", "application/connect+json", "text/plain", ""]);
    const headers = {};
    if (contentType) headers["Content-Type"] = contentType;
    const auth = bearer();
    if (auth) headers.Authorization = auth;
    if (chance(0.05)) headers["Content-Encoding"] = pick(["gzip", "br", "identity"]);
    if (chance(0.03)) headers["Connect-Timeout-Ms"] = pick(["abc", "-1", "99999999999"]);
    const method = chance(0.08) ? pick(["GET", "PUT", "DELETE"]) : "POST";
    return ["connect", method, `/zitadel.user.v2.UserService/${rpcMethod()}`, headers, method === "GET" ? undefined : body()];
  };
  const grpcWeb = () => {
    const headers = { "Content-Type": pick(["application/grpc-web+proto", "application/grpc-web", "application/grpc-web-text", "application/grpc-web+json"]) };
    const auth = bearer();
    if (auth) headers.Authorization = auth;
    if (chance(0.05)) headers["grpc-encoding"] = pick(["gzip", "snappy"]);
    const payload = pick([() => encodeEnvelope(0, bytes(200)), () => bytes(100), () => encodeEnvelope(int(256), bytes(50)), () => Uint8Array.of(0, 0, 0, 0, 50, 1, 2)])();
    return ["grpc-web", "POST", `/zitadel.user.v2.UserService/${rpcMethod()}`, headers, payload];
  };
  const kii = () => {
    const app = chance(0.9) ? appId : pick(["nosuchapp", "%ZZ", "x".repeat(100), garbageString(8)]);
    const id = chance(0.3) ? pick([userID, "me", "LOGIN_NAME:badinput", "EMAIL:badinput@example.com"]) : idSegment();
    const route = pick([
      () => ["POST", `/api/apps/${app}/users`, "application/vnd.kii.RegistrationRequest+json"],
      () => ["POST", "/api/oauth2/token", "application/json"],
      () => ["POST", `/api/apps/${app}/oauth2/token`, "application/json"],
      () => ["GET", `/api/apps/${app}/users/${id}`, undefined],
      () => ["PUT", `/api/apps/${app}/users/${id}/password`, "application/vnd.kii.ChangePasswordRequest+json"],
      () => ["POST", `/api/apps/${app}/users/${id}/password/request-reset`, "application/vnd.kii.ResetPasswordRequest+json"],
      () => ["POST", `/api/apps/${app}/users/${id}/password/reset`, undefined],
      () => ["POST", `/api/apps/${app}/users/${id}/password/complete-reset`, "application/vnd.kii.CompletePasswordResetRequest+json"],
      () => ["PUT", `/api/apps/${app}/users/${id}/status`, "application/vnd.kii.UserStatusUpdateRequest+json"],
    ])();
    const headers = {};
    const ct = chance(0.8) ? route[2] : pick(["text/plain", "application/json", "application/x-www-form-urlencoded", "", "application/vnd.kii.Nonsense+json"]);
    if (ct) headers["Content-Type"] = ct;
    if (chance(0.85)) Object.assign(headers, chance(0.9) ? kiiApp : { "X-Kii-AppID": appId, "X-Kii-AppKey": garbageString(10).replace(/[^\x20-\x7e]/g, "") });
    const auth = bearer();
    if (auth && chance(0.7)) headers.Authorization = auth;
    const method = chance(0.08) ? pick(["GET", "PUT", "DELETE", "PATCH", "POST"]) : route[0];
    return ["kii", method, route[1], headers, method === "GET" ? undefined : body()];
  };

  async function grpcStatus(res) {
    if (res.headers.get("grpc-status")) return { status: res.headers.get("grpc-status"), details: res.headers.get("grpc-status-details-bin") };
    if (!res.body) return null;
    const reader = createEnvelopeReadableStream(res.body).getReader();
    let found = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.flags & 0x80) {
        const t = trailerParse(value.data);
        found = { status: t.get("grpc-status"), details: t.get("grpc-status-details-bin") };
      }
    }
    return found;
  }

  /** true when the answer is a success or an error in its dialect's shape. */
  async function shaped(dialect, res) {
    const type = res.headers.get("Content-Type") ?? "";
    if (dialect === "grpc-web" && /^application\/grpc-web/.test(type)) {
      const s = await grpcStatus(res);
      return s !== null && (s.status === "0" || Boolean(s.details));
    }
    if (dialect === "connect" && /^application\/grpc-web/.test(type)) return shaped("grpc-web", res); // a gRPC-web answer to an unknown method
    if (res.status < 400) {
      await res.arrayBuffer();
      return true;
    }
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      return false;
    }
    if (dialect === "zitadel-rest") {
      const d = json.details?.[0];
      return typeof json.code === "number" && d?.["@type"] === "type.googleapis.com/zitadel.v1.ErrorDetail" && json.message === `${d.message} (${d.id})`;
    }
    if (dialect === "connect" || dialect === "grpc-web") {
      return typeof json.code === "string" && typeof json.message === "string" && json.details?.[0]?.type === "zitadel.v1.ErrorDetail";
    }
    // Kii: {errorCode, message} or OAuth's {errorCode, error_description}, JSON content type.
    return /^application\/(vnd\.kii\.\w+\+)?json/.test(type) && typeof json.errorCode === "string" && (typeof json.message === "string" || typeof json.error_description === "string");
  }

  const generators = [zitadelRest, zitadelRest, connect, connect, grpcWeb, kii, kii, kii];
  const started = Date.now();
  let next = 0;
  async function worker() {
    while (next < COUNT) {
      next++;
      const [dialect, method, path, headers, payload] = pick(generators)();
      counts.total++;
      let res;
      try {
        res = await fetch(url + path, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
      } catch (e) {
        counts.networkErrors++;
        continue;
      }
      const family = `${dialect} ${Math.floor(res.status / 100)}xx`;
      counts.byFamily[family] = (counts.byFamily[family] ?? 0) + 1;
      counts.byStatus[res.status] = (counts.byStatus[res.status] ?? 0) + 1;
      const ok = await shaped(dialect, res.clone()).catch(() => false);
      await res.arrayBuffer().catch(() => {});
      if (!ok) {
        counts.unshaped++;
        if (unshapedSamples.length < 10) unshapedSamples.push(`${dialect} ${method} ${path.slice(0, 80)} ${headers["Content-Type"] ?? ""} → ${res.status}`);
      }
      if (res.status === 501 && ok && dialect !== "kii") counts.unimplemented501++;
      else if (res.status >= 500) {
        counts.fiveXX++;
        if (fiveSamples.length < 10) fiveSamples.push(`${dialect} ${method} ${path.slice(0, 80)} ${headers["Content-Type"] ?? ""} → ${res.status}`);
      }
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  counts.seconds = Math.round((Date.now() - started) / 1000);
  console.log(JSON.stringify({ seed: SEED, ...counts }, null, 2));
  if (unshapedSamples.length) console.log("unshaped:\n  " + unshapedSamples.join("\n  "));
  if (fiveSamples.length) console.log("5xx:\n  " + fiveSamples.join("\n  "));
  const internalLogged = (server.output().match(/"level":"error"/g) ?? []).length;
  console.log(`error log lines from the Worker: ${internalLogged}`);
  process.exitCode = counts.fiveXX > 0 || counts.unshaped > 0 || counts.networkErrors > 0 ? 1 : 0;
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
