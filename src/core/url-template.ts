// ZITADEL-style URL templates: Go text/template syntax restricted to the fields ZITADEL offers
// for a password-reset link. Anything else fails to parse, as ZITADEL answers DOMAIN-oGh5e.
import { CoreError } from "./errors";

export const TEMPLATE_FIELDS = ["UserID", "Code", "OrgID"] as const;
export type TemplateValues = Record<(typeof TEMPLATE_FIELDS)[number], string>;

const ACTION = /\{\{-?\s*\.([A-Za-z][A-Za-z0-9]*)\s*-?\}\}/g;

/** Throws invalid_template unless every {{ }} action names a known field and no brace is stray. */
export function validateUrlTemplate(template: string): void {
  const fields = new Set<string>(TEMPLATE_FIELDS);
  for (const match of template.matchAll(ACTION)) {
    if (!fields.has(match[1]!)) throw new CoreError("invalid_template", `Unknown template field .${match[1]}`, { field: "urlTemplate" });
  }
  const rest = template.replace(ACTION, "");
  if (rest.includes("{{") || rest.includes("}}")) {
    throw new CoreError("invalid_template", "The URL template does not parse", { field: "urlTemplate" });
  }
  if (!/^https?:\/\/[^\s]+$/.test(template.replace(ACTION, "x"))) {
    throw new CoreError("invalid_template", "The URL template must produce an http(s) URL", { field: "urlTemplate" });
  }
}

export function renderUrlTemplate(template: string, values: TemplateValues): string {
  validateUrlTemplate(template);
  return template.replace(ACTION, (_, field: keyof TemplateValues) => encodeURIComponent(values[field]));
}
