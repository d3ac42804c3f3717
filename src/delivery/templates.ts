// Built-in message templates, English and Japanese, overridable per app (settings.templates).
// Variables are HTML-escaped in the HTML part, in built-in and override templates alike.
import type { TemplateSettings } from "../config/delivery";
import type { Locale } from "../i18n/locale";
import { BUILT_IN, type Template, type TemplateName } from "../i18n/messages";

export interface TemplateVars {
  appName: string;
  link?: string;
  code?: string;
  minutes?: number;
}

export const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const fill = (text: string, vars: TemplateVars, escape: boolean) =>
  text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    const record = vars as unknown as Record<string, unknown>;
    const value = Object.hasOwn(record, name) ? String(record[name] ?? "") : "";
    return escape ? escapeHtml(value) : value;
  });

/** Renders a template; an app's override replaces the built-in part by part (subject, text, html). */
export function renderTemplate(name: TemplateName, locale: Locale, vars: TemplateVars, overrides?: TemplateSettings): Template {
  const builtIn = BUILT_IN[locale][name];
  const override = overrides?.[locale]?.[name];
  const t = { subject: override?.subject ?? builtIn.subject, text: override?.text ?? builtIn.text, html: override?.html ?? builtIn.html };
  return { subject: fill(t.subject, vars, false), text: fill(t.text, vars, false), html: fill(t.html, vars, true) };
}
