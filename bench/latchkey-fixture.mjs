// Latchkey's side of a bench: apps with limits too high to answer 429 (the limiter's round trips
// are still made), a user to sign in as, pools of users for resets, and admin and user tokens.
import { randomBytes, scryptSync } from "node:crypto";
import { DEV_ADMIN_TOKEN } from "../scripts/dev-server.mjs";

export const PASSWORD = "bench password 1";
export const LATCHKEY_SCRYPT = { N: 2 ** 14, r: 8, p: 5, maxmem: 64 * 1024 * 1024 };

export const json = (body, headers = {}) => ({ method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });

export async function inBatches(n, width, f) {
  const out = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => f(i + k)))));
  return out;
}

// Every per-address and per-IP limit lifted (the bench sends everything from one address), and
// the lockout's attempts too: a burst of 64 sign-ins of one user reserves 64 attempts at once.
const roomyLimit = { limit: 10_000, windowSeconds: 60 };
const roomy = {
  rateLimits: { resetPerAddress: roomyLimit, resetPerIp: roomyLimit, verifyPerAddress: roomyLimit, signInPerIp: roomyLimit, registerPerIp: roomyLimit },
  lockout: { maxPasswordAttempts: 1_000 },
};

export async function setUpLatchkey(url, { resetPool = 16, completePool = 0, guarded = false } = {}) {
  const newApp = async (settings) => {
    const res = await fetch(`${url}/admin/apps`, json({ settings }, { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` }));
    if (res.status !== 201) throw new Error(`creating an app: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const kii = (a) => ({ "X-Kii-AppID": a.appId, "X-Kii-AppKey": a.appKey });
  const register = async (a, loginName) => {
    const res = await fetch(`${url}/api/apps/${a.appId}/users`, json({ loginName, emailAddress: `${loginName}@example.com`, password: PASSWORD }, kii(a)));
    if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
    return (await res.json()).userID;
  };
  const app = await newApp(roomy);
  const guardedApp = guarded ? await newApp({ ...roomy, enumerationProtection: true }) : null;
  await register(app, "bench-user");
  if (guardedApp) await register(guardedApp, "guarded-user");
  const adminRes = await fetch(`${url}/api/apps/${app.appId}/oauth2/token`, json({ client_id: app.clientId, client_secret: app.clientSecret }, kii(app)));
  if (!adminRes.ok) throw new Error(`admin token: ${adminRes.status} ${await adminRes.text()}`);
  const admin = { Authorization: `Bearer ${(await adminRes.json()).access_token}` };
  // Pools are imported (ZITADEL AddHumanUser with hashedPassword) with one hash made here in
  // Latchkey's PHC format: registering each with a password would cost a scrypt per user.
  const salt = randomBytes(16);
  const b64 = (b) => b.toString("base64").replace(/=+$/, "");
  const phc = `$scrypt$ln=14,r=8,p=5$${b64(salt)}$${b64(scryptSync(PASSWORD.normalize("NFKC"), salt, 32, LATCHKEY_SCRYPT))}`;
  const importUser = async (username) => {
    const body = { username, profile: { givenName: "Bench", familyName: username }, email: { email: `${username}@example.com`, isVerified: true }, hashedPassword: { hash: phc } };
    const res = await fetch(`${url}/v2/users/human`, json(body, admin));
    if (!res.ok) throw new Error(`import: ${res.status} ${await res.text()}`);
    return (await res.json()).userId;
  };
  await inBatches(resetPool, 4, (i) => importUser(`reset-user-${i}`));
  const completeUsers = await inBatches(completePool, 4, (i) => importUser(`complete-user-${i}`));
  const tokenRes = await fetch(`${url}/api/oauth2/token`, json({ username: "bench-user", password: PASSWORD }, kii(app)));
  if (!tokenRes.ok) throw new Error(`sign-in: ${tokenRes.status} ${await tokenRes.text()}`);
  const token = (await tokenRes.json()).access_token;
  return { app, guardedApp, kii, admin, token, resetPool, completeUsers };
}
