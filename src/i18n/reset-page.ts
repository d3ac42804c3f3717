// The hosted reset page's words, in English and Japanese. web/reset-views.ts lays them out.
import type { Locale } from "./locale";

/** Which rule of the password policy a problem names (the same values as core's PolicyViolation). */
type PolicyRule = "min_length" | "max_length" | "lowercase" | "uppercase" | "number" | "symbol" | "same_as_old" | "breached";

export type PageState = "form" | "success" | "expired" | "used" | "superseded" | "unknown" | "disabled" | "too_large" | "error";

export type FormProblem =
  | { kind: "empty" }
  | { kind: "mismatch" }
  | { kind: "code_missing" }
  | { kind: "code_wrong" }
  | { kind: "policy"; policy: PolicyRule; limit?: number | undefined };

interface Strings {
  formTitle: string;
  formIntro: (appName: string) => string;
  /** The code field, shown where no script took the code from the link (core/links.ts). */
  codeLabel: string;
  codeHint: string;
  passwordLabel: string;
  passwordHint: (min: number) => string;
  confirmLabel: string;
  submit: string;
  errorPrefix: string;
  problems: {
    empty: string;
    mismatch: string;
    code_missing: string;
    code_wrong: string;
    policy: Record<PolicyRule, (limit: number) => string>;
  };
  pages: Record<Exclude<PageState, "form">, { title: string; body: (appName: string) => string[] }>;
}

export const STRINGS: Record<Locale, Strings> = {
  en: {
    formTitle: "Choose a new password",
    formIntro: (app) => `Enter a new password for your ${app} account.`,
    codeLabel: "Code from the message",
    codeHint: "The code is in the message, next to the link you opened.",
    passwordLabel: "New password",
    passwordHint: (min) => `At least ${min} characters. A long phrase is easier to remember and harder to guess.`,
    confirmLabel: "Confirm new password",
    submit: "Change password",
    errorPrefix: "Error:",
    problems: {
      empty: "Enter a new password.",
      mismatch: "The two passwords do not match. Type the same password in both fields.",
      code_missing: "Enter the code from the message.",
      code_wrong: "This is not the code in the latest message. Check it and type it again.",
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
    codeLabel: "メッセージに記載のコード",
    codeHint: "コードは、開いたリンクのそばに記載されています。",
    passwordLabel: "新しいパスワード",
    passwordHint: (min) => `${min} 文字以上。長いフレーズにすると覚えやすく、推測されにくくなります。`,
    confirmLabel: "新しいパスワード（確認）",
    submit: "パスワードを変更",
    errorPrefix: "エラー:",
    problems: {
      empty: "新しいパスワードを入力してください。",
      mismatch: "2 つのパスワードが一致しません。両方の欄に同じパスワードを入力してください。",
      code_missing: "メッセージに記載のコードを入力してください。",
      code_wrong: "最新のメッセージに記載のコードと一致しません。確認してもう一度入力してください。",
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
