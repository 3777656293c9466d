/**
 * The PEX reactor (CometBFT `p2p/pex/pex_reactor.go`, spec §8): peer exchange on channel 0x00
 * and, on a normal node, the ensure-peers loop that keeps `max_num_outbound_peers` outbound
 * connections; on a seed (`seed_mode = true`) the crawler, and answers drawn only from addresses
 * verified live.
 *
 * Abuse handling (what Go does, with typed ban reasons):
 * - a PexRequest arriving sooner than `ensurePeersPeriod / 3` after the previous accepted one
 *   (the first two are free) → stop the peer and ban it (`request_flood`);
 * - a PexAddrs we did not ask for → stop + ban (`unsolicited_addrs`);
 * - a PexAddrs with an undecodable address → stop + ban (`malformed_addrs`).
 * We never send PexAddrs except as the one answer to a PexRequest.
 *
 * Defaults and options are in `pex_config.ts`, the typed errors in `pex_errors.ts` (both
 * re-exported here).
 * @module
 */
import type protobuf from "protobufjs";
import { type AddrBook, DEFAULT_BAN_TIME_MS } from "./addrbook.ts";
import { DenyList } from "./deny_list.ts";
import {
  type DialHost,
  ensurePeersRound,
  MAX_ATTEMPTS_TO_DIAL,
  PexDialer,
} from "./ensure_peers.ts";
import {
  BIAS_TO_SELECT_NEW_PEERS,
  DEFAULT_ENSURE_PEERS_PERIOD_MS,
  type PexReactorOptions,
  resolveSeedModeConfig,
  type SeedModeConfig,
} from "./pex_config.ts";
import {
  MalformedAddrsError,
  PexStartError,
  RequestFloodError,
  UnsolicitedAddrsError,
} from "./pex_errors.ts";
import { encodePexAddrs } from "./pex_codec.ts";
import { SeedCrawler } from "./seed_crawler.ts";
import { AddressVerifier } from "./verifier.ts";
import { NetAddress, NetAddressLookupError, type ParseOptions } from "../netaddress.ts";
import { nodeInfoNetAddress } from "../node_info.ts";
import type { Peer } from "../reactor_api.ts";
import { messageTypeLabel } from "../metrics.ts";
import { protoType } from "../proto.ts";
import { lineMessageName, lineProfile } from "../cometbft_line.ts";
import { BaseReactor, type InboundEnvelope, type StreamDescriptor } from "../reactor.ts";
import { abortableSleep } from "../reconnect.ts";
import type { StopReason } from "../stop_reason.ts";
import type { Switch } from "../switch.ts";
import { logEnabled, type Logger, nopLogger } from "../../libs/log.ts";

// The settings and the errors live in their own modules; re-exported so callers keep importing
// the reactor's whole API from here.
export * from "./pex_config.ts";
export * from "./pex_errors.ts";

/** The PEX channel. */
export const PEX_CHANNEL = 0x00;
/** Over-estimate of one encoded NetAddress (`maxAddressSize`). */
export const MAX_ADDRESS_SIZE = 256;
/** Largest PEX message accepted: 256 × 250 = 64000 bytes (`maxMsgSize`). */
export const PEX_MAX_MSG_SIZE = MAX_ADDRESS_SIZE * 250;
/** `tendermint.p2p.Message` (oneof `sum`: `pex_request` | `pex_addrs`). */
export const PEX_MESSAGE = protoType("tendermint.p2p.Message");

/** `message_type` metrics label of a PexAddrs (what the channel codec reports for it). */
const PEX_ADDRS_LABEL = messageTypeLabel(PEX_MESSAGE.fields.pex_addrs.resolvedType!.fullName);

type PexMsg = {
  pex_request?: Record<string, never>;
  pex_addrs?: { addrs?: { id?: string; ip?: string; port?: number }[] };
};

/** Marker of "first request seen, not yet timed" (Go's zero time). */
const FIRST_REQUEST = 0;

/** The PEX reactor. Register it under the name `PEX`. */
export class PexReactor extends BaseReactor {
  readonly book: AddrBook;
  readonly log: Logger;
  readonly random: () => number;
  readonly now: () => number;
  readonly banTimeMs: number;
  readonly seedMode: boolean;
  readonly ensurePeersPeriodMs: number;
  readonly seedConfig: Readonly<SeedModeConfig>;
  readonly denyList: DenyList;
  readonly dialer: PexDialer;
  /** What the dialer and crawler see of this reactor. */
  readonly #host: DialHost;
  /** Present in seed mode. */
  readonly verifier: AddressVerifier | undefined;
  #seeds: NetAddress[] = [];
  readonly #seedStrings: readonly string[];
  readonly #lookup: ParseOptions["lookup"];
  readonly #requestsSent = new Set<string>();
  readonly #lastReceivedRequests = new Map<string, number>();
  readonly #selfAddr = new WeakMap<Peer, Promise<NetAddress | Error>>();
  readonly #connectedAt = new WeakMap<Peer, number>();
  readonly #tasks = new Set<Promise<unknown>>();
  /** Debug lines are written (levels are fixed per logger): gates work done only for them. */
  readonly #debug: boolean;
  /** The channel's envelope type for our CometBFT line (the same message in every line). */
  readonly #messageType: protobuf.Type;
  #loop: Promise<void> | undefined;
  #trigger: (() => void) | undefined;

  constructor(opts: PexReactorOptions) {
    const logger = (opts.logger ?? nopLogger).with({ module: "pex" });
    super("PEX", logger);
    this.log = logger;
    this.#debug = logEnabled(logger, "debug");
    this.#messageType = protoType(lineMessageName(opts.line ?? lineProfile(), PEX_CHANNEL));
    this.book = opts.book;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.banTimeMs = opts.banTimeMs ?? DEFAULT_BAN_TIME_MS;
    this.seedMode = opts.seedMode ?? false;
    this.ensurePeersPeriodMs = opts.ensurePeersPeriodMs ?? DEFAULT_ENSURE_PEERS_PERIOD_MS;
    this.denyList = opts.denyList ?? new DenyList();
    this.#seedStrings = opts.seeds ?? [];
    this.#lookup = opts.lookup;
    this.seedConfig = resolveSeedModeConfig(opts.seed);
    // deno-lint-ignore no-this-alias
    const r = this;
    this.#host = {
      get sw() {
        return r.#switch();
      },
      book: this.book,
      log: this.log,
      random: this.random,
      now: this.now,
      get signal() {
        return r.signal;
      },
      banTimeMs: this.banTimeMs,
      get seeds() {
        return r.#seeds;
      },
      denied: (a) => this.denied(a),
      requestAddrs: (p) => this.requestAddrs(p),
      track: (p) => this.track(p),
    };
    this.dialer = new PexDialer(this.#host, {
      maxAttempts: opts.maxAttemptsToDial ?? MAX_ATTEMPTS_TO_DIAL,
      persistentMaxDialPeriodMs: opts.persistentPeersMaxDialPeriodMs ?? 0,
    });
    if (this.seedMode) {
      const sc = this.seedConfig;
      this.verifier = new AddressVerifier({
        book: this.book,
        dial: opts.verifyDial ?? ((addr, signal) => this.#verifyDial(addr, signal)),
        isConnected: (id) => this.sw?.peers().get(id)?.isOutbound ?? false,
        workers: sc.verifyWorkers,
        ratePerSec: sc.verifyRate,
        recheckPeriodMs: sc.recheckPeriodMs,
        addressExpiryMs: sc.addressExpiryMs,
        banTimeMs: this.banTimeMs,
        scanIntervalMs: sc.verifyScanIntervalMs,
        now: this.now,
        random: this.random,
        logger: this.log,
      });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  #switch(): Switch {
    if (!this.sw) throw new PexStartError("PEX reactor is not registered with a switch");
    // PEX is the one built-in reactor that needs more than the contract: the seed crawler
    // dials through the transport without adding a peer. It is only ever given our Switch.
    return this.sw as Switch;
  }
  /** The resolved seed addresses. */
  get seeds(): readonly NetAddress[] {
    return this.#seeds;
  }
  /** Deny-list verdict for `addr`. */
  denied(addr: NetAddress): string | undefined {
    return this.denyList.deniesAddress(addr);
  }
  /** Tracks a background task; stop awaits every tracked task. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#tasks.add(p);
    p.then(() => this.#tasks.delete(p), () => this.#tasks.delete(p));
    return p;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  override getChannels(): readonly StreamDescriptor[] {
    return [{
      id: PEX_CHANNEL,
      priority: 1,
      sendQueueCapacity: 10,
      recvMessageCapacity: PEX_MAX_MSG_SIZE,
      messageType: this.#messageType,
      unwrap: true,
    }];
  }

  protected override async onStart(): Promise<void> {
    if (this.book.status.code === "inactive") {
      await this.book.start();
    }
    const { numOnline, addrs } = await this.#checkSeeds();
    if (numOnline === 0 && this.book.empty()) {
      throw new PexStartError("address book is empty and couldn't resolve any seed nodes");
    }
    this.#seeds = addrs;
    if (this.seedMode) {
      this.verifier!.start();
      const crawler = new SeedCrawler(
        this.#host,
        this.dialer,
        this.seedConfig,
        (p) => this.#connectedAt.get(p),
      );
      this.#loop = crawler.run(this.signal);
    } else {
      this.#loop = this.#ensurePeersRoutine(this.signal);
    }
  }

  protected override async onStop(): Promise<void> {
    this.#trigger?.();
    await this.#loop;
    await this.verifier?.stop();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    // Go's OnStop stops the book (its final save included) whoever started it.
    if (this.book.status.code === "active") await this.book.stop();
  }

  /** Go `checkSeeds`: lookup failures are logged; any other bad entry fails the start. */
  async #checkSeeds(): Promise<{ numOnline: number; addrs: NetAddress[] }> {
    if (this.#seedStrings.length === 0) return { numOnline: -1, addrs: [] };
    const addrs: NetAddress[] = [];
    for (const s of this.#seedStrings) {
      try {
        addrs.push(await NetAddress.parse(s, { lookup: this.#lookup }));
      } catch (e) {
        if (e instanceof NetAddressLookupError) {
          this.log.error("Connecting to seed failed", { err: e });
          continue;
        }
        throw new PexStartError(`seed node configuration has error: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    return { numOnline: addrs.length, addrs };
  }

  // ---- ensure-peers loop ----------------------------------------------------------------------

  async #ensurePeersRoutine(signal: AbortSignal): Promise<void> {
    const period = this.ensurePeersPeriodMs;
    const { outbound, inbound, dialing } = this.#switch().numPeers();
    try {
      // Spread the first round of nodes that already have peers (thundering herd).
      if (outbound + inbound + dialing > 0) {
        await abortableSleep(Math.floor(this.random() * period), signal);
      }
    } catch {
      return;
    }
    await this.#round(true);
    let next = this.now() + period;
    while (!signal.aborted) {
      const w = Promise.withResolvers<boolean>();
      const timer = setTimeout(() => w.resolve(true), Math.max(0, next - this.now()));
      this.#trigger = () => w.resolve(false);
      const periodic = await w.promise;
      clearTimeout(timer);
      this.#trigger = undefined;
      if (signal.aborted) return;
      if (periodic) next += period;
      await this.#round(periodic);
    }
  }

  async #round(periodic: boolean): Promise<void> {
    try {
      await ensurePeersRound(this.#host, this.dialer, periodic);
    } catch (e) {
      if (!this.signal.aborted) this.log.error("Ensure peers round failed", { err: e });
    }
  }

  // ---- peers ----------------------------------------------------------------------------------

  override initPeer(peer: Peer): void {
    this.#connectedAt.set(peer, this.now());
    const self = nodeInfoNetAddress(peer.nodeInfo).catch((e: unknown) =>
      e instanceof Error ? e : new Error(String(e))
    );
    this.#selfAddr.set(peer, this.track(self));
  }

  override addPeer(peer: Peer): void {
    if (peer.isOutbound) {
      if (this.seedMode) this.verifier!.markLive(peer.socketAddr);
      if (this.book.needMoreAddrs()) this.requestAddrs(peer);
      return;
    }
    // An inbound peer is its own source; we trust it less, so no request.
    this.track(this.#addInbound(peer));
  }

  async #addInbound(peer: Peer): Promise<void> {
    const addr = await this.#selfAddr.get(peer)!;
    if (addr instanceof Error) {
      this.log.error("Failed to get peer NetAddress", { err: addr, peer });
      return;
    }
    // The verifier scans the whole book when woken: only for an address it has not seen.
    if (this.#addToBook(addr, addr)) this.verifier?.wake();
  }

  override removePeer(peer: Peer, _reason: StopReason): void {
    this.#requestsSent.delete(peer.id);
    this.#lastReceivedRequests.delete(peer.id);
  }

  // ---- messages -------------------------------------------------------------------------------

  override receive(env: InboundEnvelope): void {
    const msg = env.message as PexMsg;
    if (env.member === "pex_request") this.#onRequest(env.src);
    else if (env.member === "pex_addrs") this.#onAddrs(env.src, msg.pex_addrs?.addrs ?? []);
    else this.log.error("Unknown message type", { member: env.member });
  }

  #onRequest(peer: Peer): void {
    if (this.seedMode && !peer.isOutbound) {
      // Answer once, then hang up: a seed is not a peer.
      if (this.#lastReceivedRequests.has(peer.id)) return;
      this.#lastReceivedRequests.set(peer.id, this.now());
      // An empty deny-list (the usual case) needs no per-address check.
      const allow = this.denyList.empty
        ? undefined
        : (a: NetAddress) => this.denied(a) === undefined;
      this.#sendAddrs(peer, this.verifier!.selection(BIAS_TO_SELECT_NEW_PEERS, allow));
      this.track(this.#disconnectAfterAnswer(peer));
      return;
    }
    const err = this.#checkRequestRate(peer);
    if (err) {
      this.#punish(peer, err, "request_flood");
      return;
    }
    this.#sendAddrs(peer, this.book.getSelection().filter((a) => this.denied(a) === undefined));
  }

  async #disconnectAfterAnswer(peer: Peer): Promise<void> {
    if (this.seedConfig.disconnectWaitMs > 0) {
      const signal = AbortSignal.any([this.signal, peer.quitSignal]);
      try {
        await abortableSleep(this.seedConfig.disconnectWaitMs, signal);
      } catch {
        if (this.signal.aborted || !peer.isRunning) return;
      }
    } else {
      // No wait (Go's seed): no timer and no combined signal per crawler; only leave the
      // receive callback that called us before stopping the peer.
      await Promise.resolve();
      if (this.signal.aborted || !peer.isRunning) return;
    }
    await peer.flushStop();
    await this.#switch().stopPeerGracefully(peer);
  }

  /** Go `receiveRequest`: the first two requests are free, then ≥ period/3 apart. */
  #checkRequestRate(peer: Peer): Error | undefined {
    const last = this.#lastReceivedRequests.get(peer.id);
    const now = this.now();
    if (last === undefined) {
      this.#lastReceivedRequests.set(peer.id, FIRST_REQUEST);
      return undefined;
    }
    if (last === FIRST_REQUEST) {
      this.#lastReceivedRequests.set(peer.id, now);
      return undefined;
    }
    const min = Math.floor(this.ensurePeersPeriodMs / 3);
    if (now - last < min) return new RequestFloodError(peer.id, now - last, min);
    this.#lastReceivedRequests.set(peer.id, now);
    return undefined;
  }

  #onAddrs(peer: Peer, raw: readonly { id?: string; ip?: string; port?: number }[]): void {
    const addrs: NetAddress[] = [];
    for (const p of raw) {
      try {
        addrs.push(NetAddress.fromProto(p));
      } catch (e) {
        this.#punish(
          peer,
          new MalformedAddrsError(peer.id, (e as Error).message),
          "malformed_addrs",
        );
        return;
      }
    }
    if (!this.#requestsSent.has(peer.id)) {
      this.#punish(peer, new UnsolicitedAddrsError(peer.id), "unsolicited_addrs");
      return;
    }
    this.#requestsSent.delete(peer.id);
    this.track(this.#receiveAddrs(peer, addrs));
  }

  async #receiveAddrs(peer: Peer, addrs: NetAddress[]): Promise<void> {
    const src = await this.#selfAddr.get(peer)!;
    if (src instanceof Error) {
      void this.#switch().stopPeerForError(peer, src);
      return;
    }
    let added = false;
    for (const a of addrs) added = this.#addToBook(a, src) || added;
    if (this.seedMode) {
      if (added) this.verifier!.wake();
      // A crawled peer has told us what it knows: nothing more to gain from the connection.
      if (peer.isOutbound && !peer.isPersistent) await this.#switch().stopPeerGracefully(peer);
      return;
    }
    // Addresses from a seed: dial now instead of waiting for the next round (#2093).
    if (this.#seeds.some((s) => s.equals(src))) this.#trigger?.();
  }

  /** Offers `addr` to the book; true if the book did not have its ID before and has it now. */
  #addToBook(addr: NetAddress, src: NetAddress): boolean {
    const why = this.denied(addr);
    if (why !== undefined) {
      this.log.debug("Not adding deny-listed address", { addr, why });
      return false;
    }
    // Crawlers announce 0.0.0.0, which addAddress refuses first thing by throwing: test it here,
    // so a crawler costs no error object (and its stack) unless the debug line will show it.
    if (!this.#debug && addr.invalidReason() !== null) return false;
    const known = this.book.hasAddress(addr);
    try {
      this.book.addAddress(addr, src);
    } catch (e) {
      this.log.debug("Failed to add new address", { err: e });
      return false;
    }
    return !known && this.book.hasAddress(addr);
  }

  #punish(
    peer: Peer,
    err: Error,
    reason: "request_flood" | "unsolicited_addrs" | "malformed_addrs",
  ) {
    this.log.info("Banning peer for PEX abuse", { peer, reason, err });
    void this.#switch().stopPeerForError(peer, err);
    this.book.markBad(peer.socketAddr, this.banTimeMs, reason);
  }

  /** Asks `peer` for addresses unless a request to it is outstanding (Go `RequestAddrs`). */
  requestAddrs(peer: Peer): void {
    if (this.#requestsSent.has(peer.id)) return;
    if (this.#debug) this.log.debug("Request addrs", { from: peer });
    this.#requestsSent.add(peer.id);
    this.track(peer.send({ channelId: PEX_CHANNEL, message: { pex_request: {} } }));
  }

  #sendAddrs(peer: Peer, addrs: readonly NetAddress[]): void {
    // Marshalled by hand (same bytes as the channel codec would produce): a seed sends one of
    // these per crawler, and protobufjs's verify + encode was most of that answer's cost.
    this.track(peer.sendBytes(PEX_CHANNEL, encodePexAddrs(addrs), PEX_ADDRS_LABEL));
  }

  /** Failed dials recorded for `addr` (Go `AttemptsToDial`). */
  attemptsToDial(addr: NetAddress): number {
    return this.dialer.attemptsToDial(addr);
  }

  /** Seed mode default verification: dial through the transport (filters apply), then close. */
  async #verifyDial(addr: NetAddress, signal: AbortSignal): Promise<void> {
    const conn = await this.#switch().transport.dial(addr, { signal });
    conn.close();
  }
}
