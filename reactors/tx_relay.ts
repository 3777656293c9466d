/**
 * Transaction relay on CometBFT's mempool channel (0x30): a mempool without an application.
 * It receives `Txs` from peers, deduplicates them by SHA-256 in a bounded LRU cache, and relays
 * each new tx — one tx per message, like Go — to every other peer that is caught up. Users
 * submit txs through {@link TxRelay.checkTx} (RPC `broadcast_tx_async`, CLI `broadcast-tx`).
 *
 * Rules (spec §11.2, Go `mempool/reactor.go`):
 * - Channel 0x30, priority 5, send queue 1, receive cap = size of a one-tx batch of
 *   `max_tx_bytes` (max_tx_bytes + 8 for the 1 MiB default).
 * - Received bytes pass Go's raw-bytes filter before decoding ({@link filterMempoolMsgBytes});
 *   a violation, an undecodable message or an unset oneof stops the peer for error.
 *   Duplicates are never punished (Go neither).
 * - Never echo: a tx is not sent to any peer it came from (the tx's sender set).
 * - A peer that connects gets the txs still pending, as Go walks its mempool for each new
 *   peer: those admitted within the catch-up TTL (we see no commits to remove them by).
 * - Only to peers that advertised 0x30 (sending to a Go node without a mempool reactor
 *   disconnects us, spec §15 item 12).
 * - Height eligibility, read through the peer key/value store (`ConsensusReactor.peerState`,
 *   written by the consensus watcher): a peer gets a tx once its reported height ≥ the tx's
 *   height − 1, where the tx's height is the last committed height we knew when it entered
 *   (the watcher's highest consensus height seen − 1; Go stamps its last committed height). Until then its sender loop waits (re-checking every 100 ms, Go's
 *   `PeerCatchupSleepIntervalMS`), for at most {@link DEFAULT_CATCHUP_TTL_MS}; after that the
 *   tx is dropped for that peer.
 * - **Unknown-height policy:** a peer whose height cannot be known is treated as caught up —
 *   when no consensus watcher runs here (no state under the key) or when the peer did not
 *   advertise the consensus State channel (0x20) and so can never report a height. A peer that
 *   advertises 0x20 but has not reported yet counts as height 0 (Go's behaviour).
 * - Backpressure: each peer has its own sender loop and bounded FIFO ({@link
 *   DEFAULT_PEER_QUEUE_LIMIT}, oldest dropped first), so a slow peer never stalls the others. A
 *   full send queue is retried: `trySend`, then `send` waiting for room (bounded), then up to
 *   {@link SEND_RETRIES} backoff rounds before the tx is dropped for that peer.
 * @module
 */
import type protobuf from "protobufjs";
import { encode, protoType } from "../p2p/proto.ts";
import type { Peer } from "../p2p/reactor_api.ts";
import { BaseReactor, type InboundEnvelope, type StreamDescriptor } from "../p2p/reactor.ts";
import type { StopReason } from "../p2p/stop_reason.ts";
import type { Logger } from "../libs/log.ts";
import { lineMessageName, type LineProfile, lineProfile } from "../p2p/cometbft_line.ts";
import type { Route, RouteArgs } from "../rpc/types.ts";
import { filterMempoolMsgBytes, txsMessageSize } from "./tx_filter.ts";
import { DEFAULT_TX_CACHE_SIZE, toUpperHex, TxCache, type TxEntry, txHash } from "./tx_cache.ts";
import { peerHeightOf } from "./peer_state.ts";
import { PeerOutbox } from "./tx_outbox.ts";
import { sleep } from "../libs/sleep.ts";

/** Mempool channel id (Go `mempool.MempoolChannel`). */
export const MEMPOOL_CHANNEL = 0x30;
/** Go's mempool channel priority. */
export const MEMPOOL_PRIORITY = 5;
/** Go's mempool channel send queue (the MConnection default of 1). */
export const MEMPOOL_SEND_QUEUE = 1;
/** `mempool.max_tx_bytes` default. */
export const DEFAULT_MAX_TX_BYTES = 1048576;
/** `mempool.max_batch_bytes` default (0: only max_tx_bytes bounds a batch). */
export const DEFAULT_MAX_BATCH_BYTES = 0;
/** Go `PeerCatchupSleepIntervalMS`: re-check interval while a peer is behind. */
export const PEER_CATCHUP_SLEEP_MS = 100;
/** How long a tx waits for a lagging peer before it is dropped for that peer. */
export const DEFAULT_CATCHUP_TTL_MS = 60_000;
/** Txs queued per peer before the oldest is dropped. */
export const DEFAULT_PEER_QUEUE_LIMIT = 10_000;
/** One bounded wait for room in a full send queue (Go's `Send` timeout). */
export const SEND_WAIT_MS = 10_000;
/** Retry rounds after a timed-out send before dropping the tx for that peer. */
export const SEND_RETRIES = 3;
/** First backoff between retry rounds (Go sleeps 100 ms); doubles each round. */
export const SEND_RETRY_BACKOFF_MS = 100;
/** The consensus State channel: a peer without it cannot report its height. */
const CONSENSUS_STATE_CHANNEL = 0x20;
const TXS_LABEL = "mempool_Txs";

/** A tx refused by {@link TxRelay.checkTx}. The message is CometBFT's RPC error text. */
export class TxRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TxRejectedError";
  }
}
/** Go `ErrTxTooLarge`. */
export class TxTooLargeError extends TxRejectedError {
  constructor(readonly max: number, readonly actual: number) {
    super(`Tx too large. Max size is ${max}, but got ${actual}`);
    this.name = "TxTooLargeError";
  }
}
/** Go `ErrTxInCache`. */
export class TxInCacheError extends TxRejectedError {
  constructor() {
    super("tx already exists in cache");
    this.name = "TxInCacheError";
  }
}
/**
 * An empty tx: Go's RPC would accept it, but every Go peer's filter would then disconnect us
 * for relaying it, so we refuse it up front (our own text).
 */
export class EmptyTxError extends TxRejectedError {
  constructor() {
    super("tx is empty");
    this.name = "EmptyTxError";
  }
}

/** Counters of the relay (observable, e.g. in tests and bench). */
export interface TxRelayStats {
  /** New txs received from peers. */
  received: number;
  /** Txs received again (already cached). */
  duplicates: number;
  /** Txs submitted locally (RPC/CLI). */
  submitted: number;
  /** Messages sent to peers. */
  relayed: number;
  /** Txs dropped for a peer: queue overflow, catch-up timeout, or send retries exhausted. */
  dropped: number;
  /** Peers whose sender loop is waiting right now for them to catch up (a gauge). */
  waitingForCatchup: number;
}

/** Options of {@link TxRelay}. */
export interface TxRelayOptions {
  /** The CometBFT line whose mempool messages we speak (default: the default line, v0.38). */
  line?: LineProfile;
  /** `mempool.max_tx_bytes`. */
  maxTxBytes?: number;
  /** `mempool.max_batch_bytes`. */
  maxBatchBytes?: number;
  /** `mempool.cache_size`. */
  cacheSize?: number;
  /** Per-peer queue bound. */
  peerQueueLimit?: number;
  /** How long a tx may wait for a lagging peer. */
  catchupTtlMs?: number;
  /**
   * Our current height (stamped on each admitted tx). Default: the `currentHeight()` of a
   * reactor registered on the same switch that has one (the consensus watcher), else 0.
   */
  currentHeight?: () => number;
  /** Called for every new tx (local or from a peer), e.g. to log or print it. */
  onTx?: (entry: TxEntry, from: Peer | undefined) => void;
  logger?: Logger;
}

/** Result of a successful {@link TxRelay.checkTx}. */
export interface CheckTxResult {
  /** Upper-case hex SHA-256 of the tx. */
  readonly hash: string;
}

/**
 * Wraps the mempool message type so the raw-bytes filter runs on the received bytes before
 * protobufjs decodes them (Go's optional `MsgBytesFilter`, which our `StreamDescriptor` has no
 * field for). Everything else is the real type.
 */
function filteringType(
  type: protobuf.Type,
  maxTxBytes: number,
  maxBatchBytes: number,
): protobuf.Type {
  return new Proxy(type, {
    get(target, prop) {
      if (prop === "decode") {
        return (bytes: Uint8Array, length?: number) => {
          if (bytes.length > 0) filterMempoolMsgBytes(bytes, maxTxBytes, maxBatchBytes);
          return target.decode(bytes, length);
        };
      }
      return Reflect.get(target, prop, target);
    },
  });
}

/** The reactor. Register it under the name `tx_relay`. */
export class TxRelay extends BaseReactor {
  readonly maxTxBytes: number;
  readonly maxBatchBytes: number;
  readonly cache: TxCache;
  readonly stats: TxRelayStats = {
    received: 0,
    duplicates: 0,
    submitted: 0,
    relayed: 0,
    dropped: 0,
    waitingForCatchup: 0,
  };
  readonly #type: protobuf.Type;
  readonly #wireType: protobuf.Type;
  readonly #queueLimit: number;
  readonly #catchupTtlMs: number;
  readonly #onTx: TxRelayOptions["onTx"];
  #currentHeight: (() => number) | undefined;
  readonly #outboxes = new Map<Peer, PeerOutbox>();
  readonly #loops = new Set<Promise<void>>();
  /** Marshalled one-tx messages, made once per tx and shared by every peer. */
  readonly #wire = new WeakMap<TxEntry, Uint8Array>();

  constructor(opts: TxRelayOptions = {}) {
    super("tx_relay", opts.logger);
    this.maxTxBytes = opts.maxTxBytes ?? DEFAULT_MAX_TX_BYTES;
    this.maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.cache = new TxCache(opts.cacheSize ?? DEFAULT_TX_CACHE_SIZE);
    this.#queueLimit = opts.peerQueueLimit ?? DEFAULT_PEER_QUEUE_LIMIT;
    this.#catchupTtlMs = opts.catchupTtlMs ?? DEFAULT_CATCHUP_TTL_MS;
    this.#currentHeight = opts.currentHeight;
    this.#onTx = opts.onTx;
    this.#type = protoType(lineMessageName(opts.line ?? lineProfile(), MEMPOOL_CHANNEL));
    this.#wireType = filteringType(this.#type, this.maxTxBytes, this.maxBatchBytes);
  }

  override getChannels(): readonly StreamDescriptor[] {
    return [{
      id: MEMPOOL_CHANNEL,
      priority: MEMPOOL_PRIORITY,
      sendQueueCapacity: MEMPOOL_SEND_QUEUE,
      recvMessageCapacity: txsMessageSize(this.maxTxBytes),
      messageType: this.#wireType,
      unwrap: true,
    }];
  }

  /** Our current height as stamped on new txs. */
  currentHeight(): number {
    return this.#currentHeight?.() ?? 0;
  }

  protected override onStart(): Promise<void> {
    if (this.#currentHeight === undefined && this.sw) {
      for (const r of this.sw.reactors().values()) {
        const src = heightSourceOf(r);
        if (src) {
          this.#currentHeight = src;
          break;
        }
      }
    }
    return Promise.resolve();
  }

  protected override async onStop(): Promise<void> {
    for (const box of this.#outboxes.values()) box.close();
    while (this.#loops.size > 0) await Promise.allSettled([...this.#loops]);
  }

  override addPeer(peer: Peer): void {
    if (!peer.hasChannel(MEMPOOL_CHANNEL) || !this.isRunning) return;
    const box = new PeerOutbox(this.#queueLimit, this.signal, () => this.stats.dropped++);
    // Go's broadcast routine walks the whole mempool for a new peer, so txs that entered
    // before it connected reach it too. We cannot see commits, so "still pending" means
    // admitted within the catch-up TTL, the longest any peer's loop would still send a tx.
    const now = performance.now();
    for (const entry of this.cache.values()) {
      if (now - entry.admittedAt <= this.#catchupTtlMs && !entry.senders.has(peer.id)) {
        box.push(entry);
      }
    }
    this.#outboxes.set(peer, box);
    const loop = this.#senderLoop(peer, box).catch((e) => {
      this.logger.error("Tx sender loop failed", { peer: peer.id, err: e });
    });
    this.#loops.add(loop);
    void loop.finally(() => this.#loops.delete(loop));
  }

  override removePeer(peer: Peer, _reason: StopReason): void {
    const box = this.#outboxes.get(peer);
    if (box === undefined) return;
    box.close();
    this.#outboxes.delete(peer);
  }

  override receive(env: InboundEnvelope): void {
    const txs = (env.message.txs as { txs?: Uint8Array[] } | undefined)?.txs ?? [];
    if (txs.length === 0) {
      // Cannot pass the filter; kept for messages decoded by a type without it.
      void this.sw?.stopPeerForError(env.src, new Error("received empty txs from peer"));
      return;
    }
    for (const tx of txs) {
      const res = this.cache.push(tx, this.currentHeight(), env.src.id);
      if (!res.added) {
        this.stats.duplicates++;
        continue;
      }
      this.stats.received++;
      this.#fanOut(res.entry, env.src);
    }
  }

  /**
   * Admits a locally submitted tx (Go's synchronous `CheckTx` checks) and queues it for every
   * peer. Throws {@link TxTooLargeError}, {@link TxInCacheError} or {@link EmptyTxError}.
   */
  checkTx(tx: Uint8Array): CheckTxResult {
    if (tx.length > this.maxTxBytes) throw new TxTooLargeError(this.maxTxBytes, tx.length);
    if (tx.length === 0) throw new EmptyTxError();
    const hash = toUpperHex(txHash(tx));
    if (this.cache.has(hash)) throw new TxInCacheError();
    const res = this.cache.push(tx.slice(), this.currentHeight(), undefined, hash);
    this.stats.submitted++;
    this.#fanOut(res.entry, undefined);
    return { hash };
  }

  /** The RPC routes this reactor serves: `broadcast_tx_async` (CometBFT's shape). */
  routes(): Route[] {
    return [{
      name: "broadcast_tx_async",
      params: [{ name: "tx", type: "bytes" }],
      handler: (args: RouteArgs) => {
        const { hash } = this.checkTx(args.tx as Uint8Array);
        return { code: 0, data: "", log: "", codespace: "", hash };
      },
    }];
  }

  /** Queued txs per connected peer (for tests and status). */
  queued(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [p, box] of this.#outboxes) out.set(p.id, box.length);
    return out;
  }

  #fanOut(entry: TxEntry, from: Peer | undefined): void {
    try {
      this.#onTx?.(entry, from);
    } catch (e) {
      this.logger.error("onTx callback failed", { err: e });
    }
    for (const [peer, box] of this.#outboxes) {
      if (peer !== from && !entry.senders.has(peer.id)) box.push(entry);
    }
  }

  #wireOf(entry: TxEntry): Uint8Array {
    let b = this.#wire.get(entry);
    if (b === undefined) {
      b = encode(this.#type, { txs: { txs: [entry.tx] } });
      this.#wire.set(entry, b);
    }
    return b;
  }

  /** Go's height rule, with the unknown-height policy of the module comment. */
  #eligible(peer: Peer, entry: TxEntry): boolean {
    if (!peer.hasChannel(CONSENSUS_STATE_CHANNEL)) return true;
    const h = peerHeightOf(peer);
    if (h === undefined) return true;
    return h >= entry.height - 1;
  }

  async #senderLoop(peer: Peer, box: PeerOutbox): Promise<void> {
    const signal = AbortSignal.any([box.signal, peer.quitSignal]);
    for (;;) {
      const entry = await box.next();
      if (entry === undefined || signal.aborted) return;
      // A peer may have sent us this tx after it was queued for it.
      if (entry.senders.has(peer.id)) continue;
      const waitedOut = !(await this.#awaitCatchup(peer, entry, signal));
      if (signal.aborted) return;
      if (waitedOut) {
        this.stats.dropped++;
        this.logger.debug("Peer did not catch up; tx dropped for it", {
          peer: peer.id,
          tx: entry.hash,
        });
        continue;
      }
      if (await this.#deliver(peer, this.#wireOf(entry), signal)) this.stats.relayed++;
      else if (signal.aborted) return;
      else {
        this.stats.dropped++;
        this.logger.debug("Send queue stayed full; tx dropped for peer", {
          peer: peer.id,
          tx: entry.hash,
        });
      }
    }
  }

  /** Waits until `peer` may get `entry`; false if the tx expired or the loop was aborted. */
  async #awaitCatchup(peer: Peer, entry: TxEntry, signal: AbortSignal): Promise<boolean> {
    if (this.#eligible(peer, entry)) return true;
    this.stats.waitingForCatchup++;
    try {
      while (!this.#eligible(peer, entry)) {
        if (performance.now() - entry.admittedAt > this.#catchupTtlMs) return false;
        await sleep(PEER_CATCHUP_SLEEP_MS, signal);
        if (signal.aborted) return false;
      }
      return true;
    } finally {
      this.stats.waitingForCatchup--;
    }
  }

  /** trySend; if the queue is full, wait for room (bounded), then back off and retry. */
  async #deliver(peer: Peer, bytes: Uint8Array, signal: AbortSignal): Promise<boolean> {
    if (peer.canSend(MEMPOOL_CHANNEL) && peer.trySendBytes(MEMPOOL_CHANNEL, bytes, TXS_LABEL)) {
      return true;
    }
    let backoff = SEND_RETRY_BACKOFF_MS;
    for (let attempt = 0; attempt <= SEND_RETRIES; attempt++) {
      const ok = await peer.sendBytes(MEMPOOL_CHANNEL, bytes, TXS_LABEL, {
        timeoutMs: SEND_WAIT_MS,
        signal,
      });
      if (ok) return true;
      if (signal.aborted || !peer.isRunning || attempt === SEND_RETRIES) return false;
      await sleep(backoff, signal);
      if (signal.aborted) return false;
      backoff *= 2;
    }
    return false;
  }
}

/** A `currentHeight()` of a reactor (or of a test recorder's `inner`), if it has one. */
function heightSourceOf(r: unknown): (() => number) | undefined {
  for (const cand of [r, (r as { inner?: unknown } | null)?.inner]) {
    const f = (cand as { currentHeight?: unknown } | null | undefined)?.currentHeight;
    if (typeof f === "function" && !(cand instanceof TxRelay)) {
      return () => (f as () => number).call(cand);
    }
  }
  return undefined;
}
