/**
 * IP address helpers with Go's `net` semantics, on the 16-byte form Go's `net.ParseIP` returns
 * (IPv4 as IPv4-mapped `::ffff:a.b.c.d`): literal parsing as `net.ParseIP` (no leading zeros in
 * IPv4 fields, no zones), text as `net.IP.String()` (dotted IPv4, RFC 5952 IPv6), `net.SplitHostPort`
 * and `net.IPNet.Contains`, plus the CIDR ranges CometBFT's NetAddress classifies with.
 * @module
 */

/** Length of the 16-byte IP form. */
export const IPV6_LEN = 16;

/** Parses dotted-decimal IPv4 into `out[off..off+4]`; false on any deviation from Go's rules. */
function parseIPv4Into(s: string, out: Uint8Array, off: number): boolean {
  let field = 0;
  let val = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      // A field may be "0" but may not start with 0 and continue.
      if (digits === 1 && val === 0) return false;
      val = val * 10 + (c - 0x30);
      digits++;
      if (val > 255) return false;
    } else if (c === 0x2e) {
      if (digits === 0 || field === 3) return false;
      out[off + field++] = val;
      val = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (field !== 3 || digits === 0) return false;
  out[off + 3] = val;
  return true;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Parses an RFC 4291 IPv6 literal (embedded IPv4 allowed, zones not) into 16 bytes. */
function parseIPv6(s: string): Uint8Array | null {
  const ip = new Uint8Array(IPV6_LEN);
  let ellipsis = -1; // byte index where "::" was seen
  let i = 0;
  if (s.length >= 2 && s[0] === ":" && s[1] === ":") {
    ellipsis = 0;
    i = 2;
    if (i === s.length) return ip; // "::"
  }
  let n = 0; // bytes filled
  while (n < IPV6_LEN) {
    // One hex group of 1..4 digits.
    let val = 0;
    let off = 0;
    while (i + off < s.length) {
      const h = hexVal(s.charCodeAt(i + off));
      if (h < 0) break;
      if (off === 4) return null; // more than 4 hex digits
      val = val * 16 + h;
      off++;
    }
    if (off === 0) return null;
    if (i + off < s.length && s[i + off] === ".") {
      // Embedded IPv4 must fill exactly the final 32 bits.
      if (ellipsis < 0 && n !== IPV6_LEN - 4) return null;
      if (n + 4 > IPV6_LEN) return null;
      if (!parseIPv4Into(s.slice(i), ip, n)) return null;
      n += 4;
      i = s.length;
      break;
    }
    ip[n] = val >> 8;
    ip[n + 1] = val & 0xff;
    n += 2;
    i += off;
    if (i === s.length) break;
    if (s[i] !== ":" || i + 1 === s.length) return null;
    i++;
    if (s[i] === ":") {
      if (ellipsis >= 0) return null; // two "::"
      ellipsis = n;
      i++;
      if (i === s.length) break;
    }
  }
  if (i !== s.length) return null;
  if (n < IPV6_LEN) {
    if (ellipsis < 0) return null;
    const tail = n - ellipsis;
    ip.copyWithin(IPV6_LEN - tail, ellipsis, n);
    ip.fill(0, ellipsis, IPV6_LEN - tail);
  } else if (ellipsis >= 0) {
    return null; // "::" must stand for at least one group
  }
  return ip;
}

/**
 * Parses an IP literal like Go's `net.ParseIP`: dotted-decimal IPv4 without leading zeros, or
 * IPv6 (embedded IPv4 allowed), no zone. Returns the 16-byte form, or `null` if not a literal.
 */
export function parseIP(s: string): Uint8Array | null {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ".") {
      const ip = new Uint8Array(IPV6_LEN);
      ip[10] = 0xff;
      ip[11] = 0xff;
      return parseIPv4Into(s, ip, 12) ? ip : null;
    }
    if (c === ":") return parseIPv6(s);
  }
  return null;
}

/** Whether the 16-byte `ip` is IPv4 (IPv4-mapped), Go's `ip.To4() != nil`. */
export function isIPv4(ip: Uint8Array): boolean {
  if (ip.length === 4) return true;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/** The 16-byte form of a 4- or 16-byte IP. */
export function to16(ip: Uint8Array): Uint8Array {
  if (ip.length === IPV6_LEN) return ip;
  if (ip.length !== 4) throw new RangeError(`IP must be 4 or 16 bytes, got ${ip.length}`);
  const out = new Uint8Array(IPV6_LEN);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip, 12);
  return out;
}

/** Text of an IP like Go's `net.IP.String()`: dotted IPv4 (also when mapped), RFC 5952 IPv6. */
export function formatIP(ip: Uint8Array): string {
  const b = to16(ip);
  if (isIPv4(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < IPV6_LEN; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // Longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map((g) => g.toString(16)).join(":");
  const head = groups.slice(0, bestStart).map((g) => g.toString(16)).join(":");
  const tail = groups.slice(bestStart + bestLen).map((g) => g.toString(16)).join(":");
  return `${head}::${tail}`;
}

/** `host:port` like Go's `net.JoinHostPort`: brackets around a host containing a colon. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Error text of {@link splitHostPort}, matching Go's `*net.AddrError`. */
export class SplitHostPortError extends Error {
  constructor(addr: string, why: string) {
    super(addr === "" ? why : `address ${addr}: ${why}`);
    this.name = "SplitHostPortError";
  }
}

/**
 * Splits `host:port` like Go's `net.SplitHostPort`: an IPv6 host must be bracketed; otherwise
 * exactly one colon. Neither part is validated further.
 * @throws SplitHostPortError with Go's wording ("missing port in address", ...).
 */
export function splitHostPort(hostport: string): [string, string] {
  const i = hostport.lastIndexOf(":");
  if (i < 0) throw new SplitHostPortError(hostport, "missing port in address");
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === "[") {
    const end = hostport.indexOf("]");
    if (end < 0) throw new SplitHostPortError(hostport, "missing ']' in address");
    if (end + 1 === hostport.length) {
      throw new SplitHostPortError(hostport, "missing port in address");
    }
    if (end + 1 !== i) {
      throw new SplitHostPortError(
        hostport,
        hostport[end + 1] === ":" ? "too many colons in address" : "missing port in address",
      );
    }
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(":")) throw new SplitHostPortError(hostport, "too many colons in address");
  }
  if (hostport.slice(j).includes("[")) {
    throw new SplitHostPortError(hostport, "unexpected '[' in address");
  }
  if (hostport.slice(k).includes("]")) {
    throw new SplitHostPortError(hostport, "unexpected ']' in address");
  }
  return [host, hostport.slice(i + 1)];
}

/** A CIDR range with Go `net.IPNet.Contains` semantics. */
export class IPNet {
  readonly #ip: Uint8Array; // 4 bytes for an IPv4 net, 16 for IPv6
  readonly #prefix: number;

  /** `cidr` like `10.0.0.0/8` or `fe80::/64`. */
  constructor(cidr: string) {
    const slash = cidr.indexOf("/");
    const ip = parseIP(cidr.slice(0, slash));
    const prefix = Number(cidr.slice(slash + 1));
    if (slash < 0 || !ip || !Number.isInteger(prefix)) throw new RangeError(`bad CIDR ${cidr}`);
    this.#ip = isIPv4(ip) ? ip.slice(12) : ip;
    this.#prefix = prefix;
    if (prefix < 0 || prefix > this.#ip.length * 8) throw new RangeError(`bad CIDR ${cidr}`);
  }

  /**
   * Whether `ip` (4 or 16 bytes) is in the range. IPv4 ranges match IPv4 and IPv4-mapped
   * addresses; IPv6 ranges never match an IPv4 (or IPv4-mapped) address.
   */
  contains(ip: Uint8Array): boolean {
    const v4 = isIPv4(ip);
    if (v4 !== (this.#ip.length === 4)) return false;
    const x = v4 && ip.length === IPV6_LEN ? ip.subarray(12) : ip;
    let bits = this.#prefix;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((x[i] & mask) !== (this.#ip[i] & mask)) return false;
    }
    return true;
  }
}

/** RFC 1918 private IPv4: 10/8, 172.16/12, 192.168/16. */
export const RFC1918_NETS: readonly IPNet[] = [
  new IPNet("10.0.0.0/8"),
  new IPNet("192.168.0.0/16"),
  new IPNet("172.16.0.0/12"),
];
const rfc3849 = new IPNet("2001:db8::/32");
const rfc3927 = new IPNet("169.254.0.0/16");
const rfc3964 = new IPNet("2002::/16");
const rfc4193 = new IPNet("fc00::/7");
const rfc4380 = new IPNet("2001::/32");
const rfc4843 = new IPNet("2001:10::/28");
const rfc4862 = new IPNet("fe80::/64");
const rfc6052 = new IPNet("64:ff9b::/96");
const rfc6145 = new IPNet("::ffff:0:0:0/96");
const onionCat = new IPNet("fd87:d87e:eb43::/48");
const zero4 = new IPNet("0.0.0.0/8");

/** RFC 1918 private IPv4 (10/8, 172.16/12, 192.168/16). */
export const isRFC1918 = (ip: Uint8Array): boolean => RFC1918_NETS.some((n) => n.contains(ip));
/** RFC 3849 IPv6 documentation range 2001:db8::/32. */
export const isRFC3849 = (ip: Uint8Array): boolean => rfc3849.contains(ip);
/** RFC 3927 IPv4 link-local 169.254/16. */
export const isRFC3927 = (ip: Uint8Array): boolean => rfc3927.contains(ip);
/** RFC 3964 6to4 2002::/16. */
export const isRFC3964 = (ip: Uint8Array): boolean => rfc3964.contains(ip);
/** RFC 4193 IPv6 unique local fc00::/7. */
export const isRFC4193 = (ip: Uint8Array): boolean => rfc4193.contains(ip);
/** RFC 4380 Teredo 2001::/32. */
export const isRFC4380 = (ip: Uint8Array): boolean => rfc4380.contains(ip);
/** RFC 4843 ORCHID 2001:10::/28. */
export const isRFC4843 = (ip: Uint8Array): boolean => rfc4843.contains(ip);
/** RFC 4862 IPv6 link-local fe80::/64. */
export const isRFC4862 = (ip: Uint8Array): boolean => rfc4862.contains(ip);
/** RFC 6052 well-known NAT64 prefix 64:ff9b::/96. */
export const isRFC6052 = (ip: Uint8Array): boolean => rfc6052.contains(ip);
/** RFC 6145 IPv4-translated ::ffff:0:0:0/96 (never matches IPv4, as in Go). */
export const isRFC6145 = (ip: Uint8Array): boolean => rfc6145.contains(ip);
/** OnionCat (Tor) fd87:d87e:eb43::/48. */
export const isOnionCatTor = (ip: Uint8Array): boolean => onionCat.contains(ip);
/** 0.0.0.0/8. */
export const isZero4 = (ip: Uint8Array): boolean => zero4.contains(ip);

/** Go `IsLoopback`: 127/8 or ::1. */
export function isLoopback(ip: Uint8Array): boolean {
  const b = to16(ip);
  if (isIPv4(b)) return b[12] === 127;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1;
}

/** Go `IsUnspecified`: 0.0.0.0 or ::. */
export function isUnspecified(ip: Uint8Array): boolean {
  const b = to16(ip);
  if (isIPv4(b)) return b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] === 0;
  return b.every((x) => x === 0);
}

/** 255.255.255.255 (Go `IPv4bcast`). */
export function isIPv4Broadcast(ip: Uint8Array): boolean {
  const b = to16(ip);
  return isIPv4(b) && b[12] === 255 && b[13] === 255 && b[14] === 255 && b[15] === 255;
}
