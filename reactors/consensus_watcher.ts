/**
 * Consensus height watcher: a reactor on CometBFT's consensus State channel (0x20) that learns
 * every peer's height/round/step from its `NewRoundStep` messages and tells peers our own
 * height, without taking part in consensus (spec §11.1–11.3).
 *
 * What it does, and why:
 * - Advertises **only 0x20** (priority 6, send queue 100, receive cap 1 MiB, as Go). It never
 *   claims the Data/Vote/VoteSetBits channels, which it could not answer (spec §11.4), so Go
 *   peers never stream proposals, block parts or votes to it.
 * - Decodes every consensus message with the message table of its CometBFT line (option
 *   `line`). `NewRoundStep` is validated exactly like Go (`ValidateBasic` +
 *   `ValidateHeight(initial_height)`); an invalid one stops the peer for error. The other
 *   variants of the line are scalar-checked and otherwise ignored.
 * - A message whose oneof member our table does not know (a newer line's, e.g. v1.0's
 *   `HasProposalBlockPart` under the v0.38 table) but which decodes is ignored: counted
 *   ({@link ConsensusWatcher.unknownMessages}) and logged at debug. It is not a protocol
 *   violation, so a v0.38-configured node keeps its v1.0 peers. Malformed bytes and an empty
 *   message still stop the peer.
 * - Keeps a {@link PeerState} per peer in the peer key/value store under
 *   `ConsensusReactor.peerState` (created in `initPeer`, before any reactor's `addPeer`), so the
 *   transaction relay — or any user reactor — reads heights through `peer.get`, like Go's
 *   mempool and evidence reactors.
 * - Announces our own `NewRoundStep{height: highest height seen, round 0, step NewHeight}` to
 *   each new peer and to every peer whenever that highest height rises. A Go node gossips a
 *   mempool tx to a peer only when the peer's height ≥ tx height − 1 (§11.2), so without this
 *   announcement it would never relay its txs to us.
 *
 * Nothing is announced before some peer reported a height ≥ `initial_height`: a height below
 * the chain's initial height would make a Go peer disconnect us.
 * @module
 */
import type protobuf from "protobufjs";
import type { Peer } from "../p2p/reactor_api.ts";
import {
  BaseReactor,
  type InboundEnvelope,
  type ProtoMessage,
  type StreamDescriptor,
} from "../p2p/reactor.ts";
import type { StopReason } from "../p2p/stop_reason.ts";
import type { Logger } from "../libs/log.ts";
import { type LineProfile, lineProfile } from "../p2p/cometbft_line.ts";
import {
  consensusMessageType,
  InvalidConsensusMessageError,
  newRoundStepMessage,
  validateNewRoundStep,
  validateOtherScalars,
} from "./consensus_msgs.ts";
import { PEER_STATE_KEY, type PeerRoundSnapshot, PeerState } from "./peer_state.ts";

export { PEER_STATE_KEY };

/** Consensus State channel id (Go `consensus.StateChannel`). */
export const CONSENSUS_STATE_CHANNEL = 0x20;
/** Go `consensus.maxMsgSize`: the receive cap of every consensus channel. */
export const CONSENSUS_MAX_MSG_BYTES = 1048576;
/** Go's State channel priority. */
export const CONSENSUS_STATE_PRIORITY = 6;
/** Go's State channel send queue capacity. */
export const CONSENSUS_STATE_SEND_QUEUE = 100;
/** Genesis `initial_height` default. */
export const DEFAULT_INITIAL_HEIGHT = 1n;
/** How long an announcement may wait for room in a full queue before it is dropped. */
export const ANNOUNCE_SEND_TIMEOUT_MS = 10_000;

/** Metrics sink of the watcher; the default does nothing. */
export interface WatcherMetrics {
  /** A peer's recorded height changed. */
  peerHeight(peerId: string, height: number): void;
  /** A peer left: drop its series. */
  peerRemoved(peerId: string): void;
  /** The highest height seen rose. */
  maxHeight(height: number): void;
  /** A message with a oneof member unknown to our CometBFT line was ignored. */
  unknownMessage(): void;
}

/** A {@link WatcherMetrics} that records nothing. */
export const nopWatcherMetrics: WatcherMetrics = Object.freeze({
  peerHeight(): void {},
  peerRemoved(): void {},
  maxHeight(): void {},
  unknownMessage(): void {},
});

/** Options of {@link ConsensusWatcher}. */
export interface ConsensusWatcherOptions {
  /** The CometBFT line whose consensus messages we decode (default: the default line, v0.38). */
  line?: LineProfile;
  /** The chain's genesis `initial_height` (default 1); `NewRoundStep` is validated against it. */
  initialHeight?: bigint | number;
  /** Send our own `NewRoundStep` (default true). Off: a pure listener. */
  announce?: boolean;
  logger?: Logger;
  metrics?: WatcherMetrics;
  /** Clock for the peer start-time estimate (tests). */
  now?: () => number;
}

/** A rise of the highest height seen, as given to {@link ConsensusWatcher.onHeight} listeners. */
export interface HeightEvent {
  /** The new highest height. */
  readonly height: bigint;
  /** The peer whose `NewRoundStep` raised it. */
  readonly peerId: string;
}

/** The reactor. Register it under the name `consensus_watcher`. */
export class ConsensusWatcher extends BaseReactor {
  readonly initialHeight: bigint;
  readonly #announce: boolean;
  readonly #metrics: WatcherMetrics;
  readonly #now: () => number;
  readonly #type: protobuf.Type;
  readonly #states = new Map<string, PeerState>();
  readonly #peers = new Map<string, Peer>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #listeners = new Set<(ev: HeightEvent) => void>();
  #maxHeight = 0n;
  #invalid = 0;
  #unknown = 0;

  constructor(opts: ConsensusWatcherOptions = {}) {
    super("consensus_watcher", opts.logger);
    this.initialHeight = BigInt(opts.initialHeight ?? DEFAULT_INITIAL_HEIGHT);
    this.#announce = opts.announce ?? true;
    this.#metrics = opts.metrics ?? nopWatcherMetrics;
    this.#now = opts.now ?? Date.now;
    this.#type = consensusMessageType(opts.line ?? lineProfile());
  }

  override getChannels(): readonly StreamDescriptor[] {
    return [{
      id: CONSENSUS_STATE_CHANNEL,
      priority: CONSENSUS_STATE_PRIORITY,
      sendQueueCapacity: CONSENSUS_STATE_SEND_QUEUE,
      recvMessageCapacity: CONSENSUS_MAX_MSG_BYTES,
      messageType: this.#type,
      unwrap: true,
      tolerateUnknownMember: true,
    }];
  }

  // ---- queries ---------------------------------------------------------------------------

  /** Highest height any peer reported (0 before the first report). */
  get maxHeight(): bigint {
    return this.#maxHeight;
  }
  /**
   * Our estimate of the chain's last committed height: the highest consensus height seen − 1
   * (a node at consensus height H has committed H − 1), 0 before any report. The relay stamps
   * txs with it, as Go's mempool stamps each tx with its last committed height.
   */
  currentHeight(): number {
    return this.#maxHeight > 0n ? Number(this.#maxHeight - 1n) : 0;
  }
  /** How many invalid consensus messages made us stop a peer. */
  get invalidMessages(): number {
    return this.#invalid;
  }
  /** How many well-formed consensus messages with a oneof member unknown to our line we ignored. */
  get unknownMessages(): number {
    return this.#unknown;
  }
  /** The state of a connected peer. */
  peerState(peerId: string): PeerState | undefined {
    return this.#states.get(peerId);
  }
  /** Every connected peer's state, by node ID. */
  peerStates(): ReadonlyMap<string, PeerRoundSnapshot> {
    const out = new Map<string, PeerRoundSnapshot>();
    for (const [id, st] of this.#states) out.set(id, st.snapshot());
    return out;
  }
  /**
   * The value of a `net_info` peer entry's `consensus_height`: the recorded height as a decimal
   * string (CometBFT's int64 JSON form), `"0"` before the peer reported, undefined if unknown.
   */
  consensusHeight(peerId: string): string | undefined {
    return this.#states.get(peerId)?.height.toString();
  }
  /** Subscribes to rises of the highest height; returns the unsubscribe function. */
  onHeight(listener: (ev: HeightEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- reactor ---------------------------------------------------------------------------

  override initPeer(peer: Peer): void {
    const st = new PeerState(peer.id, this.#now);
    peer.set(PEER_STATE_KEY, st);
    this.#states.set(peer.id, st);
  }

  override addPeer(peer: Peer): void {
    this.#peers.set(peer.id, peer);
    this.#metrics.peerHeight(peer.id, 0);
    this.#announceTo(peer);
  }

  override removePeer(peer: Peer, _reason: StopReason): void {
    // A reconnect of the same ID gets a new Peer object; only drop what belongs to this one.
    if (this.#peers.get(peer.id) === peer) this.#peers.delete(peer.id);
    if (this.#states.get(peer.id) === peer.get(PEER_STATE_KEY)) this.#states.delete(peer.id);
    this.#metrics.peerRemoved(peer.id);
  }

  override receive(env: InboundEnvelope): void {
    if (env.member === undefined) {
      // A member of a newer line (the switch stops the peer for malformed or empty messages).
      this.#unknown++;
      this.#metrics.unknownMessage();
      this.logger.debug("Ignoring consensus message unknown to our CometBFT line", {
        peer: env.src.id,
      });
      return;
    }
    const member = env.member;
    const inner = (env.message as ProtoMessage)[member] as Record<string, unknown> | undefined;
    if (inner === undefined) {
      // The switch only delivers envelopes with the named member set; be defensive anyway.
      this.#stopPeer(env.src, new InvalidConsensusMessageError("message", "empty oneof"));
      return;
    }
    if (member !== "new_round_step") {
      try {
        validateOtherScalars(member, inner);
      } catch (e) {
        this.#stopPeer(env.src, e as Error);
      }
      // Tolerated and ignored: we track heights only.
      return;
    }
    let update;
    try {
      update = validateNewRoundStep(inner, this.initialHeight);
    } catch (e) {
      this.#stopPeer(env.src, e as Error);
      return;
    }
    const st = this.#stateOf(env.src);
    if (!st.applyNewRoundStep(update)) return;
    this.logger.debug("Peer round step", {
      peer: env.src.id,
      height: update.height.toString(),
      round: update.round,
      step: update.step,
    });
    this.#metrics.peerHeight(env.src.id, st.getHeight());
    if (update.height > this.#maxHeight) {
      this.#maxHeight = update.height;
      this.#metrics.maxHeight(Number(update.height));
      for (const l of this.#listeners) {
        try {
          l({ height: update.height, peerId: env.src.id });
        } catch (e) {
          this.logger.error("Height listener failed", { err: e });
        }
      }
      for (const p of this.#peers.values()) this.#announceTo(p);
    }
  }

  protected override async onStop(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  // ---- internals -------------------------------------------------------------------------

  /** The peer's state; created here if `initPeer` was skipped (defensive, Go would panic). */
  #stateOf(peer: Peer): PeerState {
    const v = peer.get(PEER_STATE_KEY);
    if (v instanceof PeerState) return v;
    const st = new PeerState(peer.id, this.#now);
    peer.set(PEER_STATE_KEY, st);
    this.#states.set(peer.id, st);
    return st;
  }

  #stopPeer(peer: Peer, err: Error): void {
    this.#invalid++;
    this.logger.error("Peer sent us invalid msg", { peer: peer.id, err });
    if (this.sw) void this.sw.stopPeerForError(peer, err);
  }

  /** Sends our `NewRoundStep` to one peer, if we have a height and it listens on 0x20. */
  #announceTo(peer: Peer): void {
    if (!this.#announce || !this.isRunning) return;
    if (this.#maxHeight < this.initialHeight) return;
    if (!peer.isRunning || !peer.hasChannel(CONSENSUS_STATE_CHANNEL)) return;
    const envelope = {
      channelId: CONSENSUS_STATE_CHANNEL,
      message: newRoundStepMessage(this.#maxHeight, this.initialHeight),
    };
    if (peer.trySend(envelope)) return;
    // Queue of 100 full: wait for room, tracked so stop() awaits it. A newer announcement
    // supersedes this one anyway, so a timeout just drops it.
    const p = peer.send(envelope, { timeoutMs: ANNOUNCE_SEND_TIMEOUT_MS, signal: this.signal })
      .catch(() => false);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
