// The hosted password-reset page (SPEC §6), reached from reset links
// {origin}/reset/{appId}/{userId}/{tag}#{code} (core/links.ts: the code rides in the fragment,
// which no request line carries; the page's script or the person puts it into the form, which
// POSTs it). Links in the older form {origin}/reset/{appId}/{userId}/{code} are still served
// until they expire. A thin face like the others: it parses the form, calls the core
// (inspectLinkTag and linkCode, or inspectResetLink for older links; completeResetLink) and maps
// CoreErrors to page states. A link that is not the live code's (an older link, or one made up)
// shows the dead-link page on GET and POST and counts against nothing.
//
// No CSRF token: the code is the secret that authorises the change, so a cross-site form cannot
// post here without already holding it.
import { Hono } from "hono/tiny";
import { accepts } from "hono/accepts";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type App, findApp } from "../core/apps";
import { CoreError, isCoreError } from "../core/errors";
import { coreErrorOf } from "../core/shards";
import { normalizeTypedCode } from "../core/links";
import { completeResetLink, inspectLinkTag, inspectResetLink, linkCode, type LiveLink } from "../core/reset";
import { findUserById, type User } from "../core/users";
import type { AppContext, AppEnv } from "../http";
import { type Locale, LOCALES, localeOf, pickLocale } from "../i18n/locale";
import { logError } from "../lib/log";
import { contentSecurityPolicy, type FormProblem, type PageState, renderForm, renderPage } from "./reset-views";

export const resetPage = new Hono<AppEnv>();

/**
 * Two password fields of at most 1024 code points each (the policy's ceiling), every one of
 * them percent-encoded UTF-8 (up to 12 bytes), fit well inside this.
 */
export const MAX_FORM_BYTES = 32 * 1024;

// Link codes are base64url tokens; ZITADEL codes are 6 characters of A-Z0-9 followed by ".tag".
// Anything else cannot be a code, and is answered without touching storage.
const CODE_SHAPE = /^[A-Za-z0-9._-]{6,128}$/;
/**
 * A new-form link's last segment is the code's tag (storage/codes.ts linkTag: 16 base64url
 * characters); no code of an older link has that length (link tokens had 22 or 43, tagged short
 * codes 23), so the two forms cannot be confused.
 */
const TAG_SHAPE = /^[A-Za-z0-9_-]{16}$/;
const ID_MAX = 200;
/** The longest typed code worth reading (a readable token with spaces around its groups). */
const TYPED_CODE_MAX = 100;

type LinkState = Exclude<PageState, "form" | "success">;

interface Link {
  app: App | null;
  user: User | null;
  /** The last path segment: a tag (new form) or a code (older form). */
  code: string;
  /** Whether the last segment is a tag, and the code comes in the form. */
  tagged: boolean;
  locale: Locale;
  action: string;
}

/**
 * Best language from Accept-Language among those we have, by q-value (hono's accepts helper
 * parses the header; a tag counts by its primary subtag, so ja-JP is ja), or null.
 */
export function localeFromAcceptLanguage(c: AppContext): Locale | null {
  const chosen = accepts(c, {
    header: "Accept-Language",
    supports: [...LOCALES],
    default: "",
    match: (ranked, config) => {
      let best: { tag: string; q: number } | null = null;
      for (const { type, q } of ranked.slice(0, 20)) {
        const tag = type.toLowerCase().split("-")[0] ?? "";
        if (!config.supports.includes(tag) || !(q > 0)) continue;
        if (!best || q > best.q) best = { tag, q };
      }
      return best?.tag ?? config.default;
    },
  });
  return localeOf(chosen);
}

async function loadLink(c: AppContext): Promise<Link> {
  const { appId = "", userId = "", code = "" } = c.req.param();
  const svc = c.var.svc;
  const shapely = appId.length <= ID_MAX && userId.length <= ID_MAX && CODE_SHAPE.test(code);
  const app = shapely ? await findApp(svc, appId) : null;
  const user = app ? await findUserById(svc, app, userId) : null;
  const locale = pickLocale(user?.locale, localeFromAcceptLanguage(c), app?.settings.defaultLocale);
  const action = `/reset/${encodeURIComponent(appId)}/${encodeURIComponent(userId)}/${encodeURIComponent(code)}`;
  return { app, user, code, tagged: TAG_SHAPE.test(code), locale, action };
}

function html(c: AppContext, body: string, status: ContentfulStatusCode, locale: Locale, app: App | null) {
  const redirects = app?.settings.resetRedirects;
  const targets = [redirects?.success, redirects?.failure].filter((u): u is string => !!u).map((u) => new URL(u).origin);
  c.header("Content-Security-Policy", contentSecurityPolicy([...new Set(targets)]));
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Content-Language", locale);
  return c.html(body, status);
}

const STATUS: Record<LinkState, ContentfulStatusCode> = {
  expired: 410,
  used: 410,
  superseded: 410,
  unknown: 404,
  disabled: 403,
  too_large: 413,
  error: 500,
};

/** A page for a link that cannot be used, or the app's failure redirect with the reason. */
function linkPage(c: AppContext, link: Pick<Link, "app" | "locale">, state: LinkState) {
  const failure = link.app?.settings.resetRedirects.failure;
  if (failure && state !== "too_large" && state !== "error") {
    const target = new URL(failure);
    target.searchParams.set("reason", state);
    return redirect(c, target.toString());
  }
  return html(c, renderPage(link.locale, state, link.app?.name ?? null), STATUS[state], link.locale, link.app);
}

function redirect(c: AppContext, location: string) {
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  return c.redirect(location, 303);
}

function formPage(c: AppContext, link: Link & { app: App }, problem?: FormProblem, code?: { value: string; known: boolean }) {
  const body = renderForm({
    locale: link.locale,
    appName: link.app.name,
    action: link.action,
    minLength: link.app.settings.passwordPolicy.minLength,
    problem,
    code: link.tagged ? (code ?? { value: "", known: false }) : undefined,
  });
  return html(c, body, problem ? 400 : 200, link.locale, link.app);
}

function stateOf(e: CoreError): LinkState | null {
  switch (e.kind) {
    case "code_expired":
      return "expired";
    case "code_not_found":
      return "used";
    case "code_invalid":
      return "superseded";
    case "user_disabled":
      return "disabled";
    default:
      return null;
  }
}

const policyProblem = (e: CoreError): FormProblem => ({
  kind: "policy",
  policy: e.details.policy ?? "min_length",
  limit: (e.details.minimumLength ?? e.details.maximumLength) as number | undefined,
});

/** Runs `work`, turning the CoreErrors that mean "this link is unusable" into their page. */
async function orLinkPage(c: AppContext, link: Link, work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (e) {
    const state = isCoreError(e) ? stateOf(e) : null;
    if (state) return linkPage(c, link, state);
    throw e;
  }
}

resetPage.get("/:appId/:userId/:code", async (c) => {
  const link = await loadLink(c);
  const { app, user } = link;
  if (!app || !user) return linkPage(c, link, "unknown");
  return orLinkPage(c, link, async () => {
    if (link.tagged) await inspectLinkTag(c.var.svc, app, user, link.code);
    else await inspectResetLink(c.var.svc, app, user, link.code);
    return formPage(c, { ...link, app }, undefined);
  });
});

resetPage.post(
  "/:appId/:userId/:code",
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: (c) => {
      const locale = pickLocale(localeFromAcceptLanguage(c));
      return html(c, renderPage(locale, "too_large", null), 413, locale, null);
    },
  }),
  async (c) => {
    const link = await loadLink(c);
    const { app, user } = link;
    if (!app || !user) return linkPage(c, link, "unknown");
    const svc = c.var.svc;
    // parseBody reads application/x-www-form-urlencoded (what a plain HTML form sends) and
    // multipart/form-data; any other body yields no fields and is answered as an empty form.
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const password = typeof form.password === "string" ? form.password : "";
    const confirm = typeof form.confirm === "string" ? form.confirm : "";
    const typed = typeof form.code === "string" && form.code.length <= TYPED_CODE_MAX ? normalizeTypedCode(form.code) : "";
    return orLinkPage(c, link, async () => {
      // A dead link is reported before any complaint about the form, which could not help.
      let live: LiveLink;
      let code = { value: typed, known: false };
      if (link.tagged) {
        const tagged = await inspectLinkTag(svc, app, user, link.code);
        if (!typed) return formPage(c, { ...link, app }, { kind: "code_missing" }, code);
        try {
          live = await linkCode(svc, app, user, tagged, typed);
        } catch (e) {
          if (isCoreError(e) && e.kind === "code_invalid") return formPage(c, { ...link, app }, { kind: "code_wrong" }, code);
          throw e;
        }
        // A link token has been compared now; a short code is compared only by the completion.
        code = { value: typed, known: live.kind !== "code" };
      } else {
        live = await inspectResetLink(svc, app, user, link.code);
      }
      if (!password) return formPage(c, { ...link, app }, { kind: "empty" }, code);
      if (password !== confirm) return formPage(c, { ...link, app }, { kind: "mismatch" }, code);
      try {
        // The core checks the policy before it touches the code: a rejected password burns nothing.
        await completeResetLink(svc, app, { user, link: live, newPassword: password });
      } catch (e) {
        if (isCoreError(e) && e.kind === "password_policy") return formPage(c, { ...link, app }, policyProblem(e), code);
        // A short code typed (or carried) under the live tag is a counted guess: say it was wrong
        // while attempts are left; after the last, the page for a used-up code.
        if (isCoreError(e) && e.kind === "code_invalid" && link.tagged && Number(e.details.attemptsLeft) > 0) {
          return formPage(c, { ...link, app }, { kind: "code_wrong" }, code);
        }
        if (isCoreError(e) && e.kind === "code_invalid" && link.tagged) return linkPage(c, link, "used");
        throw e;
      }
      const success = app.settings.resetRedirects.success;
      if (success) return redirect(c, success);
      return html(c, renderPage(link.locale, "success", app.name), 200, link.locale, app);
    });
  },
);

// Any other shape of /reset/... (missing or extra segments, other methods) is an unknown link.
resetPage.all("*", (c) => {
  const locale = pickLocale(localeFromAcceptLanguage(c));
  return html(c, renderPage(locale, "unknown", null), 404, locale, null);
});

resetPage.onError((err, c) => {
  const locale = pickLocale(localeFromAcceptLanguage(c));
  // The app's shard pausing writes for a move, or behind on its schema: "try again" is the truth.
  const core = coreErrorOf(err);
  if (core?.kind === "unavailable") {
    c.header("Retry-After", String(core.details.retryAfterSeconds ?? 5));
    return html(c, renderPage(locale, "error", null), 503, locale, null);
  }
  logError({ route: "reset-page" }, err);
  return html(c, renderPage(locale, "error", null), 500, locale, null);
});
