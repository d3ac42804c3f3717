// Built-in message templates, English and Japanese, overridable per app (settings.templates).
// Variables are HTML-escaped in the HTML part, in built-in and override templates alike.
import type { TemplateName } from "./message";
import type { TemplateSettings } from "./settings";

export type Locale = "en" | "ja";

export interface TemplateVars {
  appName: string;
  link?: string;
  code?: string;
  minutes?: number;
}

interface Template {
  subject: string;
  text: string;
  html: string;
}

const BUILT_IN: Record<Locale, Record<TemplateName, Template>> = {
  en: {
    reset_link: {
      subject: "Reset your {{appName}} password",
      text: "Someone asked to reset the password of your {{appName}} account. To choose a new password, open this link within {{minutes}} minutes:\n{{link}}\nIf it was not you, ignore this message; your password stays as it is.",
      html: '<p>Someone asked to reset the password of your {{appName}} account.</p><p><a href="{{link}}">Choose a new password</a> (valid for {{minutes}} minutes).</p><p>If it was not you, ignore this message; your password stays as it is.</p>',
    },
    reset_pin: {
      subject: "Your {{appName}} reset code",
      text: "Your {{appName}} password reset code is {{code}}. It expires in {{minutes}} minutes.",
      html: "<p>Your {{appName}} password reset code is <strong>{{code}}</strong>. It expires in {{minutes}} minutes.</p>",
    },
    reset_code: {
      subject: "Your {{appName}} reset code",
      text: "Your {{appName}} password reset code is {{code}}. It expires in {{minutes}} minutes.",
      html: "<p>Your {{appName}} password reset code is <strong>{{code}}</strong>. It expires in {{minutes}} minutes.</p>",
    },
    password_changed: {
      subject: "Your {{appName}} password was changed",
      text: "The password of your {{appName}} account was just changed. If you did not do this, reset your password now and contact the app's support.",
      html: "<p>The password of your {{appName}} account was just changed.</p><p>If you did not do this, reset your password now and contact the app's support.</p>",
    },
  },
  ja: {
    reset_link: {
      subject: "{{appName}} のパスワード再設定",
      text: "{{appName}} アカウントのパスワード再設定が要求されました。{{minutes}} 分以内に次のリンクを開いて、新しいパスワードを設定してください:\n{{link}}\n心当たりがない場合は、このメッセージを無視してください。パスワードは変更されません。",
      html: '<p>{{appName}} アカウントのパスワード再設定が要求されました。</p><p><a href="{{link}}">新しいパスワードを設定する</a>（{{minutes}} 分間有効）</p><p>心当たりがない場合は、このメッセージを無視してください。パスワードは変更されません。</p>',
    },
    reset_pin: {
      subject: "{{appName}} の確認コード",
      text: "{{appName}} のパスワード再設定コードは {{code}} です。{{minutes}} 分で無効になります。",
      html: "<p>{{appName}} のパスワード再設定コードは <strong>{{code}}</strong> です。{{minutes}} 分で無効になります。</p>",
    },
    reset_code: {
      subject: "{{appName}} の確認コード",
      text: "{{appName}} のパスワード再設定コードは {{code}} です。{{minutes}} 分で無効になります。",
      html: "<p>{{appName}} のパスワード再設定コードは <strong>{{code}}</strong> です。{{minutes}} 分で無効になります。</p>",
    },
    password_changed: {
      subject: "{{appName}} のパスワードが変更されました",
      text: "{{appName}} アカウントのパスワードが変更されました。心当たりがない場合は、すぐにパスワードを再設定し、アプリのサポートに連絡してください。",
      html: "<p>{{appName}} アカウントのパスワードが変更されました。</p><p>心当たりがない場合は、すぐにパスワードを再設定し、アプリのサポートに連絡してください。</p>",
    },
  },
};

export const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const fill = (text: string, vars: TemplateVars, escape: boolean) =>
  text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    const record = vars as unknown as Record<string, unknown>;
    const value = Object.hasOwn(record, name) ? String(record[name] ?? "") : "";
    return escape ? escapeHtml(value) : value;
  });

export function pickLocale(...candidates: (string | null | undefined)[]): Locale {
  for (const c of candidates) {
    if (!c) continue;
    const lang = c.toLowerCase().split(/[-_]/)[0];
    if (lang === "ja" || lang === "en") return lang;
  }
  return "en";
}

/** Renders a template; an app's override replaces the built-in part by part (subject, text, html). */
export function renderTemplate(name: TemplateName, locale: Locale, vars: TemplateVars, overrides?: TemplateSettings): Template {
  const builtIn = BUILT_IN[locale][name];
  const override = overrides?.[locale]?.[name];
  const t = { subject: override?.subject ?? builtIn.subject, text: override?.text ?? builtIn.text, html: override?.html ?? builtIn.html };
  return { subject: fill(t.subject, vars, false), text: fill(t.text, vars, false), html: fill(t.html, vars, true) };
}
