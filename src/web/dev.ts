// Local-development pages: the outbox (what would have been emailed or texted). Mounted at /dev;
// they answer only when ENVIRONMENT=development, and everywhere else /dev/* is a 404. The
// production build leaves them out altogether (src/app.ts, LATCHKEY_DEV_PAGES): nothing here runs
// at module level, so the bundler drops the whole module when devPages() is never called.
import { Hono } from "hono/tiny";
import { raw } from "hono/html";
import * as z from "zod/mini";
import { createApp, describeApp, findApp } from "../core/apps";
import { clearOutbox, listOutbox, type OutboxMessage } from "../core/outbox";
import { type AppEnv, bearerToken } from "../http";
import { constantTimeEqual } from "../lib/digest";
import "../lib/zod-locale";
import { h, type Markup } from "./reset-views";

const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const seedSchema = () =>
  z.strictObject({
    appId: z.string().check(z.regex(/^[a-z0-9]{8,64}$/)),
    appKey: text(8, 100),
    clientId: text(8, 100),
    clientSecret: text(8, 100),
    name: text(1, 100),
  });

/** The /dev routes (src/app.ts mounts them outside production builds). */
export function devPages(): Hono<AppEnv> {
  const dev = new Hono<AppEnv>();
  const schema = seedSchema();

  dev.use(async (c, next) => {
    if (!c.var.svc.config.development) return c.json({ error: "not_found", message: "No such resource" }, 404);
    await next();
  });

  /** Creates the demo app with fixed credentials (npm start), once; development only. */
  dev.post("/seed", async (c) => {
    const svc = c.var.svc;
    const given = bearerToken(c.req.header("Authorization"));
    if (!given || !svc.config.adminToken || !constantTimeEqual(given, svc.config.adminToken)) return c.json({ error: "unauthorized" }, 401);
    const parsed = schema.safeParse(await c.req.json().catch(() => null));
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
    // The page runs no script and loads nothing; previews live in sandboxed frames (below).
    c.header("Content-Security-Policy", PAGE_CSP);
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    return c.html(outboxHtml(messages, to, c.var.svc.config.publicUrl));
  });

  /** Clears the outbox: `curl -X DELETE http://127.0.0.1:8787/dev/outbox`. */
  dev.delete("/outbox", async (c) => {
    await clearOutbox(c.var.svc);
    return c.body(null, 204);
  });
  return dev;
}

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * What a message's HTML part may do inside its preview: show itself with inline styles and inline
 * images, nothing else. No script (the frame's sandbox forbids it as well), no fetch of any
 * remote image or font, which would tell a tracker that someone looked.
 */
const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/**
 * The CSP alone did not always hold: Chromium's preload scanner was seen to start a request for a
 * remote <img> before the policy applied. So remote addresses are also taken out of the
 * attributes that load something (and <link> elements dropped) before the part is previewed;
 * links (href on <a>) stay, and the sandbox stops them from navigating the frame.
 */
const neutralize = (html: string) =>
  html
    .replace(/<link\b[^>]*>/gi, "")
    .replace(/\bsrcset\s*=\s*(["'])(.*?)\1/gis, (_, q: string, list: string) => `srcset=${q}${list.replace(/(?:[a-z][a-z0-9+.-]*:)?\/\//gi, "about:blank#")}${q}`)
    .replace(/\b(src|srcset|poster|background|data|xlink:href)(\s*=\s*["']?)\s*(?:[a-z][a-z0-9+.-]*:)?\/\//gi, "$1$2about:blank#");

const previewDocument = (html: string) =>
  `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${PREVIEW_CSP}">` +
  `<base target="_blank"><style>body{font:15px/1.5 system-ui,sans-serif;margin:.5rem;overflow-wrap:anywhere}</style>${neutralize(html)}`;

const STYLE = `*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:1rem auto;padding:0 .75rem;color:#111;overflow-wrap:anywhere}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin:.75rem 0 .25rem;overflow-wrap:anywhere}
article{border:1px solid #ccc;border-radius:6px;padding:0 .75rem .75rem;margin:1rem 0}.meta{color:#555;margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit;background:#f6f6f6;padding:.5rem;border-radius:4px;margin:.5rem 0}
a{color:#0645ad}iframe{width:100%;height:12rem;border:1px solid #ddd;border-radius:4px;background:#fff}
details{margin:.5rem 0}summary{cursor:pointer}form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
input{font:inherit;padding:.25rem .5rem;min-width:0;flex:1 1 12rem}button{font:inherit;padding:.25rem .75rem}code{overflow-wrap:anywhere}`;

const LINK = /https?:\/\/[^\s<>"']+/g;

/** Message text with every http(s) URL as a link; the rest stays text (hono/html escapes both). */
function linked(text: string): Markup {
  const parts: (string | Markup)[] = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    // A sentence's closing punctuation is not part of the link.
    const href = match[0].replace(/[.,;:!?)\]]+$/, "");
    parts.push(text.slice(last, match.index), h`<a href="${href}" rel="noreferrer">${href}</a>`);
    last = match.index + href.length;
  }
  parts.push(text.slice(last));
  return h`<pre>${parts}</pre>`;
}

/** hono/html escapes every value, so message text (which holds user input) cannot become markup. */
function outboxPage(messages: OutboxMessage[], to: string | undefined, origin: string): Markup {
  const list = messages.length === 0
    ? h`<p>No messages yet.</p>`
    : messages.map(
        (m, i) =>
          // sandbox="" : no script, no forms, no navigation, an opaque origin.
          h`<article><h2>${m.subject}</h2><p class="meta">${m.channel} to <strong>${m.to}</strong> · ${m.template} · app ${m.appId} · ${m.createdAt}</p>${linked(m.text)}${
            m.html
              ? h`<details${i === 0 ? raw(' open=""') : ""}><summary>HTML part</summary><iframe sandbox="" srcdoc="${previewDocument(m.html)}" title="${`HTML part of ${m.subject}`}" referrerpolicy="no-referrer"></iframe></details>`
              : null
          }</article>`,
      );
  return h`<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width,initial-scale=1"/><title>Latchkey dev outbox</title><style>${raw(STYLE)}</style></head><body><h1>Dev outbox${to ? ` for ${to}` : ""}</h1><p>${messages.length} ${messages.length === 1 ? "message" : "messages"}, newest first. Nothing here was really sent. Clear it with <code>curl -X DELETE ${origin}/dev/outbox</code>.</p><form method="get" action="/dev/outbox"><input type="hidden" name="format" value="html"/><label for="to">To</label><input id="to" name="to" type="search" value="${to ?? ""}" placeholder="address or +phone"/><button type="submit">Filter</button></form>${list}</body></html>`;
}

/** The outbox page's HTML (exported for the tests). */
export const outboxHtml = (messages: OutboxMessage[], to: string | undefined, origin: string): string =>
  "<!doctype html>\n" + outboxPage(messages, to, origin).toString();
