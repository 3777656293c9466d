/**
 * The Switch's remove-peer flow (Go `StopPeerForError`, `StopPeerGracefully`,
 * `stopAndRemovePeer`): stop the peer, `removePeer` on every reactor, leave the peer set, and
 * redial a persistent peer (at once after a connection error, after a cooldown after a protocol
 * violation). Split from `switch.ts`, which keeps the public methods and delegates here.
 * @module
 */
import type { Logger } from "../libs/log.ts";
import type { P2PMetrics } from "./metrics.ts";
import { idAddressString, NetAddress } from "./netaddress.ts";
import type { Peer } from "./peer.ts";
import type { PeerSet } from "./peer_set.ts";
import { describeStopReason, type StopReason } from "./stop_reason.ts";
import type { PeerAdmission } from "./switch_add_peer.ts";
import type { ReactorTable } from "./switch_reactors.ts";

/** What {@link PeerRemoval} needs from its switch. */
export interface PeerRemovalContext {
  readonly log: Logger;
  readonly metrics: P2PMetrics;
  readonly peers: PeerSet;
  readonly table: ReactorTable;
  /** The switch's add-peer flow (a getter: it is built after this object). */
  readonly admission: () => PeerAdmission;
  /** Pause before redialing a persistent peer stopped for a protocol violation. */
  readonly reactorErrorCooldownMs: number;
  readonly isRunning: () => boolean;
  /** Tracks a background task so the switch's stop waits for it. */
  readonly track: <T>(p: Promise<T>) => Promise<T>;
  /** Starts (and tracks) a redial loop for `addr` after `delayMs`. */
  readonly redial: (addr: NetAddress, delayMs: number) => void;
}

/** Stops and removes peers, once per peer object. */
export class PeerRemoval {
  readonly #ctx: PeerRemovalContext;
  readonly #removals = new WeakMap<Peer, Promise<void>>();

  constructor(ctx: PeerRemovalContext) {
    this.#ctx = ctx;
  }

  /** Records `peer` as already removed (the add-peer flow discarded it before it was added). */
  markRemoved(peer: Peer): void {
    this.#removals.set(peer, Promise.resolve());
  }

  /** Stops `peer` for `reason` and redials it if persistent (see the module comment). */
  async stopForError(peer: Peer, reason: StopReason): Promise<void> {
    const { log } = this.#ctx;
    if (peer.state === "created") {
      // Called from initPeer: the add-peer flow sees it and does not add the peer.
      peer.requestStop(reason);
      return;
    }
    if (!peer.isRunning) return;
    // A peer hanging up or timing out is routine churn (debug); a protocol violation is worth an
    // operator's attention (error). CometBFT logs both at error, a common operator complaint.
    const level = reason.kind === "protocol_violation" ? "error" : "debug";
    log[level]("Stopping peer for error", { peer, err: describeStopReason(reason) });
    await this.stopAndRemove(peer, reason);
    if (!peer.isPersistent || !this.#ctx.isRunning()) return;
    let addr: NetAddress;
    if (peer.isOutbound) addr = peer.socketAddr;
    else {
      try {
        addr = await NetAddress.parse(idAddressString(peer.id, peer.nodeInfo.listenAddr));
      } catch (e) {
        log.error(
          "Wanted to reconnect to inbound peer, but self-reported address is wrong",
          { peer, err: e },
        );
        return;
      }
    }
    if (reason.kind === "protocol_violation") {
      log.info("Persistent peer stopped for a protocol violation; redialing after cooldown", {
        peer,
        cooldownMs: this.#ctx.reactorErrorCooldownMs,
      });
      this.#ctx.redial(addr, this.#ctx.reactorErrorCooldownMs);
    } else {
      log.info("Persistent peer stopped for a connection error; redialing now", { peer });
      this.#ctx.redial(addr, 0);
    }
  }

  /**
   * What a stop call resolves with: the removal, unless a callback of that peer is in flight
   * (its `addPeer` or `receive`, maybe the very caller, which the removal waits for): then once
   * the peer is stopped, so a reactor awaiting the stop from inside that callback cannot wait
   * on itself.
   */
  whenStopped(peer: Peer, removal: Promise<void>): Promise<void> {
    if (peer.receiveInFlight || this.#ctx.admission().isAdding(peer)) {
      return Promise.race([removal, peer.quit()]);
    }
    return removal;
  }

  /**
   * Go's `stopAndRemovePeer`: close the socket (leaving the connection set), stop the peer,
   * `removePeer` on every reactor, then leave the peer set (last, so a reconnect cannot be
   * added before every reactor forgot the old connection). Once per peer object.
   */
  stopAndRemove(peer: Peer, reason: StopReason): Promise<void> {
    let p = this.#removals.get(peer);
    if (p) return p;
    const { log, metrics, peers, table } = this.#ctx;
    const admission = this.#ctx.admission();
    p = (async () => {
      peer.closeConn();
      await peer.stop();
      // Every addPeer and receive call of this peer ends before the first removePeer.
      await admission.adding(peer);
      await peer.settleReceive();
      await table.removePeer(peer, reason, table.reactors.keys(), log);
      if (peers.remove(peer)) {
        metrics.peersAdd(-1);
        admission.idFreed(peer.id);
      } else log.debug("error on peer removal", { peer: peer.id });
    })();
    this.#removals.set(peer, p);
    return p;
  }
}
