/**
 * Address-book bucket placement (spec §9.5): network group keys and the new/old bucket formulas.
 *
 * Placement is local policy, but it is what protects the book against one source (or one network)
 * filling it, so it follows CometBFT v0.38 exactly: same group strings, same hash inputs, same
 * big-endian reading of HighwayHash-64. Verified against vectors produced by Go's `addrBook`.
 *
 * @module
 */

import { HighwayHash64 } from "./highwayhash.ts";

/** Number of new buckets (`newBucketCount`). */
export const NEW_BUCKET_COUNT = 256;
/** Number of old buckets (`oldBucketCount`). */
export const OLD_BUCKET_COUNT = 64;
/** New buckets over which one source group's addresses spread (`newBucketsPerGroup`). */
export const NEW_BUCKETS_PER_GROUP = 32;
/** Old buckets over which one address group spreads (`oldBucketsPerGroup`). */
export const OLD_BUCKETS_PER_GROUP = 4;

/** What the group and bucket math needs from an address (a subset of `NetAddress`). */
export interface GroupableAddress {
  /** `id@host:port`, Go's `NetAddress.String()`. */
  toString(): string;
  /** The IP in its 16-byte form (IPv4 as `::ffff:a.b.c.d`). */
  ipBytes(): Uint8Array;
  /** Loopback or `0.0.0.0/8` (spec §2.3). */
  local(): boolean;
  /** Valid and not in a private/link-local/ULA/ORCHID range, not local (spec §2.3). */
  routable(): boolean;
}

const enc = new TextEncoder();

/** True for an IPv4 address in 16-byte form (`::ffff:a.b.c.d`), Go's `To4() != nil`. */
export function isV4Mapped(ip: Uint8Array): boolean {
  if (ip.length === 4) return true;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/**
 * Writes an ASCII string's bytes (group keys and `id@ip:port` are ASCII; TextEncoder per call costs
 * more than the hash itself).
 */
function putAscii(buf: Uint8Array, off: number, str: string): number {
  for (let i = 0; i < str.length; i++) buf[off++] = str.charCodeAt(i) & 0xff;
  return off;
}

/** Whether `ip` (16 bytes) lies in `prefix` (given as bytes) of `bits` length; never for IPv4. */
function inV6Prefix(ip: Uint8Array, prefix: readonly number[], bits: number): boolean {
  if (isV4Mapped(ip)) return false; // Go: an IPv6 network never contains an IPv4 address
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (ip[i] !== (prefix[i] ?? 0)) return false;
  if (bits > 0) {
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** RFC 6145 IPv4-translated `::ffff:0:0:0/96`. */
export const isRFC6145 = (ip: Uint8Array): boolean =>
  inV6Prefix(ip, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96);
/** RFC 6052 well-known prefix `64:ff9b::/96`. */
export const isRFC6052 = (ip: Uint8Array): boolean => inV6Prefix(ip, [0, 0x64, 0xff, 0x9b], 96);
/** RFC 3964 6to4 `2002::/16`. */
export const isRFC3964 = (ip: Uint8Array): boolean => inV6Prefix(ip, [0x20, 0x02], 16);
/** RFC 4380 Teredo `2001::/32`. */
export const isRFC4380 = (ip: Uint8Array): boolean => inV6Prefix(ip, [0x20, 0x01, 0, 0], 32);
/** OnionCat Tor `fd87:d87e:eb43::/48`. */
export const isOnionCat = (ip: Uint8Array): boolean =>
  inV6Prefix(ip, [0xfd, 0x87, 0xd8, 0x7e, 0xeb, 0x43], 48);
/** Hurricane Electric `2001:470::/32`, grouped by /36 instead of /32. */
const isHeNet = (ip: Uint8Array): boolean => inV6Prefix(ip, [0x20, 0x01, 0x04, 0x70], 32);

/** `a.b.0.0`: the /16 of four IPv4 bytes, in Go's dotted form. */
function slash16(a: number, b: number): string {
  return `${a}.${b}.0.0`;
}

/** Go's `net.IP.String()` for a 16-byte IPv6 address that is not IPv4-mapped (RFC 5952 form). */
export function ipv6String(ip: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip[i] << 8) | ip[i + 1]);
  // Longest run of zero words (first one on ties), compressed only when it is ≥ 2 words long.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += words[i].toString(16);
  }
  return out;
}

/**
 * The network group of an address (Go's `groupKeyFor`): `local` / `unroutable` in strict mode, the
 * /16 for IPv4 and IPv4-embedding IPv6 forms, `tor:<n>` for OnionCat, else the IPv6 /32 (/36 inside
 * he.net's `2001:470::/32`).
 */
export function groupKey(na: GroupableAddress, routabilityStrict: boolean): string {
  if (routabilityStrict && na.local()) return "local";
  if (routabilityStrict && !na.routable()) return "unroutable";
  const ip = na.ipBytes();
  if (ip.length === 4) return slash16(ip[0], ip[1]);
  if (isV4Mapped(ip)) return slash16(ip[12], ip[13]);
  if (isRFC6145(ip) || isRFC6052(ip)) return slash16(ip[12], ip[13]);
  if (isRFC3964(ip)) return slash16(ip[2], ip[3]);
  if (isRFC4380(ip)) return slash16(ip[12] ^ 0xff, ip[13] ^ 0xff);
  if (isOnionCat(ip)) return `tor:${ip[6] & 0x0f}`;
  const bits = isHeNet(ip) ? 36 : 32;
  const masked = new Uint8Array(16);
  masked.set(ip.subarray(0, 4));
  if (bits === 36) masked[4] = ip[4] & 0xf0;
  return ipv6String(masked);
}

/** Length in hex chars of the persisted book key. */
export const BOOK_KEY_HEX_LEN = 24;

/** A fresh random book key ({@link BOOK_KEY_HEX_LEN} hex chars), as a new book persists it. */
export function newBookKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(Math.ceil(BOOK_KEY_HEX_LEN / 2)));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").slice(0, BOOK_KEY_HEX_LEN);
}

/**
 * Bucket calculator bound to one book key (24 hex chars, persisted) and one hash key (32 random bytes
 * per process, not persisted). Reuses one scratch buffer for hash inputs.
 */
export class BucketHasher {
  readonly #hasher: HighwayHash64;
  readonly #key: Uint8Array;
  readonly #routabilityStrict: boolean;
  #scratch = new Uint8Array(256);

  /**
   * @param bookKey the book's persisted `key` string.
   * @param hashKey 32 bytes for HighwayHash.
   * @param routabilityStrict `addr_book_strict`: changes the group keys of local/unroutable addresses.
   */
  constructor(bookKey: string, hashKey: Uint8Array, routabilityStrict: boolean) {
    this.#key = enc.encode(bookKey);
    this.#hasher = new HighwayHash64(hashKey);
    this.#routabilityStrict = routabilityStrict;
  }

  /** Group key under this book's strictness. */
  groupKey(na: GroupableAddress): string {
    return groupKey(na, this.#routabilityStrict);
  }

  /** New bucket for `addr` learnt from `src`: H(key‖group(src)‖BE64(H(key‖g(addr)‖g(src)) mod 32)) mod 256. */
  newBucket(addr: GroupableAddress, src: GroupableAddress): number {
    const srcGroup = this.groupKey(src);
    const h1 = this.#hashParts(this.groupKey(addr), srcGroup, null) % NEW_BUCKETS_PER_GROUP;
    return this.#hashParts(srcGroup, null, h1) % NEW_BUCKET_COUNT;
  }

  /** Old bucket for `addr`: H(key‖group(addr)‖BE64(H(key‖addr.String()) mod 4)) mod 64. */
  oldBucket(addr: GroupableAddress): number {
    const h1 = this.#hashParts(addr.toString(), null, null) % OLD_BUCKETS_PER_GROUP;
    return this.#hashParts(this.groupKey(addr), null, h1) % OLD_BUCKET_COUNT;
  }

  /**
   * H(key ‖ a ‖ b ‖ BE64(n)) read big-endian, low 32 bits (enough: all moduli are powers of two
   * ≤ 256, and `n` < 2^32 so BE64(n) has four zero bytes first).
   */
  #hashParts(a: string, b: string | null, n: number | null): number {
    const len = this.#key.length + a.length + (b?.length ?? 0) + (n === null ? 0 : 8);
    if (this.#scratch.length < len) this.#scratch = new Uint8Array(len * 2);
    const buf = this.#scratch;
    let off = 0;
    buf.set(this.#key, off);
    off += this.#key.length;
    off = putAscii(buf, off, a);
    if (b !== null) off = putAscii(buf, off, b);
    if (n !== null) {
      buf.fill(0, off, off + 4);
      buf[off + 4] = (n >>> 24) & 0xff;
      buf[off + 5] = (n >>> 16) & 0xff;
      buf[off + 6] = (n >>> 8) & 0xff;
      buf[off + 7] = n & 0xff;
      off += 8;
    }
    return this.#hasher.sumBE32(buf.subarray(0, off));
  }
}
