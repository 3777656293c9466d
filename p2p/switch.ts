/**
 * The Switch (CometBFT `p2p/switch.go`): registers reactors and routes their channels, accepts
 * and dials peers through the {@link Transport}, runs the add/remove peer flow in the order the
 * reactor grammar requires, and redials persistent peers.
 *
 * Reactor call order is deterministic here: every per-peer step (`initPeer`, `addPeer`,
 * `removePeer`) and `start`/`stop` visit reactors in registration order (Go iterates a map, so
 * its order is random; nothing may depend on either).
 *
 * Deviations from Go, all deliberate: peers are admitted only after every reactor's `start`
 * resolved, and a failed start leaves the switch stopped (Go runs reactors' OnStart inside a
 * switch already marked running); one peer management per node ID at a time, with a
 * deterministic winner of a cross-dial (`switch_admission.ts`, `switch_add_peer.ts`; the
 * remove-peer flow is in `switch_remove_peer.ts`); peer callbacks may be async and are
 * awaited; a peer that failed to start after `initPeer` gets `removePeer` (Go leaks it); a peer
 * arriving while the switch stops is closed (Go leaves the socket open); a reactor's
 * protocol-violation stop of a persistent peer redials after a cooldown (Go: at once);
 * `broadcast` reports the result per peer ID.
 * @module
 */
import { NotStartedError } from "./errors.ts";
import { NetAddress } from "./netaddress.ts";
import type { NodeInfo } from "./node_info.ts";
import { Peer } from "./peer.ts";
import { type IPeerSet, PeerSet } from "./peer_set.ts";
import type {
  Envelope,
  Peer as PeerContract,
  Reactor,
  ReactorSwitch,
  StreamDescriptor,
} from "./reactor_api.ts";
import { abortableSleep, Reconnector, type Sleep } from "./reconnect.ts";
import { GRACEFUL, SHUTDOWN, type StopReason, toStopReason } from "./stop_reason.ts";
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
  type SwitchConfig,
  type SwitchOptions,
  type SwitchState,
} from "./switch_config.ts";
import { ReactorStartError, ReactorTable } from "./switch_reactors.ts";
import { PeerAdmission } from "./switch_add_peer.ts";
import { PeerRemoval } from "./switch_remove_peer.ts";
import { PeerClasses } from "./switch_peer_classes.ts";

export { CurrentlyDialingOrExistingAddressError, ReactorStartError, type SwitchAddrBook };
export * from "./switch_config.ts";

/** The switch (implements the contract's {@link ReactorSwitch}). */
export class Switch implements ReactorSwitch {
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
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #ac = new AbortController();
  readonly #reconnector: Reconnector;
  readonly #classes = new PeerClasses();
  readonly #admission: PeerAdmission;
  readonly #removal: PeerRemoval;
  #state: SwitchState = "created";
  #acceptLoop: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
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
    this.#removal = new PeerRemoval({
      log: this.#log,
      metrics: this.#metrics,
      peers: this.#peers,
      table: this.#table,
      admission: () => this.#admission,
      reactorErrorCooldownMs: this.config.reactorErrorCooldownMs,
      isRunning: () => this.isRunning,
      track: (p) => this.#track(p),
      redial: (addr, delayMs) => void this.#track(this.#reconnector.start(addr, delayMs)),
    });
    this.#admission = new PeerAdmission({
      log: this.#log,
      metrics: this.#metrics,
      peers: this.#peers,
      table: this.#table,
      classes: this.#classes,
      peerFilters: this.#peerFilters,
      config: this.config,
      signal: this.#ac.signal,
      ourId: () => this.transport.nodeInfo.id,
      isRunning: () => this.isRunning,
      starting: () => this.#state === "starting" ? this.#starting : undefined,
      stopPeerForError: (p, reason) => void this.stopPeerForError(p, reason),
      track: (p) => this.#track(p),
      markRemoved: (p) => this.#removal.markRemoved(p),
    });
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
  /** Our own NodeInfo (the transport's), as advertised to peers. */
  get nodeInfo(): NodeInfo {
    return this.transport.nodeInfo;
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
      this.#admission.isReserved(addr.id) ||
      (!this.config.allowDuplicateIP && this.#peers.hasIP(addr.ip));
  }
  /** True while a redial loop for this ID is running (cooldown included). */
  isReconnecting(id: string): boolean {
    return this.#reconnector.has(id);
  }

  /**
   * Starts every reactor (registration order, each after the previous one's `start`
   * resolved), then accepts and dials: no peer callback reaches a reactor before every start
   * resolved. If a start fails, the reactors already started are stopped, the transport is
   * closed, the switch ends `stopped` and this rejects with {@link ReactorStartError}.
   */
  start(): Promise<void> {
    if (this.#state !== "created") {
      return Promise.reject(new ReactorRegistrationError(`switch is ${this.#state}`));
    }
    this.#state = "starting";
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      await this.#table.startAll(this.#log);
    } catch (e) {
      this.#state = "stopping";
      this.#ac.abort(new NotStartedError("switch failed to start"));
      await this.transport.close();
      this.#state = "stopped";
      throw e;
    }
    // stop() called while the reactors were starting: it waits for us, then stops them.
    if (this.#state !== "starting") return;
    this.#state = "running";
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
    if (this.#state === "stopped") return;
    const starting = this.#starting;
    this.#state = "stopping";
    // Reactors that are starting are stopped once every start settled (a failed start has
    // already stopped them and closed the transport).
    const wasRunning = starting !== undefined && await starting.then(() => true, () => false);
    this.#ac.abort(new NotStartedError("switch stopped"));
    await Promise.all(this.#peers.list().map((p) => this.#removal.stopAndRemove(p, SHUTDOWN)));
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
  markPeerAsGood(peer: PeerContract): void {
    this.#addrBook?.markGood?.(peer.id);
  }

  /**
   * Stops `peer` because of `reason` (a bare Error counts as a protocol violation) and, for a
   * persistent peer, starts a redial loop: at once after a connection error, after
   * `reactorErrorCooldownMs` after a protocol violation. No-op if the peer is not running.
   * Reactors need not await it; the switch tracks it.
   */
  stopPeerForError(peer: PeerContract, reason: StopReason | Error): Promise<void> {
    const own = this.#own(peer);
    return this.#removal.whenStopped(
      own,
      this.#track(this.#removal.stopForError(own, toStopReason(reason))),
    );
  }

  /** Stops `peer` without blame and without redial (seed mode). */
  stopPeerGracefully(peer: PeerContract): Promise<void> {
    this.#log.info("Stopping peer gracefully", { peer });
    const own = this.#own(peer);
    return this.#removal.whenStopped(own, this.#track(this.#removal.stopAndRemove(own, GRACEFUL)));
  }

  /** The switch's own peer object behind a contract `Peer` (reactors only get ours). */
  #own(peer: PeerContract): Peer {
    if (peer instanceof Peer) return peer;
    throw new TypeError(`not a peer of this switch: ${String(peer)}`);
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

  /**
   * Dials `addr` and adds it as a peer; rejects with the typed reason on failure. Called while
   * the reactors start (a reactor's routine may dial at once), the connection is made but the
   * peer is admitted only once every start resolved, so no peer reaches a reactor before; a
   * reactor must therefore not await a dial in `start`.
   */
  async dialPeerWithAddress(addr: NetAddress): Promise<void> {
    if (this.#state !== "starting" && !this.isRunning) {
      throw new NotStartedError("switch is not running");
    }
    if (this.isDialingOrExistingAddress(addr)) {
      throw new CurrentlyDialingOrExistingAddressError(addr);
    }
    // Counted as dialing at once, also while waiting for the start.
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

  /** The add-peer flow (`switch_add_peer.ts`); on failure the connection is closed. */
  #addPeer(conn: TransportConn): Promise<void> {
    return this.#admission.addPeer(conn);
  }
}
