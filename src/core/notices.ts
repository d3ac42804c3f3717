// Notices to a user about their own account (password changed, account locked): to the verified
// email address, else the verified phone, else nowhere. Codes and links go out through reset.ts
// and verification.ts, which choose their channel from the request.
import type { TemplateVars } from "../delivery/templates";
import type { TemplateName } from "../delivery/message";
import { pickLocale } from "../i18n/locale";
import { logError } from "../lib/log";
import type { App } from "../storage/apps";
import type { User } from "../storage/users";
import type { Services } from "./services";

/**
 * Queues a notice after the answer (ctx.waitUntil): what it tells of has already happened, and
 * the answer says so whether or not the queue takes the notice, without waiting for it. A
 * notice the queue refuses is logged (`notice_queue_failed`, without the address).
 */
export function noticeToUser(svc: Services, app: App, user: User, template: TemplateName, vars: TemplateVars): void {
  const channel = user.email && user.emailVerified ? "email" : user.phone && user.phoneVerified ? "sms" : null;
  if (!channel) return;
  const queued = svc.notifier.send({
    appId: app.id,
    userId: user.id,
    channel,
    to: channel === "email" ? user.email! : user.phone!,
    template,
    locale: pickLocale(user.locale, app.settings.defaultLocale),
    vars,
    templates: app.settings.templates,
  });
  svc.defer(queued.catch((e) => logError({ event: "notice_queue_failed", appId: app.id, userId: user.id, template }, e)));
}
