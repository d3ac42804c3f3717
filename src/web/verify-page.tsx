/** @jsxImportSource hono/jsx */
// The hosted "confirm your address" page, reached from verification emails:
// {origin}/verify/{appId}/{userId}/{code}. GET shows one button and changes nothing, so a mail
// scanner that prefetches the link confirms nothing and uses no attempt; the POST it sends
// verifies (core verifyAddress, counted like any guess). Same standards as the reset page: no
// script, `default-src 'none'`, English and Japanese, every value escaped by hono/jsx.
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type App, findApp } from "../core/apps";
import { isCoreError } from "../core/errors";
import { coreErrorOf } from "../core/shards";
import { findUserById, type User } from "../core/users";
import { verifyAddress } from "../core/verification";
import type { AppContext, AppEnv } from "../http";
import { type Locale, pickLocale } from "../i18n/locale";
import { VERIFY_STRINGS, type VerifyPageState } from "../i18n/verify-page";
import { logError } from "../lib/log";
import { localeFromAcceptLanguage } from "./reset-page";
import { contentSecurityPolicy, Document, render } from "./reset-views";

export const verifyPage = new Hono<AppEnv>();

const CODE_SHAPE = /^[A-Za-z0-9_-]{6,128}$/;
const ID_MAX = 200;

interface Link {
  app: App | null;
  user: User | null;
  code: string;
  locale: Locale;
  action: string;
}

async function loadLink(c: AppContext): Promise<Link> {
  const { appId = "", userId = "", code = "" } = c.req.param();
  const shapely = appId.length <= ID_MAX && userId.length <= ID_MAX && CODE_SHAPE.test(code);
  const app = shapely ? await findApp(c.var.svc, appId) : null;
  const user = app ? await findUserById(c.var.svc, app, userId) : null;
  const locale = pickLocale(user?.locale, localeFromAcceptLanguage(c), app?.settings.defaultLocale);
  const action = `/verify/${encodeURIComponent(appId)}/${encodeURIComponent(userId)}/${encodeURIComponent(code)}`;
  return { app, user, code, locale, action };
}

const STATUS: Record<VerifyPageState, ContentfulStatusCode> = {
  confirm: 200,
  verified: 200,
  already: 200,
  expired: 410,
  invalid: 404,
  disabled: 403,
  taken: 409,
  error: 500,
};

function page(c: AppContext, locale: Locale, state: VerifyPageState, appName: string | null, action?: string) {
  const s = VERIFY_STRINGS[locale];
  const p = s.pages[state];
  const name = appName ?? (locale === "ja" ? "アプリ" : "the app");
  const body = render(
    <Document locale={locale} title={p.title} appName={appName}>
      <h1>{p.title}</h1>
      {p.body(name).map((line) => (
        <p>{line}</p>
      ))}
      {action ? (
        <form method="post" action={action}>
          <button type="submit">{s.button}</button>
        </form>
      ) : null}
    </Document>,
  );
  c.header("Content-Security-Policy", contentSecurityPolicy());
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Content-Language", locale);
  return c.html(body, STATUS[state]);
}

verifyPage.get("/:appId/:userId/:code", async (c) => {
  const link = await loadLink(c);
  // The same page for a known and an unknown user: only the POST tells, and only the link's owner.
  if (!link.app || !CODE_SHAPE.test(link.code)) return page(c, link.locale, "invalid", link.app?.name ?? null);
  return page(c, link.locale, "confirm", link.app.name, link.action);
});

verifyPage.post("/:appId/:userId/:code", async (c) => {
  const link = await loadLink(c);
  const { app, user } = link;
  // An unknown user is answered like a wrong code: the page tells nobody which accounts exist.
  if (!app || !user) return page(c, link.locale, "invalid", app?.name ?? null);
  try {
    await verifyAddress(c.var.svc, app, { user, channel: "email", code: link.code });
  } catch (e) {
    if (!isCoreError(e)) throw e;
    const state: VerifyPageState | null =
      e.kind === "address_verified"
        ? "already"
        : e.kind === "code_expired"
          ? "expired"
          : e.kind === "code_invalid" || e.kind === "code_not_found"
            ? "invalid"
            : e.kind === "user_disabled"
              ? "disabled"
              : e.kind === "user_exists"
                ? "taken"
                : null;
    if (!state) throw e;
    return page(c, link.locale, state, app.name);
  }
  return page(c, link.locale, "verified", app.name);
});

verifyPage.all("*", (c) => page(c, pickLocale(localeFromAcceptLanguage(c)), "invalid", null));

verifyPage.onError((err, c) => {
  const core = coreErrorOf(err);
  if (core?.kind === "unavailable") {
    // A move pausing the app's writes, or its shard behind on its schema: temporary.
    const res = page(c, pickLocale(localeFromAcceptLanguage(c)), "error", null);
    return new Response(res.body, { status: 503, headers: { ...Object.fromEntries(res.headers), "Retry-After": String(core.details.retryAfterSeconds ?? 5) } });
  }
  logError({ route: "verify-page" }, err);
  return page(c, pickLocale(localeFromAcceptLanguage(c)), "error", null);
});
