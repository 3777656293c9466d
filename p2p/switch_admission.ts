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
 * Once reactors see a connection (its reservation is committed, then it is in the peer set) it
 * is never displaced: a remote may open a second connection on purpose (a seed verifying our
 * address), which must not replace the peer. A preferred newcomer then waits (at most
 * {@link PREFERRED_CONN_WAIT_MS}) for that peer's sequence to end instead of being refused at
 * once: if the other end kept the newcomer it closes the old connection, whose removal lets the
 * newcomer in; if it kept the old one it closes the newcomer, which then fails. Either way both
 * ends keep the same connection, also when one end admitted the first connection before the
 * second arrived while the other still had both in the window.
 * @module
 */
import type { TransportConn } from "./transport.ts";

/**
 * How long a preferred connection waits for an admitted connection of the same node to go away
 * (the other end closes the one it drops as soon as the second connection reaches it). Past it
 * the newcomer is closed as a duplicate, as Go does at once.
 */
export const PREFERRED_CONN_WAIT_MS = 3_000;

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

/**
 * Node IDs with a connection between handshake and peer set, one connection per ID. A holder
 * can be displaced by a preferred connection until it {@link commit}s (right before the first
 * reactor callback); after that every other connection to the node is refused.
 */
export class IdReservations {
  readonly #held = new Map<string, { conn: TransportConn; committed: boolean }>();

  /** True while some connection holds `id`. */
  has(id: string): boolean {
    return this.#held.has(id);
  }

  /** The committed holder of `id`, if any (its peer is in front of reactors). */
  committed(id: string): TransportConn | undefined {
    const h = this.#held.get(id);
    return h?.committed ? h.conn : undefined;
  }

  /**
   * Reserves `conn`'s node ID. A held ID goes to `conn` only if `conn` is the preferred
   * connection (see {@link isPreferredConn}) and the holder is not.
   */
  reserve(conn: TransportConn, ourId: string): ReserveOutcome {
    const id = conn.nodeInfo.id;
    const holder = this.#held.get(id);
    if (holder === undefined) {
      this.#held.set(id, { conn, committed: false });
      return "reserved";
    }
    if (holder.conn === conn) return "reserved";
    if (
      !holder.committed && isPreferredConn(conn.outbound, ourId, id) &&
      !isPreferredConn(holder.conn.outbound, ourId, id)
    ) {
      this.#held.set(id, { conn, committed: false });
      // Closed now, so the other end learns it lost at once (its own flow notices later).
      holder.conn.close();
      return "superseded";
    }
    return "refused";
  }

  /** True if `conn` still holds its ID (false once a preferred connection took it over). */
  holds(conn: TransportConn): boolean {
    return this.#held.get(conn.nodeInfo.id)?.conn === conn;
  }

  /**
   * Makes `conn`'s reservation final: reactors are about to see the peer, so no connection may
   * displace it any more. Returns false (nothing changed) if `conn` no longer holds its ID.
   */
  commit(conn: TransportConn): boolean {
    const h = this.#held.get(conn.nodeInfo.id);
    if (h?.conn !== conn) return false;
    h.committed = true;
    return true;
  }

  /** Releases the ID if `conn` holds it. */
  release(conn: TransportConn): void {
    if (this.holds(conn)) this.#held.delete(conn.nodeInfo.id);
  }
}
