// The hosted address-verification page's words, in English and Japanese (web/verify-page.ts).
import type { Locale } from "./locale";

export type VerifyPageState = "confirm" | "verified" | "already" | "expired" | "invalid" | "disabled" | "taken" | "error";

interface VerifyStrings {
  button: string;
  /** The code field, shown where no script took the code from the link (core/links.ts). */
  codeLabel: string;
  codeHint: string;
  codeMissing: string;
  pages: Record<VerifyPageState, { title: string; body: (appName: string) => string[] }>;
}

export const VERIFY_STRINGS: Record<Locale, VerifyStrings> = {
  en: {
    button: "Confirm this address",
    codeLabel: "Code from the message",
    codeHint: "The code is in the message, next to the link you opened.",
    codeMissing: "Enter the code from the message.",
    pages: {
      confirm: { title: "Confirm your email address", body: (app) => [`Confirm that this email address belongs to you and may be used for your ${app} account.`] },
      verified: { title: "Email address confirmed", body: (app) => [`Thank you. Your email address is now confirmed for your ${app} account.`, "You can close this page."] },
      already: { title: "Already confirmed", body: () => ["This email address was already confirmed. Nothing more to do."] },
      expired: { title: "This link has expired", body: (app) => ["Confirmation links only work for a limited time.", `Ask ${app} to send a new one.`] },
      invalid: { title: "This link cannot be used", body: (app) => ["The link is not valid, was already used, or was replaced by a newer one.", `If you still need to confirm your address, ask ${app} to send a new link.`] },
      disabled: { title: "Account disabled", body: (app) => [`This ${app} account is disabled. Contact the app's support.`] },
      taken: { title: "Address in use", body: (app) => [`Another ${app} account already uses this email address.`] },
      error: { title: "Something went wrong", body: () => ["The address could not be confirmed because of an error on our side. Try again in a few minutes."] },
    },
  },
  ja: {
    button: "このアドレスを確認する",
    codeLabel: "メッセージに記載のコード",
    codeHint: "コードは、開いたリンクのそばに記載されています。",
    codeMissing: "メッセージに記載のコードを入力してください。",
    pages: {
      confirm: { title: "メールアドレスの確認", body: (app) => [`このメールアドレスがご本人のもので、${app} のアカウントに使ってよいことを確認してください。`] },
      verified: { title: "メールアドレスを確認しました", body: (app) => [`ありがとうございます。${app} アカウントのメールアドレスが確認されました。`, "このページは閉じてかまいません。"] },
      already: { title: "確認済みです", body: () => ["このメールアドレスはすでに確認されています。これ以上の操作は不要です。"] },
      expired: { title: "リンクの有効期限が切れています", body: (app) => ["確認リンクの有効期間は限られています。", `${app} で新しいリンクを送信してください。`] },
      invalid: { title: "このリンクは使えません", body: (app) => ["リンクが無効か、すでに使われたか、新しいリンクに置き換えられました。", `確認が必要な場合は、${app} で新しいリンクを送信してください。`] },
      disabled: { title: "アカウントは無効です", body: (app) => [`この ${app} アカウントは無効になっています。アプリのサポートに連絡してください。`] },
      taken: { title: "使用中のアドレスです", body: (app) => [`このメールアドレスは別の ${app} アカウントで使われています。`] },
      error: { title: "エラーが発生しました", body: () => ["サーバー側のエラーのため、アドレスを確認できませんでした。数分後にもう一度お試しください。"] },
    },
  },
};
