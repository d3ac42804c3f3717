// Client addresses as rate-limit keys, parsed by ipaddr.js rather than by hand.
import ipaddr from "ipaddr.js";

/**
 * The key an address is counted under. An IPv6 client usually holds a whole /64 and could rotate
 * through it, so IPv6 addresses count by their /64 prefix; an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) counts as its IPv4 address, and ::1 as itself. Returns null for anything that
 * is not an address.
 */
export function rateLimitAddress(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return null;
  const parsed = ipaddr.process(ip); // unwraps IPv4-mapped IPv6
  if (parsed.kind() === "ipv4") return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.range() === "loopback") return "::1";
  const groups = v6.parts.slice(0, 4).map((g) => g.toString(16));
  return `${groups.join(":")}::/64`;
}

/** An address as events and logs name it: canonical (IPv4-mapped IPv6 as IPv4), or null for anything else. */
export function canonicalAddress(ip: string | null | undefined): string | null {
  const trimmed = ip?.trim();
  if (!trimmed || !ipaddr.isValid(trimmed)) return null;
  return ipaddr.process(trimmed).toString();
}
