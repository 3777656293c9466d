/**
 * One peer-management sequence per node ID (the switch's part of the reactor grammar at the
 * level of IDs): a connection reserves its peer's ID before the (possibly async) peer filters
 * run and keeps it until the peer is in the peer set or dropped, so two connections to one node
 * never overlap in front of reactors.
 *
 * When two connections to the same node meet in that window (both nodes dialed each other at
 * the same moment), both ends pick the same winner without talking: the connection dialed by
 * the node with the smaller ID. Go (`p2p/switch.go`) keeps whichever connection finished first
 * on each side, so in a cross-dial the two nodes can keep different connections and lose both;
 * here the loser is closed before any reactor saw it, and is never reported as a violation.
 *
 * A node already in the peer set keeps its connection and a new one is refused, as in Go: a
 * remote may open a second connection on purpose (a seed verifying our address), which must not
 * replace the peer. So a cross-dial where one end admitted the first connection before the
 * second arrived while the other end still held both in the window can still end with both
 * connections closed (seen by reactors as a `connection_error`, never a violation); the
 * reservation window (handshake to peer set, async filters included) makes that rare.
 * @module
 */
import type { TransportConn } from "./transport.ts";

/**
 * True if `conn` is the connection both ends keep when two connections between the same pair
 * of nodes exist: the one dialed by the node with the smaller ID.
 */
export function isPreferredConn(outbound: boolean, ourId: string, theirId: string): boolean {
  return outbound ? ourId < theirId : theirId < ourId;
}

/** The outcome of {@link IdReservations.reserve}. */
export type ReserveOutcome =
  /** The ID was free: `conn` holds it now. */
  | "reserved"
  /** Another connection held the ID and loses to `conn`; `conn` holds it now. */
  | "superseded"
  /** Another connection holds the ID and keeps it: `conn` must be closed. */
  | "refused";

/** Node IDs with a connection between handshake and peer set, one connection per ID. */
export class IdReservations {
  readonly #held = new Map<string, TransportConn>();

  /** True while some connection holds `id`. */
  has(id: string): boolean {
    return this.#held.has(id);
  }

  /**
   * Reserves `conn`'s node ID. A held ID goes to `conn` only if `conn` is the preferred
   * connection (see {@link isPreferredConn}) and the holder is not.
   */
  reserve(conn: TransportConn, ourId: string): ReserveOutcome {
    const id = conn.nodeInfo.id;
    const holder = this.#held.get(id);
    if (holder === undefined) {
      this.#held.set(id, conn);
      return "reserved";
    }
    if (holder === conn) return "reserved";
    if (
      isPreferredConn(conn.outbound, ourId, id) && !isPreferredConn(holder.outbound, ourId, id)
    ) {
      this.#held.set(id, conn);
      return "superseded";
    }
    return "refused";
  }

  /** True if `conn` still holds its ID (false once a preferred connection took it over). */
  holds(conn: TransportConn): boolean {
    return this.#held.get(conn.nodeInfo.id) === conn;
  }

  /** Releases the ID if `conn` holds it. */
  release(conn: TransportConn): void {
    if (this.holds(conn)) this.#held.delete(conn.nodeInfo.id);
  }
}
