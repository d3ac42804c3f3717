// The hosted pages' HTML: one self-contained document per state, no external assets, under a
// `default-src 'none'` policy that allows only the inline style and the one inline script below,
// by hash. Everything works without the script: it only moves a code from the link's fragment into
// the form (core/links.ts). hono/html's `html` escapes every value it is given (only other `html`
// results and the constant style and script go in unescaped); the words come from i18n/reset-page.ts.
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { PolicyViolation } from "../core/errors";
import type { Locale } from "../i18n/locale";
import { type FormProblem as PageProblem, type PageState, STRINGS } from "../i18n/reset-page";
import { sha256Base64 } from "../lib/digest";

export type { PageState };

/** What the form reports; `policy` takes the core's rule names (checked against the page's words). */
export type FormProblem = PageProblem & ({ kind: "empty" | "mismatch" | "code_missing" | "code_wrong" } | { kind: "policy"; policy: PolicyViolation });

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
 * Links carry their code in the fragment (core/links.ts), which the browser never sends. This
 * takes it out of the address bar (so it is neither bookmarked, shared nor left in history), and
 * puts it into the form's code field, which it hides: the code is then POSTed with the form.
 * Without it, the person types the code from the message into that field.
 */
const SCRIPT = `(function(){var h=location.hash.slice(1);if(!h)return;history.replaceState(null,"",location.pathname+location.search);var f=document.getElementById("code");if(!f||f.type==="hidden")return;try{h=decodeURIComponent(h)}catch(e){}f.value=h;f.type="hidden";var w=document.getElementById("code-field");if(w)w.hidden=true})();`;

const SCRIPT_HASH = `'sha256-${sha256Base64(SCRIPT)}'`;

/**
 * Nothing may load or run but the inline style and script above; forms may post only here (and,
 * because Chrome applies form-action to the redirect that follows a POST, to the app's redirect
 * origins).
 */
export function contentSecurityPolicy(formTargets: string[] = []): string {
  const formAction = ["'self'", ...formTargets].join(" ");
  return `default-src 'none'; style-src ${STYLE_HASH}; script-src ${SCRIPT_HASH}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

/** A piece of markup: `html`'s result, built from constant and escaped parts only. */
export type Markup = HtmlEscapedString;

/** hono/html's `html`, typed as the string it is here (no part of these pages is asynchronous). */
export const h = (strings: TemplateStringsArray, ...values: unknown[]): Markup => html(strings, ...values) as Markup;

/** ` name="value"` when the value is given (escaped), nothing otherwise. */
const attr = (name: string, value: string | undefined): Markup | "" => (value === undefined ? "" : h`${raw(` ${name}="`)}${value}${raw('"')}`);
/** A boolean attribute, spelt `name=""` when on. */
const flag = (name: string, on: boolean): Markup | "" => (on ? raw(` ${name}=""`) : "");

export function Document(props: { locale: Locale; title: string; appName: string | null; children: Markup }): Markup {
  const fullTitle = props.appName ? `${props.title} – ${props.appName}` : props.title;
  return h`<html lang="${props.locale}"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width,initial-scale=1"/><meta name="robots" content="noindex,nofollow"/><title>${fullTitle}</title><style>${raw(STYLE)}</style></head><body><main>${props.children}</main><script>${raw(SCRIPT)}</script></body></html>`;
}

export const render = (page: Markup) => "<!doctype html>\n" + page.toString();

export interface FormView {
  locale: Locale;
  appName: string;
  action: string;
  minLength: number;
  problem?: FormProblem | undefined;
  /**
   * For links that carry the code in the fragment: the code field's value, and whether the code is
   * known to be the live one (then it rides along hidden). Absent for links with the code in the path.
   */
  code?: { value: string; known: boolean } | undefined;
}

export function problemText(locale: Locale, problem: FormProblem): string {
  const s = STRINGS[locale].problems;
  if (problem.kind === "policy") return s.policy[problem.policy](problem.limit ?? 0);
  return s[problem.kind];
}

export function renderForm(view: FormView): string {
  const s = STRINGS[view.locale];
  const problem = view.problem;
  // A mismatch is the confirmation's fault, a missing or wrong code the code's; anything else is the new password's.
  const onConfirm = problem?.kind === "mismatch";
  const onCode = problem?.kind === "code_missing" || problem?.kind === "code_wrong";
  const onPassword = !!problem && !onConfirm && !onCode;
  const error = problem
    ? h`<p class="error" id="${onConfirm ? "confirm-error" : onCode ? "code-error" : "password-error"}">${s.errorPrefix} ${problemText(view.locale, problem)}</p>`
    : null;
  const passwordDescribedBy = ["password-hint", ...(onPassword ? ["password-error"] : [])].join(" ");
  const codeField = view.code
    ? CodeField({
        label: s.codeLabel,
        hint: s.codeHint,
        value: onCode && problem?.kind === "code_wrong" ? "" : view.code.value,
        known: view.code.known && !onCode,
        error: onCode ? error : null,
      })
    : null;
  return render(
    Document({
      locale: view.locale,
      title: s.formTitle,
      appName: view.appName,
      children: h`<h1>${s.formTitle}</h1><p>${s.formIntro(view.appName)}</p><form method="post" action="${view.action}">${codeField}<label for="password">${s.passwordLabel}</label><p class="hint" id="password-hint">${s.passwordHint(view.minLength)}</p>${onPassword ? error : null}<input id="password" name="password" type="password" autocomplete="new-password" required=""${attr("aria-describedby", passwordDescribedBy)}${attr("aria-invalid", onPassword ? "true" : undefined)}${flag("autofocus", onPassword)}/><label for="confirm">${s.confirmLabel}</label>${onConfirm ? error : null}<input id="confirm" name="confirm" type="password" autocomplete="new-password" required=""${attr("aria-describedby", onConfirm ? "confirm-error" : undefined)}${attr("aria-invalid", onConfirm ? "true" : undefined)}${flag("autofocus", onConfirm)}/><button type="submit">${s.submit}</button></form>`,
    }),
  );
}

/**
 * The code, for links that carry it in the fragment: a field the page's script fills and hides
 * (and a person without JavaScript fills from the message), or, once the code is known to be
 * right, a hidden field that keeps it across a form that comes back with a problem.
 */
export function CodeField(props: { label: string; hint: string; value: string; known: boolean; error: Markup | null }): Markup {
  if (props.known) return h`<input id="code" name="code" type="hidden" value="${props.value}"/>`;
  const describedBy = ["code-hint", ...(props.error ? ["code-error"] : [])].join(" ");
  return h`<div id="code-field"><label for="code">${props.label}</label><p class="hint" id="code-hint">${props.hint}</p>${props.error}<input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required="" value="${props.value}"${attr("aria-describedby", describedBy)}${attr("aria-invalid", props.error ? "true" : undefined)}${flag("autofocus", !!props.error)}/></div>`;
}

export function renderPage(locale: Locale, state: Exclude<PageState, "form">, appName: string | null): string {
  const page = STRINGS[locale].pages[state];
  const paragraphs = page.body(appName ?? (locale === "ja" ? "アプリ" : "the app"));
  return render(Document({ locale, title: page.title, appName, children: h`<h1>${page.title}</h1>${paragraphs.map((p) => h`<p>${p}</p>`)}` }));
}
