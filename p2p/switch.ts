/**
 * The Switch (CometBFT `p2p/switch.go`): registers reactors and routes their channels, accepts
 * and dials peers through the {@link Transport}, runs the add/remove peer flow in the order the
 * reactor grammar requires, and redials persistent peers.
 *
 * Reactor call order is deterministic here: every per-peer step (`initPeer`, `addPeer`,
 * `removePeer`) and `start`/`stop` visit reactors in registration order (Go iterates a map, so
 * its order is random; nothing may depend on either).
 *
 * Deviations from Go, all deliberate: a peer that failed to start after `initPeer` gets
 * `removePeer` (Go leaks it); a peer arriving while the switch stops is closed (Go leaves the
 * socket open); a reactor's protocol-violation stop of a persistent peer redials after a
 * cooldown (Go: at once); `broadcast` reports the result per peer ID.
 * @module
 */
import { NotStartedError } from "./errors.ts";
import { idAddressString, NetAddress } from "./netaddress.ts";
import { Peer } from "./peer.ts";
import { DuplicatePeerIdError, type IPeerSet, PeerSet } from "./peer_set.ts";
import type { Envelope, Reactor, StreamDescriptor } from "./reactor.ts";
import { abortableSleep, Reconnector, type Sleep } from "./reconnect.ts";
import {
  describeStopReason,
  GRACEFUL,
  protocolViolation,
  SHUTDOWN,
  type StopReason,
  toStopReason,
} from "./stop_reason.ts";
import type { Transport, TransportConn } from "./transport.ts";
import { nopMetrics, type P2PMetrics } from "./metrics.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import {
  acceptRoutine,
  addOutboundPeer,
  CurrentlyDialingOrExistingAddressError,
  type DialContext,
  dialPeersAsync,
  parsePeerAddresses,
  type SwitchAddrBook,
} from "./switch_dial.ts";
import {
  DEFAULT_SWITCH_CONFIG,
  type PeerCounts,
  type PeerFilter,
  ReactorRegistrationError,
  runPeerFilters,
  type SwitchConfig,
  type SwitchOptions,
  type SwitchState,
} from "./switch_config.ts";
import { ReactorTable } from "./switch_reactors.ts";
import { PeerClasses } from "./switch_peer_classes.ts";

export { CurrentlyDialingOrExistingAddressError, type SwitchAddrBook };
export * from "./switch_config.ts";

/** The switch. */
export class Switch {
  readonly config: Readonly<SwitchConfig>;
  readonly transport: Transport;
  readonly #log: Logger;
  readonly #metrics: P2PMetrics;
  readonly #addrBook: SwitchAddrBook | undefined;
  readonly #peerFilters: PeerFilter[];
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #table = new ReactorTable();
  readonly #peers = new PeerSet();
  readonly #dialing = new Map<string, NetAddress>();
  readonly #removals = new WeakMap<Peer, Promise<void>>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #ac = new AbortController();
  readonly #reconnector: Reconnector;
  readonly #classes = new PeerClasses();
  #state: SwitchState = "created";
  #acceptLoop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(opts: SwitchOptions) {
    this.transport = opts.transport;
    this.config = { ...DEFAULT_SWITCH_CONFIG, ...opts.config };
    this.#log = opts.logger ?? nopLogger;
    this.#metrics = opts.metrics ?? nopMetrics;
    this.#addrBook = opts.addrBook;
    this.#peerFilters = opts.peerFilters ?? [];
    this.#sleep = opts.sleep ?? abortableSleep;
    this.#random = opts.random ?? Math.random;
    this.#reconnector = new Reconnector({
      dial: (addr) => this.#redial(addr),
      signal: this.#ac.signal,
      schedule: this.config.reconnect,
      sleep: this.#sleep,
      random: this.#random,
      logger: this.#log,
    });
  }

  // ---- registration ------------------------------------------------------------------------

  /**
   * Registers `reactor` under `name` (before start). Throws {@link ReactorRegistrationError}
   * for a duplicate name, a channel id used twice, or a bad descriptor.
   */
  addReactor<R extends Reactor>(name: string, reactor: R): R {
    if (this.#state !== "created") {
      throw new ReactorRegistrationError(`cannot add reactor ${name}: switch is ${this.#state}`);
    }
    this.#table.register(name, reactor);
    reactor.setSwitch(this);
    return reactor;
  }

  /** The reactor registered under `name`. */
  reactor(name: string): Reactor | undefined {
    return this.#table.reactors.get(name);
  }
  /** All reactors by name, in registration order. */
  reactors(): ReadonlyMap<string, Reactor> {
    return this.#table.reactors;
  }
  /** Every channel descriptor in registration order (what our NodeInfo should advertise). */
  channels(): readonly StreamDescriptor[] {
    return this.#table.channels;
  }
  /** Channel ids in registration order, as NodeInfo's `channels` bytes. */
  channelIds(): Uint8Array {
    return Uint8Array.from(this.#table.channels, (c) => c.id);
  }

  // ---- peer classes ------------------------------------------------------------------------

  /** Sets the persistent peers (`id@host:port` list); hostnames are resolved now. */
  async addPersistentPeers(addrs: readonly string[]): Promise<void> {
    this.#log.info("Adding persistent peers", { addrs: [...addrs] });
    this.#classes.setPersistent(await parsePeerAddresses(this.#log, addrs));
  }
  /** Peers that bypass the inbound cap and are not counted (validated IDs). */
  addUnconditionalPeerIds(ids: readonly string[]): void {
    this.#log.info("Adding unconditional peer ids", { ids: ids.join(",") });
    this.#classes.addUnconditional(ids);
  }
  /** Peers never gossiped by PEX; forwarded to the address book. */
  addPrivatePeerIds(ids: readonly string[]): void {
    this.#classes.addPrivate(ids);
    this.#addrBook?.addPrivateIds?.(ids);
  }
  /** Private peer IDs (for PEX). */
  get privatePeerIds(): ReadonlySet<string> {
    return this.#classes.privateIds;
  }
  /** True if `id` is an unconditional peer. */
  isPeerUnconditional(id: string): boolean {
    return this.#classes.isUnconditional(id);
  }
  /** True if `addr` equals a persistent peer entry. */
  isPeerPersistent(addr: NetAddress): boolean {
    return this.#classes.isPersistent(addr);
  }
  /** `max_num_outbound_peers` (for PEX). */
  maxNumOutboundPeers(): number {
    return this.config.maxNumOutboundPeers;
  }

  // ---- state -------------------------------------------------------------------------------

  /** Lifecycle state. */
  get state(): SwitchState {
    return this.#state;
  }
  /** True between start and the beginning of stop. */
  get isRunning(): boolean {
    return this.#state === "running";
  }
  /** Aborted when the switch begins to stop. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }
  /** Our own address: our ID at the transport's listen address. */
  netAddress(): NetAddress | undefined {
    const a = this.transport.listenAddr;
    return a ? NetAddress.fromIPPort(a.hostname, a.port, this.transport.nodeInfo.id) : undefined;
  }
  /** An immutable snapshot of the connected peers. */
  peers(): IPeerSet {
    return this.#peers.snapshot();
  }
  /** Connected outbound and inbound peers (unconditional excluded) and dials in progress. */
  numPeers(): PeerCounts {
    let outbound = 0;
    let inbound = 0;
    for (const p of this.#peers.list()) {
      if (this.#classes.isUnconditional(p.id)) continue;
      if (p.isOutbound) outbound++;
      else inbound++;
    }
    return { outbound, inbound, dialing: this.#dialing.size };
  }
  /** Dialing that ID, connected to it, or (unless duplicate IPs are allowed) to its IP. */
  isDialingOrExistingAddress(addr: NetAddress): boolean {
    return this.#dialing.has(addr.id) || this.#peers.has(addr.id) ||
      (!this.config.allowDuplicateIP && this.#peers.hasIP(addr.ip));
  }
  /** True while a redial loop for this ID is running (cooldown included). */
  isReconnecting(id: string): boolean {
    return this.#reconnector.has(id);
  }

  /** Starts every reactor (registration order), then the accept routine. */
  async start(): Promise<void> {
    if (this.#state !== "created") throw new ReactorRegistrationError(`switch is ${this.#state}`);
    this.#state = "running";
    await this.#table.startAll();
    this.#acceptLoop = this.#acceptRoutine();
  }

  /**
   * Stops every peer (reason `shutdown`), waits for in-flight dials, removals and redial loops,
   * stops every reactor, then closes the transport. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === "running";
    this.#state = "stopping";
    this.#ac.abort(new NotStartedError("switch stopped"));
    await Promise.all(this.#peers.list().map((p) => this.#stopAndRemovePeer(p, SHUTDOWN)));
    await this.#drain();
    if (wasRunning) {
      this.#log.debug("Switch: Stopping reactors");
      await this.#table.stopAll(this.#log);
    }
    await this.transport.close();
    await this.#acceptLoop;
    await this.#drain();
    this.#state = "stopped";
  }

  async #drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /** Tracks a background task so `stop` waits for it. */
  #track<T>(p: Promise<T>): Promise<T> {
    this.#tasks.add(p);
    p.then(() => this.#tasks.delete(p), () => this.#tasks.delete(p));
    return p;
  }

  // ---- reactor-facing API ------------------------------------------------------------------

  /**
   * Sends `envelope` to every connected peer in parallel, marshalling once. Non-blocking: the
   * promise resolves with each peer's result (keyed by node ID) when every send has finished
   * (each may wait up to 10 s). Unknown channel or marshal failure → every peer false.
   */
  broadcast(envelope: Envelope): Promise<ReadonlyMap<string, boolean>> {
    this.#log.debug("Broadcast", { channel: envelope.channelId });
    const peers = this.#peers.list();
    const route = this.#table.routes.get(envelope.channelId);
    let bytes: Uint8Array | undefined;
    let label = "";
    if (route) {
      try {
        bytes = route.codec.encode(envelope.message);
        label = route.codec.labelOf(envelope.message);
      } catch (e) {
        this.#log.debug("Broadcast: marshaling failed", { err: e });
      }
    }
    const sends = peers.map(async (p): Promise<[string, boolean]> => {
      if (bytes === undefined) {
        // Counts the failure on the peer, with the right reason.
        return [p.id, await p.send(envelope)];
      }
      return [p.id, await p.sendBytes(envelope.channelId, bytes, label)];
    });
    return this.#track(Promise.all(sends).then((r) => new Map(r)));
  }

  /** Tells the address book this peer behaved well. */
  markPeerAsGood(peer: Peer): void {
    this.#addrBook?.markGood?.(peer.id);
  }

  /**
   * Stops `peer` because of `reason` (a bare Error counts as a protocol violation) and, for a
   * persistent peer, starts a redial loop: at once after a connection error, after
   * `reactorErrorCooldownMs` after a protocol violation. No-op if the peer is not running.
   * Reactors need not await it; the switch tracks it.
   */
  stopPeerForError(peer: Peer, reason: StopReason | Error): Promise<void> {
    return this.#track(this.#stopPeerForError(peer, toStopReason(reason)));
  }

  async #stopPeerForError(peer: Peer, reason: StopReason): Promise<void> {
    if (!peer.isRunning) return;
    // A peer hanging up or timing out is routine churn (debug); a protocol violation is worth an
    // operator's attention (error). CometBFT logs both at error, a common operator complaint.
    const level = reason.kind === "protocol_violation" ? "error" : "debug";
    this.#log[level]("Stopping peer for error", { peer, err: describeStopReason(reason) });
    await this.#stopAndRemovePeer(peer, reason);
    if (!peer.isPersistent || !this.isRunning) return;
    let addr: NetAddress;
    if (peer.isOutbound) addr = peer.socketAddr;
    else {
      try {
        addr = await NetAddress.parse(idAddressString(peer.id, peer.nodeInfo.listenAddr));
      } catch (e) {
        this.#log.error(
          "Wanted to reconnect to inbound peer, but self-reported address is wrong",
          { peer, err: e },
        );
        return;
      }
    }
    if (reason.kind === "protocol_violation") {
      this.#log.info("Persistent peer stopped for a protocol violation; redialing after cooldown", {
        peer,
        cooldownMs: this.config.reactorErrorCooldownMs,
      });
      this.#track(this.#reconnector.start(addr, this.config.reactorErrorCooldownMs));
    } else {
      this.#log.info("Persistent peer stopped for a connection error; redialing now", { peer });
      this.#track(this.#reconnector.start(addr, 0));
    }
  }

  /** Stops `peer` without blame and without redial (seed mode). */
  stopPeerGracefully(peer: Peer): Promise<void> {
    this.#log.info("Stopping peer gracefully", { peer });
    return this.#track(this.#stopAndRemovePeer(peer, GRACEFUL));
  }

  /**
   * Go's `stopAndRemovePeer`: close the socket (leaving the connection set), stop the peer,
   * `removePeer` on every reactor, then leave the peer set (last, so a reconnect cannot be
   * added before every reactor forgot the old connection). Once per peer object.
   */
  #stopAndRemovePeer(peer: Peer, reason: StopReason): Promise<void> {
    let p = this.#removals.get(peer);
    if (p) return p;
    p = (async () => {
      peer.closeConn();
      await peer.stop();
      this.#table.removePeer(peer, reason, this.#table.reactors.keys(), this.#log);
      if (this.#peers.remove(peer)) this.#metrics.peersAdd(-1);
      else this.#log.debug("error on peer removal", { peer: peer.id });
    })();
    this.#removals.set(peer, p);
    return p;
  }

  // ---- dialing -----------------------------------------------------------------------------

  /**
   * Parses `addrs`, records them in the address book, then dials each in its own task after a
   * random delay U[0, dialRandomizerMs). Resolves once the dials are launched; a malformed
   * address (other than a failed lookup) rejects and nothing is dialed.
   */
  dialPeersAsync(addrs: readonly string[]): Promise<void> {
    return dialPeersAsync(this.#dialContext(), addrs);
  }

  /** Dials `addr` and adds it as a peer; rejects with the typed reason on failure. */
  async dialPeerWithAddress(addr: NetAddress): Promise<void> {
    if (!this.isRunning) throw new NotStartedError("switch is not running");
    if (this.isDialingOrExistingAddress(addr)) {
      throw new CurrentlyDialingOrExistingAddressError(addr);
    }
    this.#dialing.set(addr.id, addr);
    try {
      await addOutboundPeer(this.#dialContext(), addr);
    } finally {
      this.#dialing.delete(addr.id);
    }
  }

  #dialContext(): DialContext {
    return {
      log: this.#log,
      addrBook: this.#addrBook,
      signal: this.#ac.signal,
      sleep: this.#sleep,
      random: this.#random,
      dialRandomizerMs: this.config.dialRandomizerMs,
      ourAddress: () => this.netAddress(),
      dial: (addr: NetAddress) => this.dialPeerWithAddress(addr),
      track: <T>(p: Promise<T>) => this.#track(p),
      transport: this.transport,
      metrics: this.#metrics,
      addPeer: (conn) => this.#addPeer(conn),
      redialPersistent: (addr) => {
        if (this.isRunning && this.isPeerPersistent(addr)) {
          this.#track(this.#reconnector.start(addr, 0));
        }
      },
    };
  }

  async #redial(addr: NetAddress): Promise<"connected" | "already" | "failed"> {
    try {
      await this.dialPeerWithAddress(addr);
      return "connected";
    } catch (e) {
      if (e instanceof CurrentlyDialingOrExistingAddressError || !this.isRunning) return "already";
      this.#log.debug("Redial failed", { addr, err: e });
      return "failed";
    }
  }

  // ---- inbound -----------------------------------------------------------------------------

  #acceptRoutine(): Promise<void> {
    return acceptRoutine({
      transport: this.transport,
      log: this.#log,
      addrBook: this.#addrBook,
      maxInbound: this.config.maxNumInboundPeers,
      isRunning: () => this.isRunning,
      isUnconditional: (id) => this.#classes.isUnconditional(id),
      numInbound: () => this.numPeers().inbound,
      numPeers: () => this.#peers.size,
      addPeer: (conn) => this.#addPeer(conn),
    });
  }

  // ---- adding a peer -----------------------------------------------------------------------

  /**
   * Go's `addPeer` (spec §7.3): filters → initPeer on every reactor → start → peer set →
   * addPeer on every reactor. On failure the connection is closed and the error rethrown; a
   * reactor that saw `initPeer` always sees `removePeer`.
   */
  async #addPeer(conn: TransportConn): Promise<void> {
    let peer: Peer;
    try {
      const persistent = await this.#classes.isPersistentConn(conn);
      peer = new Peer({
        conn,
        persistent,
        channels: this.#table.channels,
        routes: this.#table.routes,
        onPeerError: (p, reason) => void this.stopPeerForError(p, reason),
        mconnConfig: this.config.mconnConfig,
        logger: this.#log,
        metrics: this.#metrics,
      });
      await this.#filterPeer(peer);
    } catch (e) {
      conn.close();
      throw e;
    }
    if (!this.isRunning) {
      this.#log.error("Won't start a peer - switch is not running", { peer });
      peer.closeConn();
      return;
    }
    const initialized: string[] = [];
    try {
      for (const [name, r] of this.#table.reactors) {
        initialized.push(name);
        r.initPeer(peer);
      }
      peer.start();
      this.#peers.add(peer);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.#log.error("Error starting peer", { err, peer });
      peer.closeConn();
      await peer.stop();
      this.#table.removePeer(
        peer,
        protocolViolation(err, initialized.at(-1)),
        initialized,
        this.#log,
      );
      this.#removals.set(peer, Promise.resolve());
      throw err;
    }
    this.#metrics.peersAdd(1);
    const failure = this.#table.addPeer(peer);
    if (failure) void this.stopPeerForError(peer, protocolViolation(failure.err, failure.name));
    this.#log.debug("Added peer", { peer });
  }

  async #filterPeer(peer: Peer): Promise<void> {
    if (this.#peers.has(peer.id)) throw new DuplicatePeerIdError(peer.id);
    await runPeerFilters(
      this.#peerFilters,
      this.#peers.snapshot(),
      peer,
      this.config.filterTimeoutMs,
    );
  }
}
