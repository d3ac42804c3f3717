// The hosted reset page's HTML in English and Japanese: one self-contained document per state,
// no external assets and no script, so it works under a `default-src 'none'` policy and without
// JavaScript.
import { sha256 } from "@noble/hashes/sha2.js";
import type { PolicyViolation } from "../core/errors";
import { escapeHtml, type Locale } from "../delivery/templates";

/** Every page the link can lead to; the terminal ones double as the failure-redirect `reason`. */
export type PageState = "form" | "success" | "expired" | "used" | "superseded" | "unknown" | "disabled" | "too_large" | "error";

export type FormProblem = { kind: "empty" } | { kind: "mismatch" } | { kind: "policy"; policy: PolicyViolation; limit?: number | undefined };

interface Strings {
  formTitle: string;
  formIntro: (appName: string) => string;
  passwordLabel: string;
  passwordHint: (min: number) => string;
  confirmLabel: string;
  submit: string;
  errorPrefix: string;
  problems: {
    empty: string;
    mismatch: string;
    policy: Record<PolicyViolation, (limit: number) => string>;
  };
  pages: Record<Exclude<PageState, "form">, { title: string; body: (appName: string) => string[] }>;
}

const STRINGS: Record<Locale, Strings> = {
  en: {
    formTitle: "Choose a new password",
    formIntro: (app) => `Enter a new password for your ${app} account.`,
    passwordLabel: "New password",
    passwordHint: (min) => `At least ${min} characters. A long phrase is easier to remember and harder to guess.`,
    confirmLabel: "Confirm new password",
    submit: "Change password",
    errorPrefix: "Error:",
    problems: {
      empty: "Enter a new password.",
      mismatch: "The two passwords do not match. Type the same password in both fields.",
      policy: {
        min_length: (n) => `The password is too short: use at least ${n} characters.`,
        max_length: (n) => `The password is too long: use at most ${n} characters.`,
        lowercase: () => "The password needs at least one lower-case letter.",
        uppercase: () => "The password needs at least one upper-case letter.",
        number: () => "The password needs at least one digit.",
        symbol: () => "The password needs at least one symbol.",
        same_as_old: () => "The new password must differ from the current one.",
        breached: () => "This password appears in known data breaches. Choose a different one.",
      },
    },
    pages: {
      success: {
        title: "Password changed",
        body: (app) => [
          `Your ${app} password has been changed. You can now sign in with your new password.`,
          "For your security, you have been signed out on every device.",
        ],
      },
      expired: {
        title: "This link has expired",
        body: (app) => ["Password reset links only work for a limited time.", `To reset your password, request a new link in ${app}.`],
      },
      used: {
        title: "This link can no longer be used",
        body: (app) => [
          "It has already been used, or the password was changed after it was sent.",
          `If you still need to reset your password, request a new link in ${app}.`,
        ],
      },
      superseded: {
        title: "This link has been replaced",
        body: (app) => [
          "A newer password reset link was sent after this one.",
          `Use the link in the most recent message, or request a new one in ${app}.`,
        ],
      },
      unknown: {
        title: "This link is not valid",
        body: () => [
          "Check that you opened the complete link from the message.",
          "If it still does not work, request a new password reset link in the app.",
        ],
      },
      disabled: {
        title: "This account is disabled",
        body: (app) => [`The password of this account cannot be reset. Contact the support of ${app}.`],
      },
      too_large: {
        title: "The form could not be sent",
        body: () => ["What was submitted is too large. Go back and try again."],
      },
      error: {
        title: "Something went wrong",
        body: () => ["Your password was not changed. Try again in a few minutes."],
      },
    },
  },
  ja: {
    formTitle: "新しいパスワードの設定",
    formIntro: (app) => `${app} アカウントの新しいパスワードを入力してください。`,
    passwordLabel: "新しいパスワード",
    passwordHint: (min) => `${min} 文字以上。長いフレーズにすると覚えやすく、推測されにくくなります。`,
    confirmLabel: "新しいパスワード（確認）",
    submit: "パスワードを変更",
    errorPrefix: "エラー:",
    problems: {
      empty: "新しいパスワードを入力してください。",
      mismatch: "2 つのパスワードが一致しません。両方の欄に同じパスワードを入力してください。",
      policy: {
        min_length: (n) => `パスワードが短すぎます。${n} 文字以上にしてください。`,
        max_length: (n) => `パスワードが長すぎます。${n} 文字以下にしてください。`,
        lowercase: () => "英小文字を 1 文字以上含めてください。",
        uppercase: () => "英大文字を 1 文字以上含めてください。",
        number: () => "数字を 1 文字以上含めてください。",
        symbol: () => "記号を 1 文字以上含めてください。",
        same_as_old: () => "現在のパスワードとは異なるパスワードを設定してください。",
        breached: () => "このパスワードは過去の情報漏えいで流出しています。別のパスワードにしてください。",
      },
    },
    pages: {
      success: {
        title: "パスワードを変更しました",
        body: (app) => [`${app} のパスワードを変更しました。新しいパスワードでサインインできます。`, "安全のため、すべての端末でサインアウトしました。"],
      },
      expired: {
        title: "このリンクは有効期限切れです",
        body: (app) => ["パスワード再設定リンクの有効期間は限られています。", `${app} から新しいリンクを請求してください。`],
      },
      used: {
        title: "このリンクはもう使えません",
        body: (app) => [
          "すでに使用されたか、送信後にパスワードが変更されています。",
          `パスワードの再設定が必要な場合は、${app} から新しいリンクを請求してください。`,
        ],
      },
      superseded: {
        title: "このリンクは新しいリンクに置き換えられました",
        body: (app) => ["このあとに新しい再設定リンクが送信されています。", `最新のメッセージにあるリンクを使うか、${app} から新しいリンクを請求してください。`],
      },
      unknown: {
        title: "このリンクは無効です",
        body: () => [
          "メッセージにあるリンクを最後まで正しく開いたか確認してください。",
          "それでも開けない場合は、アプリから新しいパスワード再設定リンクを請求してください。",
        ],
      },
      disabled: {
        title: "このアカウントは無効化されています",
        body: (app) => [`このアカウントのパスワードは再設定できません。${app} のサポートにお問い合わせください。`],
      },
      too_large: {
        title: "フォームを送信できませんでした",
        body: () => ["送信された内容が大きすぎます。前の画面に戻ってもう一度お試しください。"],
      },
      error: {
        title: "問題が発生しました",
        body: () => ["パスワードは変更されていません。しばらくしてからもう一度お試しください。"],
      },
    },
  },
};

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

const STYLE_HASH = `'sha256-${btoa(String.fromCharCode(...sha256(new TextEncoder().encode(STYLE))))}'`;

/**
 * Nothing may load but the inline style above; forms may post only here (and, because Chrome
 * applies form-action to the redirect that follows a POST, to the app's redirect origins).
 */
export function contentSecurityPolicy(formTargets: string[] = []): string {
  const formAction = ["'self'", ...formTargets].join(" ");
  return `default-src 'none'; style-src ${STYLE_HASH}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

function document(locale: Locale, title: string, appName: string | null, main: string): string {
  const fullTitle = appName ? `${title} – ${appName}` : title;
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<title>${escapeHtml(fullTitle)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${main}
</main>
</body>
</html>`;
}

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
  const error = problem
    ? `<p class="error" id="${onConfirm ? "confirm-error" : "password-error"}">${escapeHtml(s.errorPrefix)} ${escapeHtml(problemText(view.locale, problem))}</p>`
    : "";
  const passwordDescribedBy = ["password-hint", ...(problem && !onConfirm ? ["password-error"] : [])].join(" ");
  const invalid = (yes: boolean) => (yes ? ' aria-invalid="true" autofocus' : "");
  const main = `<h1>${escapeHtml(s.formTitle)}</h1>
<p>${escapeHtml(s.formIntro(view.appName))}</p>
<form method="post" action="${escapeHtml(view.action)}">
<label for="password">${escapeHtml(s.passwordLabel)}</label>
<p class="hint" id="password-hint">${escapeHtml(s.passwordHint(view.minLength))}</p>
${onConfirm ? "" : error}<input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="${passwordDescribedBy}"${invalid(!!problem && !onConfirm)}>
<label for="confirm">${escapeHtml(s.confirmLabel)}</label>
${onConfirm ? error : ""}<input id="confirm" name="confirm" type="password" autocomplete="new-password" required${onConfirm ? ' aria-describedby="confirm-error"' : ""}${invalid(onConfirm)}>
<button type="submit">${escapeHtml(s.submit)}</button>
</form>`;
  return document(view.locale, s.formTitle, view.appName, main);
}

export function renderPage(locale: Locale, state: Exclude<PageState, "form">, appName: string | null): string {
  const page = STRINGS[locale].pages[state];
  const paragraphs = page.body(appName ?? (locale === "ja" ? "アプリ" : "the app"));
  const main = `<h1>${escapeHtml(page.title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("\n")}`;
  return document(locale, page.title, appName, main);
}
