/**
 * The deny-list (`p2p.deny_list`, a switchyard extra): IPs, CIDR ranges and node IDs we never
 * talk to. It plugs into the hooks the transport and switch already have:
 *
 * - {@link DenyList.connFilter} is a transport `ConnFilter`: it runs on every socket, inbound and
 *   outbound, right after TCP connect and before any crypto, so a denied IP never costs us a
 *   handshake;
 * - {@link DenyList.peerFilter} is a switch `PeerFilter` for IDs: an ID is only known once the
 *   SecretConnection authenticated it, so inbound ID denial happens after the handshake (and
 *   before the peer is started or any reactor sees it);
 * - {@link DenyList.deniesAddress} lets PEX refuse to store, serve or dial a denied address, so an
 *   outbound dial to a denied ID is never even attempted.
 * @module
 */
import { InvalidParametersError } from "../errors.ts";
import { IPNet, isIPv4, parseIP } from "../ip.ts";
import type { NetAddress } from "../netaddress.ts";
import type { Peer } from "../reactor_api.ts";
import type { IPeerSet } from "../peer_set.ts";

/** A deny-list entry did not parse. */
export class DenyListEntryError extends InvalidParametersError {}

/** Parsed deny-list. Immutable after construction. */
export class DenyList {
  readonly #ids = new Set<string>();
  readonly #nets: { text: string; net: IPNet }[] = [];

  /**
   * Parses entries: a 40-hex node ID, an IP literal (a host route), or a CIDR range.
   * @throws DenyListEntryError for anything else.
   */
  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const e = raw.trim();
      if (e === "") continue;
      if (/^[0-9a-fA-F]{40}$/.test(e)) {
        this.#ids.add(e.toLowerCase());
        continue;
      }
      let cidr = e;
      if (!e.includes("/")) {
        const ip = parseIP(e);
        if (!ip) throw new DenyListEntryError(`deny_list: "${e}" is not an IP, CIDR or node ID`);
        cidr = `${e}/${isIPv4(ip) ? 32 : 128}`;
      }
      try {
        this.#nets.push({ text: e, net: new IPNet(cidr) });
      } catch {
        throw new DenyListEntryError(`deny_list: "${e}" is not an IP, CIDR or node ID`);
      }
    }
  }

  /** No entries at all. */
  get empty(): boolean {
    return this.#ids.size === 0 && this.#nets.length === 0;
  }

  /** The entry that denies `ip` (canonical text or any IP literal), or undefined. */
  deniesIP(ip: string): string | undefined {
    if (this.#nets.length === 0) return undefined;
    const bytes = parseIP(ip);
    if (!bytes) return undefined;
    return this.#nets.find((n) => n.net.contains(bytes))?.text;
  }

  /** Whether the node ID is denied. */
  deniesId(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Why `addr` is denied (its ID or its IP), or undefined. */
  deniesAddress(addr: NetAddress): string | undefined {
    if (this.#ids.has(addr.id)) return `ID ${addr.id} is deny-listed`;
    const e = this.deniesIP(addr.ip);
    return e === undefined ? undefined : `IP ${addr.ip} is deny-listed (${e})`;
  }

  /** Transport connection filter (before the handshake): refuses deny-listed IPs. */
  readonly connFilter = (ip: string, _port: number): string | undefined => {
    const e = this.deniesIP(ip);
    return e === undefined ? undefined : `IP ${ip} is deny-listed (${e})`;
  };

  /** Switch peer filter (after the handshake authenticated the ID): refuses deny-listed IDs. */
  readonly peerFilter = (_peers: IPeerSet, peer: Peer): string | undefined => {
    if (this.#ids.has(peer.id)) return `ID ${peer.id} is deny-listed`;
    return undefined;
  };
}
