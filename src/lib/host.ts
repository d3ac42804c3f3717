// Where a URL's host points, for deciding whether a server may send a request there. Parsed, not
// pattern-matched: 127.1, 0x7f000001, 2130706433 and 0177.0.0.1 are all 127.0.0.1 (the URL
// parser and ipaddr.js both read the shortened, hex, decimal and octal forms), and
// [::ffff:127.0.0.1] is IPv4's loopback in IPv6 clothing.
import ipaddr from "ipaddr.js";

/**
 * - `public`: a global unicast address, or a domain name that is not reserved for local use;
 * - `loopback`: this machine (127.0.0.0/8, ::1, localhost and *.localhost, also with a trailing dot);
 * - `internal`: every other address that is not globally routable (private, link-local incl.
 *   169.254.169.254, unique-local, CGNAT, unspecified, broadcast, multicast, reserved, documentation,
 *   IPv4-mapped / -compatible / NAT64 / 6to4 / Teredo forms), and single-label or local-only names.
 *
 * Only the name is judged: a public name whose DNS answers with a private address (rebinding)
 * cannot be caught here.
 */
export type HostKind = "public" | "loopback" | "internal";

/** Names that RFC 6761 / 6762 / 8375 and common practice reserve for local networks. */
const LOCAL_SUFFIXES = [".local", ".internal", ".home.arpa", ".localdomain", ".lan"];

/** Judges a host as `new URL(...).hostname` gives it (IPv6 inside brackets) or a bare address. */
export function classifyHost(hostname: string): HostKind {
  let host = hostname.trim().toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  // "localhost." is the same name as "localhost": the root's dot.
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host === "") return "internal";
  if (ipaddr.isValid(host)) return classifyAddress(ipaddr.parse(host));
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  if (!host.includes(".") || LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) return "internal";
  return "public";
}

function classifyAddress(address: ipaddr.IPv4 | ipaddr.IPv6): HostKind {
  if (address.kind() === "ipv6") {
    const v6 = address as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range() === "loopback" ? "loopback" : "internal";
    // IPv4-compatible (::a.b.c.d, deprecated): the first 96 bits are zero. ::1 and :: are caught
    // by their ranges below; anything else of this shape embeds an IPv4 address.
    const parts = v6.parts;
    if (parts.slice(0, 6).every((p) => p === 0) && !(parts[6] === 0 && (parts[7] === 0 || parts[7] === 1))) return "internal";
  }
  const range = address.range();
  if (range === "loopback") return "loopback";
  return range === "unicast" ? "public" : "internal";
}
