// A minimal Better Auth Worker, as a Workers developer would write one: email and password on
// D1, one instance per isolate. Two instances share the database, told apart by base path:
//   /default/api/auth/*  Better Auth's own password hashing (scrypt N=2^14 r=16 p=1, node:crypto)
//   /equal/api/auth/*    the same, but hashing with Latchkey's parameters (N=2^14 r=8 p=5)
// Sending the reset email does nothing, so a reset request times Better Auth's own work only.
// Rate limiting is off: Better Auth's default limiter keeps counts in the isolate's memory, which
// would refuse the bench's traffic and is not comparable to Latchkey's Durable Object limiter.
import { env } from "cloudflare:workers";
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { betterAuth } from "better-auth";

// Latchkey's scrypt parameters, stored as "salt:key" in hex (Better Auth's own layout).
const EQUAL = { N: 2 ** 14, r: 8, p: 5, maxmem: 64 * 1024 * 1024 };
const KEY_BYTES = 32;

const derive = (password, salt) =>
  new Promise((resolve, reject) => scrypt(password.normalize("NFKC"), salt, KEY_BYTES, EQUAL, (err, key) => (err ? reject(err) : resolve(key))));

const equalHashing = {
  async hash(password) {
    const salt = randomBytes(16).toString("hex");
    return `${salt}:${(await derive(password, salt)).toString("hex")}`;
  },
  async verify({ hash, password }) {
    const [salt, key] = hash.split(":");
    if (!salt || !key) return false;
    const expected = Buffer.from(key, "hex");
    const actual = await derive(password, salt);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  },
};

const instances = new Map();

function authFor(prefix) {
  let auth = instances.get(prefix);
  if (!auth) {
    auth = betterAuth({
      database: env.DB,
      basePath: `/${prefix}/api/auth`,
      baseURL: "http://127.0.0.1",
      // A fixed value: this Worker runs only on loopback for the bench.
      secret: "bench-only-secret-for-a-local-peer-0000000",
      telemetry: { enabled: false },
      rateLimit: { enabled: false },
      emailAndPassword: {
        enabled: true,
        sendResetPassword: async () => {},
        ...(prefix === "equal" ? { password: equalHashing } : {}),
      },
    });
    instances.set(prefix, auth);
  }
  return auth;
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/") return Response.json({ service: "better-auth peer" });
    const prefix = pathname.split("/")[1];
    if (prefix === "default" || prefix === "equal") return authFor(prefix).handler(request);
    return new Response("not found", { status: 404 });
  },
};
