/**
 * The set of connected peers (CometBFT `p2p/peer_set.go`): keyed by node ID, insertion-ordered,
 * with copy-on-write snapshots so `Switch.peers()` hands out an immutable view that later
 * connects and disconnects never change.
 * @module
 */
import { RejectedError } from "./errors.ts";
import type { Peer } from "./peer.ts";
import type { PeerSetView } from "./reactor_api.ts";

/** Read-only view of a peer set (Go's `IPeerSet`), holding the switch's peer objects. */
export type IPeerSet = PeerSetView<Peer>;

/** A peer with the same node ID is already connected (Go: `duplicate ID<…>`). */
export class DuplicatePeerIdError extends RejectedError {
  readonly id: string;
  constructor(id: string) {
    super(`duplicate ID<${id}>`);
    this.id = id;
  }
}

/** The peer was already stopped and removed before it could be inserted (Go: `ErrPeerRemoval`). */
export class PeerRemovalFailedError extends RejectedError {
  constructor() {
    super("peer removal failed");
  }
}

/** An immutable snapshot of a peer set. */
class PeerSetSnapshot implements IPeerSet {
  readonly #byId: ReadonlyMap<string, Peer>;
  readonly #list: readonly Peer[];
  constructor(byId: ReadonlyMap<string, Peer>) {
    this.#byId = byId;
    this.#list = Object.freeze([...byId.values()]);
  }
  has(id: string): boolean {
    return this.#byId.has(id);
  }
  hasIP(ip: string): boolean {
    return this.#list.some((p) => p.remoteIP === ip);
  }
  get(id: string): Peer | undefined {
    return this.#byId.get(id);
  }
  list(): readonly Peer[] {
    return this.#list;
  }
  get size(): number {
    return this.#list.length;
  }
}

/** The mutable peer set owned by the switch. */
export class PeerSet implements IPeerSet {
  #byId = new Map<string, Peer>();
  #snapshot: PeerSetSnapshot | undefined;

  /**
   * Inserts `peer`. Throws {@link DuplicatePeerIdError} if its ID is present and
   * {@link PeerRemovalFailedError} if a removal of this peer object was already attempted
   * (it errored between start and insertion; inserting it would leak a dead peer).
   */
  add(peer: Peer): void {
    if (this.#byId.has(peer.id)) throw new DuplicatePeerIdError(peer.id);
    if (peer.removalFailed) throw new PeerRemovalFailedError();
    this.#byId.set(peer.id, peer);
    this.#snapshot = undefined;
  }

  /**
   * Removes this peer object. Returns false (and marks the peer, see {@link add}) if it is not
   * in the set; a different peer object with the same ID is left alone.
   */
  remove(peer: Peer): boolean {
    if (this.#byId.get(peer.id) !== peer) {
      peer.removalFailed = true;
      return false;
    }
    this.#byId.delete(peer.id);
    this.#snapshot = undefined;
    return true;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }
  hasIP(ip: string): boolean {
    for (const p of this.#byId.values()) if (p.remoteIP === ip) return true;
    return false;
  }
  get(id: string): Peer | undefined {
    return this.#byId.get(id);
  }
  list(): readonly Peer[] {
    return this.snapshot().list();
  }
  get size(): number {
    return this.#byId.size;
  }

  /** An immutable view of the current members, shared until the next change. */
  snapshot(): IPeerSet {
    if (this.#snapshot === undefined) this.#snapshot = new PeerSetSnapshot(new Map(this.#byId));
    return this.#snapshot;
  }
}
