// Built-in message templates, English and Japanese, overridable per app (settings.templates).
// Variables are HTML-escaped in the HTML part, in built-in and override templates alike.
import type { TemplateSettings } from "../config/delivery";
import { formatDuration } from "../i18n/duration";
import type { Locale } from "../i18n/locale";
import { BUILT_IN, type Template, type TemplateName } from "../i18n/messages";

export interface TemplateVars {
  appName: string;
  link?: string;
  code?: string;
  /** The code's lifetime: {{duration}} ("1 minute and 30 seconds", "1 時間") and {{minutes}} (whole minutes, rounded down). */
  ttlSeconds?: number;
}

export const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const fill = (text: string, record: Record<string, unknown>, escape: boolean) =>
  text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    const value = Object.hasOwn(record, name) ? String(record[name] ?? "") : "";
    return escape ? escapeHtml(value) : value;
  });

/** Renders a template; an app's override replaces the built-in part by part (subject, text, html). */
export function renderTemplate(name: TemplateName, locale: Locale, vars: TemplateVars, overrides?: TemplateSettings): Template {
  const builtIn = BUILT_IN[locale][name];
  const override = overrides?.[locale]?.[name];
  const t = { subject: override?.subject ?? builtIn.subject, text: override?.text ?? builtIn.text, html: override?.html ?? builtIn.html };
  const all: Record<string, unknown> = { ...vars };
  if (vars.ttlSeconds !== undefined) {
    all.duration = formatDuration(vars.ttlSeconds, locale);
    // Rounded down: a message never promises more time than the code has.
    all.minutes = Math.floor(vars.ttlSeconds / 60);
  }
  delete all.ttlSeconds;
  return { subject: fill(t.subject, all, false), text: fill(t.text, all, false), html: fill(t.html, all, true) };
}
