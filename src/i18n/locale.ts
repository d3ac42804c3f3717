// Which of our languages to speak: English and Japanese, chosen from the user's stored locale,
// the browser's Accept-Language, or the app's default, in the caller's order of preference.

export type Locale = "en" | "ja";
export const LOCALES: readonly Locale[] = ["en", "ja"];

/** The language of a tag such as "ja-JP" or "en_US", if it is one of ours. */
export function localeOf(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const lang = tag.toLowerCase().split(/[-_]/)[0];
  return lang === "ja" || lang === "en" ? lang : null;
}

/** The first candidate that names one of our languages; English when none does. */
export function pickLocale(...candidates: (string | null | undefined)[]): Locale {
  for (const c of candidates) {
    const locale = localeOf(c);
    if (locale) return locale;
  }
  return "en";
}
