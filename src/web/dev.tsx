// Local-development pages: the outbox (what would have been emailed or texted). Mounted at /dev
// only when ENVIRONMENT=development; everywhere else /dev/* is a 404.
/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { createApp, describeApp, findApp } from "../core/apps";
import { clearOutbox, listOutbox, type OutboxMessage } from "../core/outbox";
import { type AppEnv, bearerToken } from "../http";
import { constantTimeEqual } from "../lib/digest";

export const dev = new Hono<AppEnv>();

dev.use(async (c, next) => {
  if (!c.var.svc.config.development) return c.json({ error: "not_found", message: "No such resource" }, 404);
  await next();
});

const seedSchema = z.strictObject({
  appId: z.string().regex(/^[a-z0-9]{8,64}$/),
  appKey: z.string().min(8).max(100),
  clientId: z.string().min(8).max(100),
  clientSecret: z.string().min(8).max(100),
  name: z.string().min(1).max(100),
});

/** Creates the demo app with fixed credentials (npm start), once; development only. */
dev.post("/seed", async (c) => {
  const svc = c.var.svc;
  const given = bearerToken(c.req.header("Authorization"));
  if (!given || !svc.config.adminToken || !constantTimeEqual(given, svc.config.adminToken)) return c.json({ error: "unauthorized" }, 401);
  const parsed = seedSchema.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) return c.json({ error: "invalid_request", message: parsed.error.message }, 400);
  const { appId, name, ...credentials } = parsed.data;
  const existing = await findApp(svc, appId);
  if (existing) return c.json(describeApp(existing));
  const { app } = await createApp(svc, { appId, name }, credentials);
  return c.json(describeApp(app), 201);
});

dev.get("/outbox", async (c) => {
  const to = c.req.query("to") || undefined;
  const messages = await listOutbox(c.var.svc, to);
  const wantsHtml = c.req.query("format") === "html" || (c.req.header("Accept") ?? "").includes("text/html");
  if (!wantsHtml) return c.json({ messages });
  return c.html("<!doctype html>\n" + (<OutboxPage messages={messages} to={to} />).toString());
});

dev.delete("/outbox", async (c) => {
  await clearOutbox(c.var.svc);
  return c.body(null, 204);
});

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}.meta{color:#555}pre{white-space:pre-wrap}`;

/** hono/jsx escapes every value, so message text (which holds user input) cannot become markup. */
function OutboxPage({ messages, to }: { messages: OutboxMessage[]; to: string | undefined }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>Latchkey dev outbox</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <h1>Dev outbox{to ? ` for ${to}` : ""}</h1>
        <p>{messages.length} message(s), newest first. Nothing here was really sent.</p>
        {messages.length === 0 ? <p>No messages yet.</p> : messages.map((m) => (
          <article>
            <h2>{m.subject}</h2>
            <p class="meta">
              {m.channel} to <strong>{m.to}</strong> · {m.template} · app {m.appId} · {m.createdAt}
            </p>
            <pre>{m.text}</pre>
          </article>
        ))}
      </body>
    </html>
  );
}
