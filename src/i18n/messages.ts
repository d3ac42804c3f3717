// The built-in text of every message Latchkey sends, in English and Japanese. Apps override it
// part by part (settings.templates); delivery/templates.ts fills in the variables.
import type { Locale } from "./locale";

export type TemplateName =
  | "reset_link"
  | "reset_pin"
  | "reset_code"
  | "password_changed"
  | "account_locked"
  | "verify_email_link"
  | "verify_email_code"
  | "verify_sms_code";

export interface Template {
  subject: string;
  text: string;
  html: string;
}

export const BUILT_IN: Record<Locale, Record<TemplateName, Template>> = {
  en: {
    reset_link: {
      subject: "Reset your {{appName}} password",
      text: "Someone asked to reset the password of your {{appName}} account. To choose a new password, open this link within {{duration}}:\n{{link}}\nIf the page asks for a code, enter: {{code}}\nIf it was not you, ignore this message; your password stays as it is.",
      html: '<p>Someone asked to reset the password of your {{appName}} account.</p><p><a href="{{link}}">Choose a new password</a> (valid for {{duration}}).</p><p>If the page asks for a code, enter: <strong>{{code}}</strong></p><p>If it was not you, ignore this message; your password stays as it is.</p>',
    },
    reset_pin: {
      subject: "Your {{appName}} reset code",
      text: "Your {{appName}} password reset code is {{code}}. It expires in {{duration}}.",
      html: "<p>Your {{appName}} password reset code is <strong>{{code}}</strong>. It expires in {{duration}}.</p>",
    },
    reset_code: {
      subject: "Your {{appName}} reset code",
      text: "Your {{appName}} password reset code is {{code}}. It expires in {{duration}}.",
      html: "<p>Your {{appName}} password reset code is <strong>{{code}}</strong>. It expires in {{duration}}.</p>",
    },
    password_changed: {
      subject: "Your {{appName}} password was changed",
      text: "The password of your {{appName}} account was just changed. If you did not do this, reset your password now and contact the app's support.",
      html: "<p>The password of your {{appName}} account was just changed.</p><p>If you did not do this, reset your password now and contact the app's support.</p>",
    },
    verify_email_link: {
      subject: "Confirm your email address for {{appName}}",
      text: "Someone gave this address for a {{appName}} account. To confirm that it is yours, open this link within {{duration}}:\n{{link}}\nIf the page asks for a code, enter: {{code}}\nIf it was not you, ignore this message; the address will not be used.",
      html: '<p>Someone gave this address for a {{appName}} account.</p><p><a href="{{link}}">Confirm that this address is mine</a> (valid for {{duration}}).</p><p>If the page asks for a code, enter: <strong>{{code}}</strong></p><p>If it was not you, ignore this message; the address will not be used.</p>',
    },
    verify_email_code: {
      subject: "Your {{appName}} verification code",
      text: "Your {{appName}} email verification code is {{code}}. It expires in {{duration}}. You can also open this link:\n{{link}}\nIf you did not ask for it, ignore this message.",
      html: '<p>Your {{appName}} email verification code is <strong>{{code}}</strong>. It expires in {{duration}}.</p><p><a href="{{link}}">Confirm this address</a></p><p>If you did not ask for it, ignore this message.</p>',
    },
    verify_sms_code: {
      subject: "Your {{appName}} verification code",
      text: "Your {{appName}} phone verification code is {{code}}. It expires in {{duration}}.",
      html: "<p>Your {{appName}} phone verification code is <strong>{{code}}</strong>. It expires in {{duration}}.</p>",
    },
    account_locked: {
      subject: "Your {{appName}} account was locked",
      text: "After too many wrong passwords, sign-in to your {{appName}} account is locked for {{duration}}. If it was not you, someone may be guessing your password: reset it to end the lock now.",
      html: "<p>After too many wrong passwords, sign-in to your {{appName}} account is locked for {{duration}}.</p><p>If it was not you, someone may be guessing your password: reset it to end the lock now.</p>",
    },
  },
  ja: {
    reset_link: {
      subject: "{{appName}} のパスワード再設定",
      text: "{{appName}} アカウントのパスワード再設定が要求されました。{{duration}}以内に次のリンクを開いて、新しいパスワードを設定してください:\n{{link}}\nコードを求められたら、次のコードを入力してください: {{code}}\n心当たりがない場合は、このメッセージを無視してください。パスワードは変更されません。",
      html: '<p>{{appName}} アカウントのパスワード再設定が要求されました。</p><p><a href="{{link}}">新しいパスワードを設定する</a>（{{duration}}有効）</p><p>コードを求められたら、次のコードを入力してください: <strong>{{code}}</strong></p><p>心当たりがない場合は、このメッセージを無視してください。パスワードは変更されません。</p>',
    },
    reset_pin: {
      subject: "{{appName}} の確認コード",
      text: "{{appName}} のパスワード再設定コードは {{code}} です。{{duration}}で無効になります。",
      html: "<p>{{appName}} のパスワード再設定コードは <strong>{{code}}</strong> です。{{duration}}で無効になります。</p>",
    },
    reset_code: {
      subject: "{{appName}} の確認コード",
      text: "{{appName}} のパスワード再設定コードは {{code}} です。{{duration}}で無効になります。",
      html: "<p>{{appName}} のパスワード再設定コードは <strong>{{code}}</strong> です。{{duration}}で無効になります。</p>",
    },
    password_changed: {
      subject: "{{appName}} のパスワードが変更されました",
      text: "{{appName}} アカウントのパスワードが変更されました。心当たりがない場合は、すぐにパスワードを再設定し、アプリのサポートに連絡してください。",
      html: "<p>{{appName}} アカウントのパスワードが変更されました。</p><p>心当たりがない場合は、すぐにパスワードを再設定し、アプリのサポートに連絡してください。</p>",
    },
    verify_email_link: {
      subject: "{{appName}} のメールアドレス確認",
      text: "このアドレスが {{appName}} のアカウントに登録されました。ご本人のアドレスであることを確認するには、{{duration}}以内に次のリンクを開いてください:\n{{link}}\nコードを求められたら、次のコードを入力してください: {{code}}\n心当たりがない場合は、このメッセージを無視してください。このアドレスは使われません。",
      html: '<p>このアドレスが {{appName}} のアカウントに登録されました。</p><p><a href="{{link}}">このアドレスを確認する</a>（{{duration}}有効）</p><p>コードを求められたら、次のコードを入力してください: <strong>{{code}}</strong></p><p>心当たりがない場合は、このメッセージを無視してください。このアドレスは使われません。</p>',
    },
    verify_email_code: {
      subject: "{{appName}} の確認コード",
      text: "{{appName}} のメールアドレス確認コードは {{code}} です。{{duration}}で無効になります。次のリンクからも確認できます:\n{{link}}\n心当たりがない場合は、このメッセージを無視してください。",
      html: '<p>{{appName}} のメールアドレス確認コードは <strong>{{code}}</strong> です。{{duration}}で無効になります。</p><p><a href="{{link}}">このアドレスを確認する</a></p><p>心当たりがない場合は、このメッセージを無視してください。</p>',
    },
    verify_sms_code: {
      subject: "{{appName}} の確認コード",
      text: "{{appName}} の電話番号確認コードは {{code}} です。{{duration}}で無効になります。",
      html: "<p>{{appName}} の電話番号確認コードは <strong>{{code}}</strong> です。{{duration}}で無効になります。</p>",
    },
    account_locked: {
      subject: "{{appName}} アカウントがロックされました",
      text: "誤ったパスワードが続けて入力されたため、{{appName}} アカウントへのサインインを {{duration}}間ロックしました。心当たりがない場合は、パスワードを再設定するとすぐにロックが解除されます。",
      html: "<p>誤ったパスワードが続けて入力されたため、{{appName}} アカウントへのサインインを {{duration}}間ロックしました。</p><p>心当たりがない場合は、パスワードを再設定するとすぐにロックが解除されます。</p>",
    },
  },
};
