/** @jsxImportSource hono/jsx */
// The hosted reset page's HTML: one self-contained document per state, no external assets and no
// script, so it works under a `default-src 'none'` policy and without JavaScript. hono/jsx escapes
// every value by construction; the words come from i18n/reset-page.ts.
import type { Child } from "hono/jsx";
import type { PolicyViolation } from "../core/errors";
import type { Locale } from "../i18n/locale";
import { type FormProblem as PageProblem, type PageState, STRINGS } from "../i18n/reset-page";
import { sha256Base64 } from "../lib/digest";

export type { PageState };

/** What the form reports; `policy` takes the core's rule names (checked against the page's words). */
export type FormProblem = PageProblem & ({ kind: "empty" | "mismatch" } | { kind: "policy"; policy: PolicyViolation });

// Inputs and the button are at least 48 px high (WCAG 2.5.5 asks for 44); 18 px text keeps
// mobile browsers from zooming into the fields; errors carry a text prefix, not colour alone.
const STYLE = `*{box-sizing:border-box}
html{color-scheme:light dark}
body{margin:0;font:18px/1.6 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP","Yu Gothic",sans-serif;background:#f4f5f7;color:#1b1f24}
main{max-width:30rem;margin:2rem auto;padding:2rem 1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.6rem;line-height:1.3;margin:0 0 1rem}
p{margin:0 0 1rem}
label{display:block;font-weight:600;margin-top:1.25rem}
.hint{color:#4a5360;font-size:.95rem;margin:.25rem 0 .5rem}
.error{color:#b00020;font-weight:600;margin:.25rem 0 .5rem}
input{display:block;width:100%;min-height:3rem;padding:.5rem .75rem;font:inherit;border:2px solid #6b7380;border-radius:8px;background:#fff;color:inherit}
input[aria-invalid=true]{border-color:#b00020}
input:focus,button:focus{outline:3px solid #1a5fd0;outline-offset:2px}
button{display:block;width:100%;min-height:3rem;margin-top:1.75rem;padding:.5rem 1rem;font:inherit;font-weight:600;color:#fff;background:#1a5fd0;border:0;border-radius:8px;cursor:pointer}
button:hover{background:#154ca8}
@media (prefers-color-scheme:dark){body{background:#111418;color:#e8eaed}main{background:#1c2026;box-shadow:none}.hint{color:#b4bac3}.error{color:#ff8a80}input{background:#111418;border-color:#8b939f}input[aria-invalid=true]{border-color:#ff8a80}}`;

const STYLE_HASH = `'sha256-${sha256Base64(STYLE)}'`;

/**
 * Nothing may load but the inline style above; forms may post only here (and, because Chrome
 * applies form-action to the redirect that follows a POST, to the app's redirect origins).
 */
export function contentSecurityPolicy(formTargets: string[] = []): string {
  const formAction = ["'self'", ...formTargets].join(" ");
  return `default-src 'none'; style-src ${STYLE_HASH}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

export function Document(props: { locale: Locale; title: string; appName: string | null; children: Child }) {
  const fullTitle = props.appName ? `${props.title} – ${props.appName}` : props.title;
  return (
    <html lang={props.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <meta name="robots" content="noindex,nofollow" />
        <title>{fullTitle}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export const render = (page: ReturnType<typeof Document>) => "<!doctype html>\n" + page.toString();

export interface FormView {
  locale: Locale;
  appName: string;
  action: string;
  minLength: number;
  problem?: FormProblem | undefined;
}

export function problemText(locale: Locale, problem: FormProblem): string {
  const s = STRINGS[locale].problems;
  if (problem.kind === "policy") return s.policy[problem.policy](problem.limit ?? 0);
  return s[problem.kind];
}

export function renderForm(view: FormView): string {
  const s = STRINGS[view.locale];
  const problem = view.problem;
  // A mismatch is the confirmation's fault; anything else is the new password's.
  const onConfirm = problem?.kind === "mismatch";
  const onPassword = !!problem && !onConfirm;
  const error = problem ? (
    <p class="error" id={onConfirm ? "confirm-error" : "password-error"}>
      {s.errorPrefix} {problemText(view.locale, problem)}
    </p>
  ) : null;
  const passwordDescribedBy = ["password-hint", ...(onPassword ? ["password-error"] : [])].join(" ");
  return render(
    <Document locale={view.locale} title={s.formTitle} appName={view.appName}>
      <h1>{s.formTitle}</h1>
      <p>{s.formIntro(view.appName)}</p>
      <form method="post" action={view.action}>
        <label for="password">{s.passwordLabel}</label>
        <p class="hint" id="password-hint">
          {s.passwordHint(view.minLength)}
        </p>
        {onPassword ? error : null}
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          aria-describedby={passwordDescribedBy}
          aria-invalid={onPassword ? "true" : undefined}
          autofocus={onPassword}
        />
        <label for="confirm">{s.confirmLabel}</label>
        {onConfirm ? error : null}
        <input
          id="confirm"
          name="confirm"
          type="password"
          autocomplete="new-password"
          required
          aria-describedby={onConfirm ? "confirm-error" : undefined}
          aria-invalid={onConfirm ? "true" : undefined}
          autofocus={onConfirm}
        />
        <button type="submit">{s.submit}</button>
      </form>
    </Document>,
  );
}

export function renderPage(locale: Locale, state: Exclude<PageState, "form">, appName: string | null): string {
  const page = STRINGS[locale].pages[state];
  const paragraphs = page.body(appName ?? (locale === "ja" ? "アプリ" : "the app"));
  return render(
    <Document locale={locale} title={page.title} appName={appName}>
      <h1>{page.title}</h1>
      {paragraphs.map((p) => (
        <p>{p}</p>
      ))}
    </Document>,
  );
}
