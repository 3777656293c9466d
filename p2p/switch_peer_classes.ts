/**
 * The Switch's peer classes (Go `persistentPeersAddrs`, `unconditionalPeerIDs`,
 * `privatePeerIDs`): which addresses are persistent (redialed), which IDs are unconditional
 * (bypass the inbound cap, not counted) and which are private (never gossiped).
 * @module
 */
import { InvalidParametersError } from "./errors.ts";
import { validateId } from "./key.ts";
import { idAddressString, NetAddress } from "./netaddress.ts";
import type { TransportConn } from "./transport.ts";

/** Persistent addresses and unconditional / private IDs. */
export class PeerClasses {
  #persistent: NetAddress[] = [];
  readonly #unconditional = new Set<string>();
  readonly #private = new Set<string>();

  /** Replaces the persistent peer list. */
  setPersistent(addrs: NetAddress[]): void {
    this.#persistent = addrs;
  }
  /** Adds unconditional IDs; throws {@link InvalidParametersError} (adding none) on a bad one. */
  addUnconditional(ids: readonly string[]): void {
    ids.forEach((id, i) => validateIdAt(id, i));
    for (const id of ids) this.#unconditional.add(id);
  }
  /** Adds private IDs; throws {@link InvalidParametersError} (adding none) on a bad one. */
  addPrivate(ids: readonly string[]): void {
    ids.forEach((id, i) => validateIdAt(id, i));
    for (const id of ids) this.#private.add(id);
  }
  /** The private IDs. */
  get privateIds(): ReadonlySet<string> {
    return this.#private;
  }
  /** True if `id` is unconditional. */
  isUnconditional(id: string): boolean {
    return this.#unconditional.has(id);
  }
  /** True if `addr` equals a persistent peer entry. */
  isPersistent(addr: NetAddress): boolean {
    return this.#persistent.some((p) => p.equals(addr));
  }
  /**
   * True if `conn` is to a persistent peer: its dialed address, or for an inbound connection
   * the ID and self-reported listen address (false when that does not parse).
   */
  async isPersistentConn(conn: TransportConn): Promise<boolean> {
    if (this.#persistent.length === 0) return false;
    if (conn.outbound) return this.isPersistent(conn.socketAddr);
    try {
      return this.isPersistent(
        await NetAddress.parse(idAddressString(conn.nodeInfo.id, conn.nodeInfo.listenAddr)),
      );
    } catch {
      return false;
    }
  }
}

function validateIdAt(id: string, i: number): void {
  try {
    validateId(id);
  } catch (e) {
    throw new InvalidParametersError(`wrong ID #${i}: ${(e as Error).message}`, { cause: e });
  }
}
