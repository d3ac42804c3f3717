// Notices to a user about their own account (password changed, account locked): to the verified
// email address, else the verified phone, else nowhere. Codes and links go out through reset.ts
// and verification.ts, which choose their channel from the request.
import type { TemplateVars } from "../delivery/templates";
import type { TemplateName } from "../delivery/message";
import { pickLocale } from "../i18n/locale";
import type { App } from "../storage/apps";
import type { User } from "../storage/users";
import type { Services } from "./services";

export async function noticeToUser(svc: Services, app: App, user: User, template: TemplateName, vars: TemplateVars): Promise<void> {
  const channel = user.email && user.emailVerified ? "email" : user.phone && user.phoneVerified ? "sms" : null;
  if (!channel) return;
  await svc.notifier.send({
    appId: app.id,
    userId: user.id,
    channel,
    to: channel === "email" ? user.email! : user.phone!,
    template,
    locale: pickLocale(user.locale, app.settings.defaultLocale),
    vars,
    templates: app.settings.templates,
  });
}
