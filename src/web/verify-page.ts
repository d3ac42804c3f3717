// The hosted "confirm your address" page, reached from verification emails:
// {origin}/verify/{appId}/{userId}#{code} (core/links.ts: the code rides in the fragment, which no
// request line carries; the page's script, or the person from the message, puts it into the form).
// Links in the older form {origin}/verify/{appId}/{userId}/{code} are still served until they
// expire. GET shows one button and changes nothing, so a mail scanner that prefetches the link
// confirms nothing and uses no attempt; the POST it sends verifies (core verifyAddress, counted
// like any guess). Same standards as the reset page: `default-src 'none'` with only its hashed
// inline style and script, works without JavaScript, English and Japanese, every value escaped by
// hono/html (web/reset-views.ts).
import { Hono } from "hono/tiny";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type App, findApp } from "../core/apps";
import { isCoreError } from "../core/errors";
import { coreErrorOf } from "../core/shards";
import { findUserById, type User } from "../core/users";
import { normalizeTypedCode } from "../core/links";
import { verifyAddress } from "../core/verification";
import type { AppContext, AppEnv } from "../http";
import { type Locale, pickLocale } from "../i18n/locale";
import { STRINGS } from "../i18n/reset-page";
import { VERIFY_STRINGS, type VerifyPageState } from "../i18n/verify-page";
import { logError } from "../lib/log";
import { localeFromAcceptLanguage } from "./reset-page";
import { CodeField, contentSecurityPolicy, Document, h, render } from "./reset-views";

export const verifyPage = new Hono<AppEnv>();

const CODE_SHAPE = /^[A-Za-z0-9_-]{6,128}$/;
const ID_MAX = 200;
const TYPED_CODE_MAX = 100;

interface Link {
  app: App | null;
  user: User | null;
  code: string;
  locale: Locale;
  action: string;
}

/** A link of either form: the code from the path (older links) or from the form (`code`). */
async function loadLink(c: AppContext, fromForm?: string): Promise<Link> {
  const { appId = "", userId = "", code: inPath } = c.req.param() as Record<string, string | undefined>;
  const code = inPath ?? fromForm ?? "";
  // A new link's GET has no code yet (it is in the fragment): only a code that is there is judged.
  const shapely = appId.length <= ID_MAX && userId.length <= ID_MAX && (code === "" || CODE_SHAPE.test(code));
  const app = shapely ? await findApp(c.var.svc, appId) : null;
  const user = app ? await findUserById(c.var.svc, app, userId) : null;
  const locale = pickLocale(user?.locale, localeFromAcceptLanguage(c), app?.settings.defaultLocale);
  const base = `/verify/${encodeURIComponent(appId)}/${encodeURIComponent(userId)}`;
  return { app, user, code, locale, action: inPath === undefined ? base : `${base}/${encodeURIComponent(inPath)}` };
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

export interface ConfirmForm {
  action: string;
  /** Links with the code in the fragment ask for it in the form; `missing` when it was not given. */
  askCode?: { missing: boolean };
}

/** The page's HTML for one state (exported for the tests). */
export function renderVerify(locale: Locale, state: VerifyPageState, appName: string | null, form?: ConfirmForm): string {
  const s = VERIFY_STRINGS[locale];
  const p = s.pages[state];
  const name = appName ?? (locale === "ja" ? "アプリ" : "the app");
  const missing = !!form?.askCode?.missing;
  const error = missing ? h`<p class="error" id="code-error">${STRINGS[locale].errorPrefix} ${s.codeMissing}</p>` : null;
  const formPart = form
    ? h`<form method="post" action="${form.action}">${form.askCode ? CodeField({ label: s.codeLabel, hint: s.codeHint, value: "", known: false, error }) : null}<button type="submit">${s.button}</button></form>`
    : null;
  return render(Document({ locale, title: p.title, appName, children: h`<h1>${p.title}</h1>${p.body(name).map((line) => h`<p>${line}</p>`)}${formPart}` }));
}

function page(c: AppContext, locale: Locale, state: VerifyPageState, appName: string | null, form?: ConfirmForm) {
  const missing = !!form?.askCode?.missing;
  const body = renderVerify(locale, state, appName, form);
  c.header("Content-Security-Policy", contentSecurityPolicy());
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Content-Language", locale);
  return c.html(body, missing ? 400 : STATUS[state]);
}

// New links: /verify/{app}/{user}, the code in the fragment (core/links.ts).
verifyPage.get("/:appId/:userId", async (c) => {
  const link = await loadLink(c);
  // The same page for a known and an unknown user: only the POST tells, and only the code's holder.
  if (!link.app) return page(c, link.locale, "invalid", null);
  return page(c, link.locale, "confirm", link.app.name, { action: link.action, askCode: { missing: false } });
});

// Older links, still served until they expire: /verify/{app}/{user}/{code}.
verifyPage.get("/:appId/:userId/:code", async (c) => {
  const link = await loadLink(c);
  if (!link.app || !CODE_SHAPE.test(link.code)) return page(c, link.locale, "invalid", link.app?.name ?? null);
  return page(c, link.locale, "confirm", link.app.name, { action: link.action });
});

// One short field: anything larger is not a confirmation.
const smallForm = bodyLimit({ maxSize: 4096, onError: (c) => page(c as AppContext, pickLocale(localeFromAcceptLanguage(c as AppContext)), "invalid", null) });

verifyPage.post("/:appId/:userId", smallForm, async (c) => {
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const typed = typeof form.code === "string" && form.code.length <= TYPED_CODE_MAX ? normalizeTypedCode(form.code) : "";
  const link = await loadLink(c, typed);
  if (link.app && !typed) return page(c, link.locale, "confirm", link.app.name, { action: link.action, askCode: { missing: true } });
  return verify(c, link);
});

verifyPage.post("/:appId/:userId/:code", async (c) => verify(c, await loadLink(c)));

async function verify(c: AppContext, link: Link) {
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
}

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
