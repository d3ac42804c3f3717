// A code's lifetime as a person reads it: "1 minute", "1 minute and 30 seconds", "2 hours",
// "1 時間 30 分". Exact: 90 seconds is never rounded to "2 minutes", which would promise a link
// for longer than it lives.
import type { Locale } from "./locale";

const UNITS = [
  { seconds: 86_400, en: ["day", "days"], ja: "日" },
  { seconds: 3_600, en: ["hour", "hours"], ja: "時間" },
  { seconds: 60, en: ["minute", "minutes"], ja: "分" },
  { seconds: 1, en: ["second", "seconds"], ja: "秒" },
] as const;

export function formatDuration(totalSeconds: number, locale: Locale): string {
  let rest = Math.max(0, Math.floor(totalSeconds));
  const parts: { count: number; unit: (typeof UNITS)[number] }[] = [];
  for (const unit of UNITS) {
    const count = Math.floor(rest / unit.seconds);
    rest -= count * unit.seconds;
    if (count > 0) parts.push({ count, unit });
  }
  if (parts.length === 0) parts.push({ count: 0, unit: UNITS[3] });
  if (locale === "ja") return parts.map(({ count, unit }) => `${count} ${unit.ja}`).join(" ");
  const words = parts.map(({ count, unit }) => `${count} ${count === 1 ? unit.en[0] : unit.en[1]}`);
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}
