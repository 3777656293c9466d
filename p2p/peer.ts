/**
 * A connected peer (CometBFT `p2p/peer.go`): one authenticated connection wrapped in an
 * MConnection, the routing of its received messages to reactors (Go's `createMConnection`),
 * the send API reactors use, and a per-peer key/value store shared by reactors.
 *
 * Lifecycle: `created` → `running` → `stopping` → `stopped` (or `created` → `stopped` when a
 * peer is discarded before start). {@link Peer.quitSignal} aborts when stopping begins, so
 * pending `send`s and reactor routines end at once; {@link Peer.quit} resolves when the
 * connection is fully stopped.
 * @module
 */
import {
  DEFAULT_SEND_TIMEOUT_MS,
  type MConnConfig,
  MConnection,
  MConnectionError,
} from "./conn/mconnection.ts";
import { PROTOCOL_VIOLATION_CODES } from "./conn/mconnection_status.ts";
import type { ByteStream } from "./conn/stream.ts";
import type { NodeInfo } from "./node_info.ts";
import type { NetAddress } from "./netaddress.ts";
import type {
  Envelope,
  Peer as PeerContract,
  PeerState,
  SendOptions,
  StreamDescriptor,
} from "./reactor_api.ts";
import { connectionError, protocolViolation, type StopReason } from "./stop_reason.ts";
import { type ChannelRoute, PeerReceiver, RECEIVE_DRAIN_TIMEOUT_MS } from "./peer_receive.ts";
import { nopMetrics, type P2PMetrics, type SendFailureReason } from "./metrics.ts";
import { type Logger, nopLogger } from "../libs/log.ts";

/** The abort reason of every peer's quit signal (an AbortError, made once). */
const PEER_STOPPED = new DOMException("peer stopped", "AbortError");

export { RECEIVE_DRAIN_TIMEOUT_MS };

/** How often the pending-send gauge is sampled (Go's `metricsTickerDuration`). */
export const METRICS_TICKER_MS = 10_000;
/** How long `send` waits for queue room: the MConnection default (Go `defaultSendTimeout`). */
export { DEFAULT_SEND_TIMEOUT_MS };

/** The connection a peer is built on, as the transport hands it over after the handshake. */
export interface PeerConn {
  /** The authenticated, encrypted stream. */
  readonly stream: ByteStream;
  /** The peer's validated NodeInfo. */
  readonly nodeInfo: NodeInfo;
  /** True if we dialed. */
  readonly outbound: boolean;
  /** Remote IP of the TCP socket (canonical text). */
  readonly remoteIP: string;
  /** Remote TCP address. */
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
  /** Outbound: the dialed address; inbound: peer ID + TCP remote address. */
  readonly socketAddr: NetAddress;
  /** Closes the socket and releases its transport bookkeeping. Idempotent. */
  close(): void;
}

export type { ChannelRoute };

/** Everything a {@link Peer} needs from the switch. */
export interface PeerOptions {
  conn: PeerConn;
  /** Whether we redial this peer when it disconnects. */
  persistent: boolean;
  /** Every channel of the switch, in registration order (the MConnection channel order). */
  channels: readonly StreamDescriptor[];
  /** Channel id → reactor and codec. */
  routes: ReadonlyMap<number, ChannelRoute>;
  /** Called at most once per peer, when the connection fails or a message/reactor misbehaves. */
  onPeerError: (peer: Peer, reason: StopReason) => void;
  mconnConfig?: Partial<MConnConfig>;
  logger?: Logger;
  metrics?: P2PMetrics;
}

export type { PeerState, SendOptions };

/** A connected peer, shared by all reactors (implements the contract's `Peer`). */
export class Peer implements PeerContract {
  readonly #conn: PeerConn;
  readonly #mconn: MConnection;
  readonly #routes: ReadonlyMap<number, ChannelRoute>;
  readonly #advertised: Uint8Array;
  readonly #onPeerError: (peer: Peer, reason: StopReason) => void;
  readonly #logger: Logger;
  readonly #metrics: P2PMetrics;
  readonly #data = new Map<string, unknown>();
  readonly #quitCtl = new AbortController();
  readonly #stopped = Promise.withResolvers<void>();
  readonly #sendFailures: Record<SendFailureReason, number> = {
    not_running: 0,
    unknown_channel: 0,
    channel_not_advertised: 0,
    marshal_error: 0,
    queue_full: 0,
    too_many_waiting: 0,
  };
  #state: PeerState = "created";
  #stopPromise: Promise<void> | undefined;
  #errored = false;
  #stopRequest: StopReason | undefined;
  readonly #receiver: PeerReceiver;
  #ticker: ReturnType<typeof setInterval> | undefined;

  /** Remote node ID (equal to the authenticated key's ID). */
  readonly id: string;
  /** Whether we redial this peer when it disconnects (fixed at creation). */
  readonly isPersistent: boolean;
  /**
   * Set by the peer set when a removal of this object was attempted before it was inserted;
   * it can then never be inserted (Go's `SetRemovalFailed`).
   */
  removalFailed = false;

  constructor(opts: PeerOptions) {
    this.#conn = opts.conn;
    this.id = opts.conn.nodeInfo.id;
    this.isPersistent = opts.persistent;
    this.#routes = opts.routes;
    this.#advertised = opts.conn.nodeInfo.channels;
    this.#onPeerError = opts.onPeerError;
    this.#metrics = opts.metrics ?? nopMetrics;
    this.#logger = (opts.logger ?? nopLogger).with({ peer: this.id });
    this.#receiver = new PeerReceiver({
      peer: this,
      routes: opts.routes,
      metrics: this.#metrics,
      logger: this.#logger,
      // Nothing is delivered once stopping began or an error was reported: this is what makes
      // "no receive after removePeer" hold even if the MConnection still has bytes buffered.
      accepting: () => this.#state === "running" && !this.#errored,
      fail: (reason) => this.#fail(reason),
    });
    this.#mconn = new MConnection(
      opts.conn.stream,
      [...opts.channels],
      (chId, bytes) => this.#receiver.deliver(chId, bytes),
      // Unknown channels, malformed or oversized packets and floods are the remote's fault:
      // protocol violations (logged at error, persistent-peer redial after the cooldown).
      (err) =>
        this.#fail(
          err instanceof MConnectionError && PROTOCOL_VIOLATION_CODES.has(err.reason.code)
            ? protocolViolation(err)
            : connectionError(err),
        ),
      opts.mconnConfig,
      this.#logger,
    );
  }

  /** Current lifecycle state. */
  get state(): PeerState {
    return this.#state;
  }
  /** True between start and the beginning of stop. */
  get isRunning(): boolean {
    return this.#state === "running";
  }
  /** Aborted when the peer starts stopping. */
  get quitSignal(): AbortSignal {
    return this.#quitCtl.signal;
  }
  /** Resolves once the peer is fully stopped. */
  quit(): Promise<void> {
    return this.#stopped.promise;
  }
  /** True if we dialed this peer. */
  get isOutbound(): boolean {
    return this.#conn.outbound;
  }
  /** The peer's NodeInfo. */
  get nodeInfo(): NodeInfo {
    return this.#conn.nodeInfo;
  }
  /** Remote IP of the socket. */
  get remoteIP(): string {
    return this.#conn.remoteIP;
  }
  /** Remote TCP address. */
  get remoteAddr(): { readonly hostname: string; readonly port: number } {
    return this.#conn.remoteAddr;
  }
  /** Outbound: the dialed address; inbound: ID + TCP remote address. */
  get socketAddr(): NetAddress {
    return this.#conn.socketAddr;
  }
  /** MConnection status: per-channel queues, byte counters, rates. */
  status(): ReturnType<MConnection["status"]> {
    return this.#mconn.status();
  }
  /** True while this peer's socket reads wait for a reactor's `receive` promise to settle. */
  get receivePaused(): boolean {
    return this.#mconn.receivePaused;
  }
  /** Sends waiting for queue room on this peer now (bounded by `maxWaitingSends`). */
  get waitingSends(): number {
    return this.#mconn.waitingSends;
  }
  /** How many sends failed, per reason (the observable side of `send` returning false). */
  get sendFailures(): Readonly<Record<SendFailureReason, number>> {
    return this.#sendFailures;
  }

  /**
   * A stop asked for while the peer was not started yet (a reactor called `stopPeerForError`
   * from `initPeer`): the switch then does not add the peer.
   */
  get stopRequest(): StopReason | undefined {
    return this.#stopRequest;
  }
  /** Records a stop asked for before start (the first reason is kept). */
  requestStop(reason: StopReason): void {
    this.#stopRequest ??= reason;
  }

  /** Reads a value of the per-peer store. */
  get(key: string): unknown {
    return this.#data.get(key);
  }
  /** Writes a value of the per-peer store (shared by all reactors). */
  set(key: string, value: unknown): void {
    this.#data.set(key, value);
  }

  /** Starts the MConnection's routines. */
  start(): void {
    if (this.#state !== "created") {
      throw new Error(`peer ${this.id}: cannot start when ${this.#state}`);
    }
    this.#state = "running";
    this.#mconn.start();
    // No timer per peer when nobody collects the gauge.
    if (this.#metrics !== nopMetrics) {
      this.#ticker = setInterval(() => this.#reportPending(), METRICS_TICKER_MS);
    }
  }

  /** Stops the connection and closes the socket. Idempotent; resolves when stopped. */
  stop(): Promise<void> {
    return this.#beginStop(false);
  }

  /** Stops after the queued messages were written (Go `FlushStop`). */
  flushStop(): Promise<void> {
    return this.#beginStop(true);
  }

  /** Closes the socket without stopping routines (for a peer that was never started). */
  closeConn(): void {
    this.#conn.close();
  }

  #beginStop(flush: boolean): Promise<void> {
    if (this.#stopPromise) return this.#stopPromise;
    const wasRunning = this.#state === "running";
    this.#state = "stopping";
    // A shared reason: abort() without one builds a DOMException with a stack every time.
    this.#quitCtl.abort(PEER_STOPPED);
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#stopPromise = (async () => {
      try {
        if (wasRunning) {
          if (flush) await this.#mconn.flushStop();
          else await this.#mconn.stop();
        }
      } catch (e) {
        this.#logger.debug("Error while stopping peer", { err: e });
      } finally {
        this.#conn.close();
        this.#state = "stopped";
        this.#stopped.resolve();
      }
    })();
    return this.#stopPromise;
  }

  /**
   * Queues `envelope.message` on its channel, waiting up to 10 s for room. False if the peer
   * is not running, the channel has no reactor, the peer did not advertise the channel, the
   * message does not marshal, or the queue stayed full.
   */
  send(envelope: Envelope, opts: SendOptions = {}): Promise<boolean> {
    const prepared = this.#prepare(envelope);
    if (typeof prepared === "string") {
      return Promise.resolve(this.#failedSend(prepared, envelope.channelId));
    }
    return this.sendBytes(envelope.channelId, prepared.bytes, prepared.label, opts);
  }

  /** Like {@link send} but returns false at once when the queue is full. */
  trySend(envelope: Envelope): boolean {
    const prepared = this.#prepare(envelope);
    if (typeof prepared === "string") return this.#failedSend(prepared, envelope.channelId);
    return this.trySendBytes(envelope.channelId, prepared.bytes, prepared.label);
  }

  /**
   * Queues an already-marshalled message (used by `Switch.broadcast`, which marshals once for
   * all peers). `label` is the `message_type` metrics label.
   */
  async sendBytes(
    channelId: number,
    bytes: Uint8Array,
    label: string,
    opts: SendOptions = {},
  ): Promise<boolean> {
    const why = this.#checkChannel(channelId);
    if (why !== undefined) return this.#failedSend(why, channelId);
    if (this.#mconn.waitingSendsFull && !this.#mconn.canSend(channelId)) {
      return this.#failedSend("too_many_waiting", channelId);
    }
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.quitSignal]) : this.quitSignal;
    let ok: boolean;
    try {
      ok = await this.#mconn.send(channelId, bytes, {
        timeoutMs: opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
        signal,
      });
    } catch {
      ok = false;
    }
    return this.#sent(ok, channelId, bytes.length, label);
  }

  /** Non-blocking {@link sendBytes}. */
  trySendBytes(channelId: number, bytes: Uint8Array, label: string): boolean {
    const why = this.#checkChannel(channelId);
    if (why !== undefined) return this.#failedSend(why, channelId);
    let ok: boolean;
    try {
      ok = this.#mconn.trySend(channelId, bytes);
    } catch {
      ok = false;
    }
    return this.#sent(ok, channelId, bytes.length, label);
  }

  /** True if the peer runs and the channel's queue has room. */
  canSend(channelId: number): boolean {
    return this.isRunning && this.#mconn.canSend(channelId);
  }

  /** True if the peer listed `channelId` in its NodeInfo. */
  hasChannel(channelId: number): boolean {
    return this.#advertised.includes(channelId);
  }

  toString(): string {
    return `Peer{${this.#conn.remoteAddr.hostname}:${this.#conn.remoteAddr.port} ${this.id} ${
      this.isOutbound ? "out" : "in"
    }}`;
  }

  #checkChannel(channelId: number): SendFailureReason | undefined {
    if (!this.isRunning) return "not_running";
    if (!this.#routes.has(channelId)) return "unknown_channel";
    if (!this.hasChannel(channelId)) return "channel_not_advertised";
    return undefined;
  }

  #prepare(envelope: Envelope): { bytes: Uint8Array; label: string } | SendFailureReason {
    const why = this.#checkChannel(envelope.channelId);
    if (why !== undefined) return why;
    const route = this.#routes.get(envelope.channelId)!;
    try {
      return {
        bytes: route.codec.encode(envelope.message),
        label: route.codec.labelOf(envelope.message),
      };
    } catch (e) {
      this.#logger.debug("Marshaling message to send failed", { err: e });
      return "marshal_error";
    }
  }

  #sent(ok: boolean, channelId: number, n: number, label: string): boolean {
    if (!ok) return this.#failedSend(this.isRunning ? "queue_full" : "not_running", channelId);
    this.#metrics.peerSendBytes(this.id, channelId, label, n);
    return true;
  }

  #failedSend(reason: SendFailureReason, channelId: number): false {
    this.#sendFailures[reason]++;
    this.#metrics.sendFailure(reason);
    this.#logger.debug("Send failed", {
      reason,
      channel: channelId,
      channels: this.#advertised,
    });
    return false;
  }

  /** True while a reactor's `receive` promise for this peer is pending. */
  get receiveInFlight(): boolean {
    return this.#receiver.inFlight;
  }

  /**
   * Resolves once no `receive` of this peer is pending: at once, when it settles, or after
   * {@link RECEIVE_DRAIN_TIMEOUT_MS} (logged). The switch calls it before `removePeer`.
   */
  settleReceive(): Promise<void> {
    return this.#receiver.settle();
  }

  #fail(reason: StopReason): void {
    if (this.#errored) return;
    this.#errored = true;
    this.#onPeerError(this, reason);
  }

  #reportPending(): void {
    let queued = 0;
    for (const ch of this.#mconn.status().channels) queued += ch.sendQueueSize;
    this.#metrics.peerPendingSend(this.id, queued);
  }
}
