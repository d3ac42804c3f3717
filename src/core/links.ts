// Hosted links (the reset and address-confirmation pages) and the codes people type from them.
//
// A live code never rides in a part of a URL that a server, proxy or log records (the request
// line: path and query). Hosted links carry it in the fragment, which browsers never send:
//   {origin}/reset/{app}/{user}/{tag}#{code}     {origin}/verify/{app}/{user}#{code}
// The page's small inline script moves the fragment into the form and out of the address bar, and
// the form POSTs it with the new password. Without JavaScript the page asks for the code, which
// the message shows next to the link. The reset link's `tag` names the code it was issued as
// (storage/codes.ts linkTag): public, and enough for the page to tell an old link from the live
// one before it has any code. Links sent in the older path form (`/reset/{app}/{user}/{code}`,
// `/verify/{app}/{user}/{code}`) are still accepted until they expire, but no longer made.
import type { App } from "../storage/apps";
import { linkTag } from "../storage/codes";
import { READABLE } from "../lib/random";

/** Where an app's hosted links point: its configured origin, else the deployment's PUBLIC_URL. Never the request's Host. */
export const linkOrigin = (app: App, deploymentOrigin: string) => app.settings.publicUrl ?? deploymentOrigin;

const segment = encodeURIComponent;

export const hostedResetLink = (origin: string, app: App, userId: string, codeId: string, code: string) =>
  `${origin}/reset/${segment(app.id)}/${segment(userId)}/${linkTag(codeId)}#${segment(code)}`;

export const hostedVerifyLink = (origin: string, app: App, userId: string, code: string) =>
  `${origin}/verify/${segment(app.id)}/${segment(userId)}#${segment(code)}`;

const READABLE_TYPED = new RegExp(`^[${READABLE}ILO]{28}$`);

/**
 * A code as a person typed it (or the page's script copied it from the fragment), in the form it
 * was issued: spaces and hyphens dropped and letters upper-cased; a readable link token
 * (lib/random.ts readableToken) read back with I and L as 1 and O as 0, and grouped again.
 * Short codes (ZITADEL's A–Z0–9, PINs) keep every character they have.
 */
export function normalizeTypedCode(raw: string): string {
  const plain = raw.normalize("NFKC").replace(/[\s\-‐-―−]/g, "").toUpperCase();
  if (!READABLE_TYPED.test(plain)) return plain;
  const read = plain.replace(/[IL]/g, "1").replace(/O/g, "0");
  return (read.match(/.{4}/g) ?? []).join("-");
}
