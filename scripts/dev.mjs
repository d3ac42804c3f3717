// `npm start`: Latchkey on http://127.0.0.1:8787 with local D1/KV/DO/Queues under .wrangler/state.
// PORT changes the port; HOST=0.0.0.0 listens on every interface (a phone on the LAN), and
// PUBLIC_URL overrides the address links in messages use (default: the one it listens on).
import { DEMO_APP, DEV_ADMIN_TOKEN, seedDemoApp, startDevServer } from "./dev-server.mjs";

const port = Number(process.env.PORT || 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be a port number, not ${process.env.PORT}`);
const host = process.env.HOST || "127.0.0.1";
const server = await startDevServer({ port, host, publicUrl: process.env.PUBLIC_URL || undefined, inherit: true });
const app = await seedDemoApp(server.local);
const site = `${server.url}/api`;
console.log(`
  Latchkey is running on ${server.url} (development)

  Admin API     Authorization: Bearer ${DEV_ADMIN_TOKEN}   (${server.url}/admin/apps)
  Dev outbox    ${server.url}/dev/outbox?format=html   (messages that would have been sent)
  API docs      ${server.url}/docs   (OpenAPI 3.1: ${server.url}/openapi.json; npm run gen:openapi rewrites both)

  Demo app      appID ${app.appId}   appKey ${DEMO_APP.appKey}
                clientId ${DEMO_APP.clientId}   clientSecret ${DEMO_APP.clientSecret}
                orgId ${app.orgId}

  Kii JS SDK    Kii.initializeWithSite("${app.appId}", "${DEMO_APP.appKey}", "${site}")
  ZITADEL       createConnectTransport({ baseUrl: "${server.url}" }) with an app admin token
                (POST ${site}/oauth2/token {"client_id","client_secret"})

  Ctrl-C stops it.
`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
