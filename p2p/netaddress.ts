/**
 * Peer network addresses (CometBFT `p2p/netaddress.go`): an (ID, IP, port) triple, parsed from
 * `id@host:port` exactly as `NewNetAddressString` does, printed as Go prints it, classified
 * (valid / local / routable) with the same ranges, and converted to and from the
 * `tendermint.p2p.NetAddress` protobuf.
 * @module
 */
import { InvalidParametersError } from "./errors.ts";
import { validateId } from "./key.ts";
import {
  formatIP,
  IPV6_LEN,
  isIPv4,
  isIPv4Broadcast,
  isLoopback,
  isRFC1918,
  isRFC3849,
  isRFC3927,
  isRFC4193,
  isRFC4843,
  isRFC4862,
  isUnspecified,
  isZero4,
  joinHostPort,
  parseIP,
  splitHostPort,
  to16,
} from "./ip.ts";

export * from "./ip.ts";

/** How Go prints a missing NetAddress. */
export const EMPTY_NET_ADDRESS = "<nil-NetAddress>";

/** Go `ErrNetAddressNoID`: the address has no (or more than one) `@`. */
export class NetAddressNoIdError extends InvalidParametersError {
  /** The address as given. */
  readonly addr: string;
  constructor(addr: string) {
    super(`address (${addr}) does not contain ID`);
    this.name = "NetAddressNoIdError";
    this.addr = addr;
  }
}

/** Go `ErrNetAddressInvalid`: bad ID, host:port syntax, empty host, IP or port. */
export class NetAddressInvalidError extends InvalidParametersError {
  /** The part of the address that was rejected. */
  readonly addr: string;
  constructor(addr: string, reason: string, options?: ErrorOptions) {
    super(`invalid address (${addr}): ${reason}`, options);
    this.name = "NetAddressInvalidError";
    this.addr = addr;
  }
}

/** Go `ErrNetAddressLookup`: the host is not an IP literal and did not resolve. */
export class NetAddressLookupError extends InvalidParametersError {
  /** The host that failed to resolve. */
  readonly host: string;
  constructor(host: string, reason: string, options?: ErrorOptions) {
    super(`error looking up host (${host}): ${reason}`, options);
    this.name = "NetAddressLookupError";
    this.host = host;
  }
}

/** Resolves a host name to IP literals, best first. Rejects (or returns []) when it cannot. */
export type HostResolver = (host: string) => Promise<string[]>;

/** Parsing options: `lookup` replaces DNS resolution (tests, or a custom resolver). */
export interface ParseOptions {
  lookup?: HostResolver;
}

const HOSTS_FILE = "/etc/hosts";

/** Addresses for `host` in /etc/hosts, in file order (Go's resolver consults it before DNS). */
async function lookupHostsFile(host: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(HOSTS_FILE);
  } catch {
    return [];
  }
  const want = host.toLowerCase().replace(/\.$/, "");
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [addr, ...names] = line.split(/\s+/);
    if (names.some((n) => n.toLowerCase().replace(/\.$/, "") === want)) {
      const ip = parseIP(addr.replace(/%.*/, ""));
      if (ip) out.push(formatIP(ip));
    }
  }
  return out;
}

/**
 * The default {@link HostResolver}: an IPv6 literal with a zone resolves to itself without the
 * zone (as Go's `LookupIP` does); then /etc/hosts; then DNS A records, then AAAA.
 */
export async function resolveHost(host: string): Promise<string[]> {
  const pct = host.indexOf("%");
  if (pct > 0 && pct < host.length - 1) {
    const ip = parseIP(host.slice(0, pct));
    if (ip && !isIPv4(ip)) return [formatIP(ip)];
  }
  const fromFile = await lookupHostsFile(host);
  if (fromFile.length > 0) return fromFile;
  let firstErr: unknown;
  for (const type of ["A", "AAAA"] as const) {
    try {
      const ips = await Deno.resolveDns(host, type);
      if (ips.length > 0) return ips;
    } catch (err) {
      firstErr ??= err;
    }
  }
  if (firstErr instanceof Deno.errors.NotFound || firstErr === undefined) {
    throw new Error(`lookup ${host}: no such host`);
  }
  throw new Error(`lookup ${host}: ${(firstErr as Error).message}`, { cause: firstErr });
}

/** Go's `removeProtocolIfDefined`: keep the text between the first `://` and the next one. */
export function removeProtocol(addr: string): string {
  const i = addr.indexOf("://");
  if (i < 0) return addr;
  const rest = addr.slice(i + 3);
  const j = rest.indexOf("://");
  return j < 0 ? rest : rest.slice(0, j);
}

/** Go's `IDAddressString`: `id@hostPort` with any `proto://` prefix removed. */
export function idAddressString(id: string, protocolHostPort: string): string {
  return `${id}@${removeProtocol(protocolHostPort)}`;
}

const PORT_RE = /^[0-9]+$/;

/** Go's `strconv.ParseUint(s, 10, 16)` with its error wording. */
function parsePort(portStr: string): number {
  if (!PORT_RE.test(portStr)) {
    throw new NetAddressInvalidError(
      portStr,
      `strconv.ParseUint: parsing ${JSON.stringify(portStr)}: invalid syntax`,
    );
  }
  // Leading zeros are fine ("0080" is 80); only the value's range matters.
  const digits = portStr.replace(/^0+(?=[0-9])/, "");
  const port = digits.length > 5 ? Infinity : Number(digits);
  if (port > 0xffff) {
    throw new NetAddressInvalidError(
      portStr,
      `strconv.ParseUint: parsing ${JSON.stringify(portStr)}: value out of range`,
    );
  }
  return port;
}

/** Steps 1–4 of §2.2 shared by both parsers: returns id, host, port text. */
function splitAddress(addr: string): { id: string; host: string; portStr: string } {
  const noProto = removeProtocol(addr);
  const parts = noProto.split("@");
  if (parts.length !== 2) throw new NetAddressNoIdError(addr);
  const [id, hostPort] = parts;
  try {
    validateId(id);
  } catch (err) {
    throw new NetAddressInvalidError(noProto, (err as Error).message, { cause: err });
  }
  let host: string;
  let portStr: string;
  try {
    [host, portStr] = splitHostPort(hostPort);
  } catch (err) {
    throw new NetAddressInvalidError(hostPort, (err as Error).message, { cause: err });
  }
  if (host.length === 0) throw new NetAddressInvalidError(hostPort, "host is empty");
  return { id, host, portStr };
}

/** A peer address: node ID (may be empty for a bare socket address), IP, port. Immutable. */
export class NetAddress {
  /** Node ID (40 lower-case hex), or `""` for an address without one. */
  readonly id: string;
  /** Canonical IP text (Go `ip.String()`): dotted IPv4, RFC 5952 IPv6. */
  readonly ip: string;
  /** TCP port, 0–65535. */
  readonly port: number;
  readonly #ip16: Uint8Array;

  private constructor(id: string, ip16: Uint8Array, port: number) {
    this.id = id;
    this.#ip16 = ip16;
    this.ip = formatIP(ip16);
    this.port = port;
  }

  /**
   * An address from an IP (literal text, or 4/16 bytes) and port, optionally with an ID
   * (not validated, as Go's `NewNetAddressIPPort`).
   * @throws NetAddressInvalidError for a non-literal IP or a port outside 0–65535.
   */
  static fromIPPort(ip: string | Uint8Array, port: number, id = ""): NetAddress {
    let ip16: Uint8Array | null;
    if (typeof ip === "string") ip16 = parseIP(ip);
    else ip16 = ip.length === 4 || ip.length === IPV6_LEN ? to16(ip).slice() : null;
    if (!ip16) throw new NetAddressInvalidError(String(ip), "not an IP address");
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new NetAddressInvalidError(String(port), "port out of range");
    }
    return new NetAddress(id, ip16, port);
  }

  /**
   * Parses `id@host:port` (a `proto://` prefix is allowed) exactly as Go's
   * `NewNetAddressString`, resolving a non-literal host and taking the first IP.
   * @throws NetAddressNoIdError, NetAddressInvalidError, NetAddressLookupError
   */
  static async parse(s: string, opts: ParseOptions = {}): Promise<NetAddress> {
    const { id, host, portStr } = splitAddress(s);
    let ip16 = parseIP(host);
    if (!ip16) {
      // Go resolves before it parses the port, so a bad host wins over a bad port.
      const lookup = opts.lookup ?? resolveHost;
      let ips: string[];
      try {
        ips = await lookup(host);
      } catch (err) {
        throw new NetAddressLookupError(host, (err as Error).message, { cause: err });
      }
      const first = ips.length > 0 ? parseIP(ips[0]) : null;
      if (!first) throw new NetAddressLookupError(host, `lookup ${host}: no such host`);
      ip16 = first;
    }
    return new NetAddress(id, ip16, parsePort(portStr));
  }

  /**
   * Like {@link parse} but never resolves: a host that is not an IP literal throws
   * NetAddressLookupError (the "would need DNS" class, which config-list readers skip).
   */
  static parseNoLookup(s: string): NetAddress {
    const { id, host, portStr } = splitAddress(s);
    const ip16 = parseIP(host);
    if (!ip16) throw new NetAddressLookupError(host, "not an IP literal and lookup is disabled");
    return new NetAddress(id, ip16, parsePort(portStr));
  }

  /**
   * From the protobuf form, with Go's decode checks (the ID is not validated here).
   * @throws NetAddressInvalidError "invalid IP address X" / "invalid port number X"
   */
  static fromProto(p: { id?: string; ip?: string; port?: number }): NetAddress {
    const ipText = p.ip ?? "";
    const ip16 = parseIP(ipText);
    if (!ip16) throw new NetAddressInvalidError(ipText, `invalid IP address ${ipText}`);
    const port = Number(p.port ?? 0);
    if (!Number.isInteger(port) || port < 0 || port >= 0x10000) {
      throw new NetAddressInvalidError(String(p.port), `invalid port number ${p.port}`);
    }
    return new NetAddress(p.id ?? "", ip16, port);
  }

  /** The protobuf form `{id, ip, port}` (ip as canonical text). */
  toProto(): { id: string; ip: string; port: number } {
    return { id: this.id, ip: this.ip, port: this.port };
  }

  /** A copy with another ID. */
  withId(id: string): NetAddress {
    return new NetAddress(id, this.#ip16, this.port);
  }

  /** `host:port` (IPv6 bracketed), Go's `DialString`. */
  dialString(): string {
    return joinHostPort(this.ip, this.port);
  }

  /** `id@host:port`, or `host:port` when there is no ID. */
  toString(): string {
    return this.id ? `${this.id}@${this.dialString()}` : this.dialString();
  }

  /** A copy of the 16-byte IP (IPv4 as IPv4-mapped). */
  ipBytes(): Uint8Array {
    return this.#ip16.slice();
  }

  /** Whether the IP is IPv4 (or IPv4-mapped). */
  isIPv4(): boolean {
    return isIPv4(this.#ip16);
  }

  /** Why {@link valid} is false, or `null` when valid (Go `Valid()` error text). */
  invalidReason(): string | null {
    try {
      validateId(this.id);
    } catch (err) {
      return `invalid ID: ${(err as Error).message}`;
    }
    const ip = this.#ip16;
    if (isUnspecified(ip) || isRFC3849(ip) || isIPv4Broadcast(ip)) return "invalid IP";
    return null;
  }

  /** Valid ID, and IP not unspecified, not 2001:db8::/32, not 255.255.255.255. */
  valid(): boolean {
    return this.invalidReason() === null;
  }

  /** Loopback or 0.0.0.0/8. */
  local(): boolean {
    return isLoopback(this.#ip16) || isZero4(this.#ip16);
  }

  /** Valid and outside every private / link-local / unique-local / ORCHID range, not local. */
  routable(): boolean {
    if (!this.valid()) return false;
    const ip = this.#ip16;
    return !isRFC1918(ip) && !isRFC3927(ip) && !isRFC4862(ip) && !isRFC4193(ip) &&
      !isRFC4843(ip) && !this.local();
  }

  /** Same full string (ID, IP and port). */
  equals(o: NetAddress | null | undefined): boolean {
    return o != null && this.toString() === o.toString();
  }

  /** Same dial string, or the same non-empty ID. */
  same(o: NetAddress | null | undefined): boolean {
    if (o == null) return false;
    return this.dialString() === o.dialString() || (this.id !== "" && this.id === o.id);
  }
}

/** Result of {@link parseAddressList}. */
export interface AddressList {
  addrs: NetAddress[];
  /** Elements whose host did not resolve; Go logs and skips these. */
  lookupErrors: NetAddressLookupError[];
}

/**
 * Parses a comma-separated config list (`seeds`, `persistent_peers`, ...): elements are trimmed
 * and empty ones dropped. Lookup failures are collected and skipped, as CometBFT does; any other
 * error aborts.
 * @param opts.lookup a custom resolver, or `false` to accept IP literals only (hostnames then
 * land in `lookupErrors`).
 * @throws NetAddressNoIdError | NetAddressInvalidError on the first malformed element.
 */
export async function parseAddressList(
  csv: string,
  opts: { lookup?: HostResolver | false } = {},
): Promise<AddressList> {
  const out: AddressList = { addrs: [], lookupErrors: [] };
  for (const raw of csv.split(",")) {
    // CometBFT's SplitAndTrimEmpty trims spaces only, not other whitespace.
    const s = raw.replace(/^ +| +$/g, "");
    if (!s) continue;
    try {
      out.addrs.push(
        opts.lookup === false
          ? NetAddress.parseNoLookup(s)
          : await NetAddress.parse(s, { lookup: opts.lookup }),
      );
    } catch (err) {
      if (err instanceof NetAddressLookupError) out.lookupErrors.push(err);
      else throw err;
    }
  }
  return out;
}
