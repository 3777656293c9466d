/**
 * The switch's add-peer flow (Go `Switch.addPeer`, spec §7.3), apart from `switch.ts` to keep
 * both readable: the node-ID reservation and the cross-dial rule of `switch_admission.ts`, the
 * peer filters, `initPeer` on every reactor (awaited), start, the peer set, `addPeer` on every
 * reactor (awaited), and the bookkeeping a removal waits for.
 * @module
 */
import { NotStartedError } from "./errors.ts";
import type { P2PMetrics } from "./metrics.ts";
import { Peer } from "./peer.ts";
import { DuplicatePeerIdError, type PeerSet } from "./peer_set.ts";
import { describeStopReason, protocolViolation, SHUTDOWN, type StopReason } from "./stop_reason.ts";
import { IdReservations, isPreferredConn, PREFERRED_CONN_WAIT_MS } from "./switch_admission.ts";
import {
  type PeerFilter,
  PeerFilteredError,
  runPeerFilters,
  type SwitchConfig,
} from "./switch_config.ts";
import type { PeerClasses } from "./switch_peer_classes.ts";
import type { ReactorTable } from "./switch_reactors.ts";
import type { TransportConn } from "./transport.ts";
import type { Logger } from "../libs/log.ts";

/** What the add-peer flow needs from the switch. */
export interface AdmitContext {
  /** The switch's logger. */
  readonly log: Logger;
  /** The switch's metrics. */
  readonly metrics: P2PMetrics;
  /** The connected peers. */
  readonly peers: PeerSet;
  /** The registered reactors and their channels. */
  readonly table: ReactorTable;
  /** Persistent / unconditional / private peers. */
  readonly classes: PeerClasses;
  /** The switch's peer filters. */
  readonly peerFilters: readonly PeerFilter[];
  /** The switch's settings. */
  readonly config: Readonly<SwitchConfig>;
  /** Aborted when the switch stops. */
  readonly signal: AbortSignal;
  /** Our node ID. */
  ourId(): string;
  /** True while the switch runs. */
  isRunning(): boolean;
  /** The reactors' start while the switch is starting, else undefined. */
  starting(): Promise<void> | undefined;
  /** The switch's `stopPeerForError` (tracked by the switch). */
  stopPeerForError(peer: Peer, reason: StopReason): void;
  /** Tracks a background task so the switch's stop waits for it. */
  track<T>(p: Promise<T>): Promise<T>;
  /** Records that `peer` (never added) has been removed already. */
  markRemoved(peer: Peer): void;
}

/** The add-peer flow and its per-ID and per-peer bookkeeping. */
export class PeerAdmission {
  readonly #ctx: AdmitContext;
  readonly #ids = new IdReservations();
  /** Preferred connections waiting for a node's admitted connection to go away. */
  readonly #idWaiters = new Map<string, PromiseWithResolvers<void>>();
  /** The running `addPeer` calls of each peer: its removal waits for them. */
  readonly #adding = new WeakMap<Peer, Promise<void>>();
  /** Peers whose `addPeer` calls are running. */
  readonly #addingNow = new Set<Peer>();

  constructor(ctx: AdmitContext) {
    this.#ctx = ctx;
  }

  /** True while a connection to node `id` is between handshake and peer set. */
  isReserved(id: string): boolean {
    return this.#ids.has(id);
  }
  /** The running `addPeer` calls of `peer` (resolved when none). */
  adding(peer: Peer): Promise<void> | undefined {
    return this.#adding.get(peer);
  }
  /** True while `addPeer` calls of `peer` run. */
  isAdding(peer: Peer): boolean {
    return this.#addingNow.has(peer);
  }

  /**
   * Go's `addPeer` (spec §7.3): reserve the ID → filters → initPeer on every reactor → start →
   * peer set → addPeer on every reactor. On failure the connection is closed and the error
   * rethrown; a reactor that saw `initPeer` always sees `removePeer`. The ID stays reserved
   * from before the filters until the peer is in the set, so a second connection to the same
   * node cannot start its own sequence meanwhile (see `switch_admission.ts`).
   */
  async addPeer(conn: TransportConn): Promise<void> {
    // An outbound connection made while the reactors start waits for them (accepts only begin
    // once they all started).
    if (this.#ctx.starting() !== undefined) await this.#ctx.starting()!.catch(() => {});
    if (!this.#ctx.isRunning()) {
      conn.close();
      throw new NotStartedError("switch is not running");
    }
    if (this.#shouldWaitForId(conn)) {
      // Inbound: in the background, so the accept routine is not held up.
      if (!conn.outbound) {
        this.#ctx.track(this.#waitThenAdmit(conn)).catch((e) =>
          this.#ctx.log.debug("Ignoring inbound connection: error while adding peer", { err: e })
        );
        return;
      }
      return this.#waitThenAdmit(conn);
    }
    return this.#reserveAndAdmit(conn);
  }

  async #reserveAndAdmit(conn: TransportConn): Promise<void> {
    const id = conn.nodeInfo.id;
    // A peer reactors already see keeps its connection (as in Go): a second one from the same
    // node, be it a probe (a seed verifying our address) or a late cross-dial, is refused.
    if (this.#ctx.peers.has(id) || this.#ids.reserve(conn, this.#ctx.ourId()) === "refused") {
      conn.close();
      throw new DuplicatePeerIdError(id);
    }
    try {
      await this.#admit(conn);
    } finally {
      this.#ids.release(conn);
      this.idFreed(id);
    }
  }

  /**
   * True if `conn` is the preferred connection to a node whose other connection reactors
   * already see (see `switch_admission.ts`): it waits for that one to go instead of being
   * refused at once.
   */
  #shouldWaitForId(conn: TransportConn): boolean {
    const ourId = this.#ctx.ourId();
    const id = conn.nodeInfo.id;
    const existing = this.#ctx.peers.get(id)?.isOutbound ?? this.#ids.committed(id)?.outbound;
    return existing !== undefined && isPreferredConn(conn.outbound, ourId, id) &&
      !isPreferredConn(existing, ourId, id);
  }

  async #waitThenAdmit(conn: TransportConn): Promise<void> {
    const id = conn.nodeInfo.id;
    const deadline = performance.now() + PREFERRED_CONN_WAIT_MS;
    while (this.#ctx.peers.has(id) || this.#ids.has(id)) {
      const left = deadline - performance.now();
      if (left <= 0 || !this.#ctx.isRunning()) break;
      let w = this.#idWaiters.get(id);
      if (w === undefined) this.#idWaiters.set(id, w = Promise.withResolvers<void>());
      await wakeOrTimeout(w.promise, left, this.#ctx.signal);
    }
    return this.#reserveAndAdmit(conn);
  }

  /** Wakes connections waiting for `id` to be free (the switch calls it when a peer left). */
  idFreed(id: string): void {
    const w = this.#idWaiters.get(id);
    if (w === undefined) return;
    this.#idWaiters.delete(id);
    w.resolve();
  }

  /** The add-peer flow of a connection holding its ID's reservation. */
  async #admit(conn: TransportConn): Promise<void> {
    let peer: Peer;
    try {
      const persistent = await this.#ctx.classes.isPersistentConn(conn);
      peer = new Peer({
        conn,
        persistent,
        channels: this.#ctx.table.channels,
        routes: this.#ctx.table.routes,
        onPeerError: (p, reason) => this.#ctx.stopPeerForError(p, reason),
        mconnConfig: this.#ctx.config.mconnConfig,
        logger: this.#ctx.log,
        metrics: this.#ctx.metrics,
      });
      this.#checkReservation(conn);
      await runPeerFilters(
        this.#ctx.peerFilters,
        this.#ctx.peers.snapshot(),
        peer,
        this.#ctx.config.filterTimeoutMs,
      );
      // From here on reactors see the peer: no other connection may displace it.
      if (!this.#ids.commit(conn)) throw new DuplicatePeerIdError(conn.nodeInfo.id);
    } catch (e) {
      conn.close();
      throw e;
    }
    if (!this.#ctx.isRunning()) {
      this.#ctx.log.error("Won't start a peer - switch is not running", { peer });
      peer.closeConn();
      return;
    }
    const initialized: string[] = [];
    let failure: StopReason | undefined;
    try {
      failure = await this.#ctx.table.initPeer(peer, initialized, () => peer.stopRequest);
      if (failure === undefined && !this.#ctx.isRunning()) failure = SHUTDOWN;
      if (failure === undefined) {
        peer.start();
        this.#ctx.peers.add(peer);
      }
    } catch (e) {
      failure = protocolViolation(e instanceof Error ? e : new Error(String(e)));
    }
    if (failure !== undefined) {
      const err = failure.kind === "protocol_violation" || failure.kind === "connection_error"
        ? failure.error
        : new PeerFilteredError(`peer ${peer.id} not added: ${describeStopReason(failure)}`);
      this.#ctx.log.error("Error starting peer", { err, peer });
      peer.closeConn();
      await peer.stop();
      await this.#ctx.table.removePeer(peer, failure, initialized, this.#ctx.log);
      this.#ctx.markRemoved(peer);
      throw err;
    }
    this.#ids.release(conn);
    this.#ctx.metrics.peersAdd(1);
    this.#addingNow.add(peer);
    const adding = this.#ctx.table.addPeer(peer).then((f) => {
      this.#addingNow.delete(peer);
      if (f) this.#ctx.stopPeerForError(peer, protocolViolation(f.err, f.name));
    });
    this.#adding.set(peer, adding);
    await adding;
    this.#ctx.log.debug("Added peer", { peer });
  }

  /** Throws (quietly: a duplicate) if a preferred connection took this one's ID over. */
  #checkReservation(conn: TransportConn): void {
    if (!this.#ids.holds(conn)) throw new DuplicatePeerIdError(conn.nodeInfo.id);
  }
}

/** Resolves when `p` settles, after `ms`, or when `signal` aborts; cleans up after itself. */
function wakeOrTimeout(p: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    p.then(done, done);
  });
}
