/**
 * MConnection: many logical channels multiplexed over one byte stream (Go `p2p/conn/connection.go`,
 * spec §5). Two routines run per connection, both owned by {@link MConnection.start} /
 * {@link MConnection.stop} through one AbortController:
 *
 * - the send routine, woken by "data queued", timers and pong requests, writes PacketMsgs chosen
 *   by the `recentlySent / priority` scheduler into a reusable output buffer and flushes it with
 *   one `stream.write` per flush (throttled; pings and pongs flush at once);
 * - the receive routine reads `uvarint(len) ‖ Packet`, answers pings, cancels the pong timer and
 *   reassembles messages, delivering each to `onReceive`; when that returns a promise, nothing
 *   more is read until it settles (receive-side backpressure, like Go's blocking `Receive`).
 *
 * Any failure stops the connection and reports one typed {@link MConnectionError} to `onError`.
 * The receive routine lives in `mconnection_recv.ts`, the send routine's buffer and scheduler in
 * `mconnection_send.ts`, the settings and their defaults in `mconnection_config.ts`; every name
 * exported here before those splits still is.
 * @module
 */
import { type Logger, nopLogger } from "../../libs/log.ts";
import { AlreadyStartedError, InvalidParametersError } from "../errors.ts";
import { Channel, type ChannelDescriptor, fillDefaults } from "./channel.ts";
import {
  DEFAULT_SEND_TIMEOUT_MS,
  type MConnConfig,
  resolveMConnConfig,
} from "./mconnection_config.ts";
import { Receiver } from "./mconnection_recv.ts";
import {
  MIN_WRITE_BUFFER_SIZE,
  NUM_BATCH_PACKET_MSGS,
  OutputBuffer,
  Wakeup,
  writeBatch,
} from "./mconnection_send.ts";
import { FlowMonitor } from "./flowrate.ts";
import {
  delimitedPacketMsgSize,
  maxPacketMsgSize,
  PING_PONG_WIRE_SIZE,
  writePing,
  writePong,
} from "./packet.ts";
import { type ByteStream, closeQuietly } from "./stream.ts";

import {
  type ConnectionStatus,
  MConnectionError,
  type MConnectionErrorReason,
} from "./mconnection_status.ts";

/** The abort reason of every MConnection's routines (an AbortError, made once). */
const MCONN_STOPPED = new DOMException("connection stopped", "AbortError");

export type { ChannelDescriptor } from "./channel.ts";
export {
  type ChannelStatus,
  type ConnectionStatus,
  type ConnectionStatusJSON,
  connectionStatusToJSON,
  MConnectionError,
  type MConnectionErrorReason,
} from "./mconnection_status.ts";
export {
  DEFAULT_FLUSH_THROTTLE_MS,
  DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE,
  DEFAULT_MAX_WAITING_SENDS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PONG_TIMEOUT_MS,
  DEFAULT_RATE_BPS,
  DEFAULT_SEND_TIMEOUT_MS,
  defaultMConnConfig,
  type MConnConfig,
} from "./mconnection_config.ts";
export { PING_FLOOD_LIMIT, PING_FLOOD_WINDOW_MS } from "./mconnection_recv.ts";

/** Period of the `recentlySent` decay (Go `updateStats`). */
const UPDATE_STATS_MS = 2000;

/** Lifecycle: idle → running → (flushing →) stopped. */
type State = "idle" | "running" | "flushing" | "stopped";

/** A multiplexed connection over one {@link ByteStream}. */
export class MConnection {
  readonly #stream: ByteStream;
  readonly #channels: Channel[];
  readonly #onReceive: (chId: number, msg: Uint8Array) => void | Promise<void>;
  readonly #onError: (err: Error) => void;
  readonly #config: MConnConfig;
  readonly #log: Logger;
  readonly #created = performance.now();
  readonly #sendMonitor = new FlowMonitor();
  readonly #recvMonitor = new FlowMonitor();

  #state: State = "idle";
  #errored = false;
  readonly #ac = new AbortController();
  readonly #wake = new Wakeup();
  #sendDone: Promise<void> = Promise.resolve();
  #recvDone: Promise<void> = Promise.resolve();
  #sendQuit = false;
  /** Senders waiting for queue room, all channels together. */
  #waitingSends = 0;

  // Send-routine inputs, set by timers, senders and the receive routine.
  #dataQueued = false;
  #flushDue = false;
  #pingDue = false;
  #pongRequested = false;
  #pongTimedOut = false;

  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTicker: ReturnType<typeof setInterval> | undefined;
  /** Stats ticks (every {@link UPDATE_STATS_MS} since creation) already applied. */
  #statsTick = 0;

  /** Output buffer: empty while idle, else borrowed from the pool (small, then large). */
  readonly #out: OutputBuffer;
  /** Room checked before each PacketMsg: one maximal packet on any channel. */
  readonly #packetReserve: number;
  /** The receive routine and its read buffer. */
  readonly #receiver: Receiver;

  constructor(
    stream: ByteStream,
    channels: ChannelDescriptor[],
    onReceive: (chId: number, msg: Uint8Array) => void | Promise<void>,
    onError: (err: Error) => void,
    config: Partial<MConnConfig> = {},
    logger: Logger = nopLogger,
  ) {
    const cfg = resolveMConnConfig(config);
    this.#stream = stream;
    this.#onReceive = onReceive;
    this.#onError = onError;
    this.#config = cfg;
    this.#log = logger;
    const onQueued = () => {
      this.#dataQueued = true;
      this.#wake.notify();
    };
    const seen = new Set<number>();
    this.#channels = channels.map((d) => {
      const filled = fillDefaults(d);
      if (seen.has(filled.id)) throw new InvalidParametersError(`duplicate channel ${filled.id}`);
      seen.add(filled.id);
      return new Channel(filled, cfg.maxPacketMsgPayloadSize, onQueued);
    });
    this.#packetReserve = delimitedPacketMsgSize(255, true, cfg.maxPacketMsgPayloadSize);
    this.#out = new OutputBuffer(
      Math.max(MIN_WRITE_BUFFER_SIZE, 2 * NUM_BATCH_PACKET_MSGS * this.#packetReserve),
    );
    this.#receiver = new Receiver(
      stream,
      {
        fail: (reason) => this.#fail(reason),
        requestPong: () => {
          this.#pongRequested = true;
          this.#wake.notify();
        },
        pongReceived: () => {
          clearTimeout(this.#pongTimer);
          this.#pongTimer = undefined;
        },
        channel: (chId) => this.#channel(chId),
        deliver: (chId, msg) => this.#onReceive(chId, msg),
      },
      this.#recvMonitor,
      cfg.recvRate,
      maxPacketMsgSize(cfg.maxPacketMsgPayloadSize),
      logger,
    );
  }

  /**
   * Current buffer sizes, for tests and diagnostics: the output buffer (0 while none is
   * borrowed), the read buffer in use, and each channel's reassembly buffer (0 while none).
   */
  bufferStats(): { out: number; read: number; recv: { id: number; size: number }[] } {
    return {
      out: this.#out.buf.length,
      read: this.#receiver.readBufferSize,
      recv: this.#channels.map((ch) => ({ id: ch.desc.id, size: ch.recvBufferSize })),
    };
  }

  /** Senders waiting for queue room now, all channels together. */
  get waitingSends(): number {
    return this.#waitingSends;
  }

  /** True if a `send` that has to wait would be refused now (the waiting-sender bound). */
  get waitingSendsFull(): boolean {
    return this.#waitingSends >= this.#config.maxWaitingSends;
  }

  /** True while the receive routine waits for a delivery to settle (socket reads paused). */
  get receivePaused(): boolean {
    return this.#receiver.paused;
  }

  /** True between {@link start} and the beginning of a stop. */
  get isRunning(): boolean {
    return this.#state === "running";
  }

  /** Starts the send and receive routines and the ping / stats timers. */
  start(): void {
    if (this.#state !== "idle") throw new AlreadyStartedError(`MConnection already ${this.#state}`);
    this.#state = "running";
    this.#pingTicker = setInterval(() => {
      this.#pingDue = true;
      this.#wake.notify();
    }, this.#config.pingIntervalMs);
    this.#sendDone = this.#sendRoutine();
    this.#recvDone = this.#receiver.run(this.#ac.signal);
  }

  /** Stops both routines, closes the stream and waits for the routines to end. Idempotent. */
  async stop(): Promise<void> {
    this.#teardown();
    await this.#sendDone;
    await this.#recvDone;
  }

  /**
   * Stops accepting sends, writes every queued message to the stream, flushes, then closes
   * (Go `FlushStop`). Senders still waiting for queue room get false.
   */
  async flushStop(): Promise<void> {
    if (this.#state !== "running") return this.stop();
    this.#state = "flushing";
    this.#clearTimers();
    for (const ch of this.#channels) ch.cancelWaiters();
    this.#sendQuit = true;
    this.#wake.notify();
    await this.#sendDone;
    try {
      if (!this.#ac.signal.aborted) {
        let exhausted = false;
        while (!exhausted && !this.#ac.signal.aborted) {
          await this.#sendMonitor.limit(this.#config.sendRate, this.#ac.signal);
          await this.#makeRoom(this.#packetReserve);
          exhausted = this.#sendBatch();
        }
        await this.#flush();
      }
    } catch (err) {
      this.#log.debug("MConnection flush on stop failed", { err });
    }
    await this.stop();
  }

  /**
   * Queues `msg` on channel `chId`, waiting for queue room up to `timeoutMs` (default 10 s) or
   * until `signal` aborts. Resolves false on timeout, unknown channel or a stopped connection,
   * and at once when it would have to wait while `maxWaitingSends` senders already do.
   * The caller must not mutate `msg` afterwards.
   */
  send(
    chId: number,
    msg: Uint8Array,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const ch = this.#sendChannel(chId);
    if (!ch) return Promise.resolve(false);
    if (ch.trySend(msg)) return Promise.resolve(true);
    if (this.waitingSendsFull) {
      this.#log.debug("Send failed", { chID: chId, reason: "too many senders waiting" });
      return Promise.resolve(false);
    }
    this.#waitingSends++;
    return ch.send(msg, opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, opts.signal).then((ok) => {
      this.#waitingSends--;
      if (!ok) this.#log.debug("Send failed", { chID: chId, reason: "queue full or stopped" });
      return ok;
    });
  }

  /** Queues `msg` if the channel's queue has room; false otherwise, never waits. */
  trySend(chId: number, msg: Uint8Array): boolean {
    const ch = this.#sendChannel(chId);
    return ch ? ch.trySend(msg) : false;
  }

  /** Whether {@link trySend} on `chId` would succeed now (heuristic). */
  canSend(chId: number): boolean {
    const ch = this.#sendChannel(chId);
    return ch ? ch.canSend() : false;
  }

  /** Duration, flow monitors and per-channel queue state (Go `Status()`). */
  status(): ConnectionStatus {
    this.#applyStatsTicks();
    return {
      duration: performance.now() - this.#created,
      sendMonitor: this.#sendMonitor.status(),
      recvMonitor: this.#recvMonitor.status(),
      channels: this.#channels.map((ch) => ({
        id: ch.desc.id,
        sendQueueCapacity: ch.desc.sendQueueCapacity,
        sendQueueSize: ch.sendQueueSize,
        priority: ch.desc.priority,
        recentlySent: ch.recentlySent,
      })),
    };
  }

  /** The channel with id `chId` (a scan: connections have a handful of channels). */
  #channel(chId: number): Channel | undefined {
    for (const ch of this.#channels) if (ch.desc.id === chId) return ch;
    return undefined;
  }

  /**
   * Applies the `recentlySent` decay of every 2 s tick that passed since the last call (Go runs
   * a ticker; decaying on demand gives the scheduler the same values, as every byte counted
   * goes through a batch that first applies the ticks before it, and spares a timer per
   * connection).
   */
  #applyStatsTicks(): void {
    const tick = Math.floor((performance.now() - this.#created) / UPDATE_STATS_MS);
    const k = tick - this.#statsTick;
    if (k <= 0) return;
    this.#statsTick = tick;
    for (const ch of this.#channels) ch.updateStats(k);
  }

  #sendChannel(chId: number): Channel | undefined {
    if (this.#state !== "running") {
      this.#log.debug("Send on a connection that is not running", { chID: chId });
      return undefined;
    }
    const ch = this.#channel(chId);
    if (!ch) this.#log.error(`Cannot send bytes, unknown channel ${chId}`);
    return ch;
  }

  // ---- lifecycle helpers ------------------------------------------------------------------

  #clearTimers(): void {
    clearInterval(this.#pingTicker);
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#pongTimer);
    this.#pingTicker =
      this.#flushTimer =
      this.#pongTimer =
        undefined;
  }

  /** Aborts both routines and closes the stream; does not wait. Idempotent. */
  #teardown(): void {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#clearTimers();
    this.#ac.abort(MCONN_STOPPED); // shared reason: no DOMException + stack per connection
    this.#wake.notify();
    for (const ch of this.#channels) ch.cancelWaiters();
    closeQuietly(this.#stream);
  }

  /** Stops for an error and reports it once (only while running: local stops are silent). */
  #fail(reason: MConnectionErrorReason): void {
    if (this.#state !== "running" || this.#errored) {
      this.#teardown();
      return;
    }
    this.#errored = true;
    const err = new MConnectionError(reason);
    this.#log.debug("MConnection failed", { err });
    this.#teardown();
    try {
      this.#onError(err);
    } catch (e) {
      this.#log.error("onError callback threw", { err: e });
    }
  }

  // ---- send routine -----------------------------------------------------------------------

  async #sendRoutine(): Promise<void> {
    const signal = this.#ac.signal;
    try {
      while (!signal.aborted && !this.#sendQuit) {
        if (this.#pongTimedOut) {
          this.#fail({ code: "pong_timeout" });
          return;
        }
        if (this.#pingDue) {
          this.#pingDue = false;
          await this.#makeRoom(PING_PONG_WIRE_SIZE);
          this.#log.debug("Send Ping");
          this.#out.len = writePing(this.#out.buf, this.#out.len);
          this.#sendMonitor.update(PING_PONG_WIRE_SIZE);
          this.#startPongTimer();
          await this.#flush();
          continue;
        }
        if (this.#pongRequested) {
          this.#pongRequested = false;
          await this.#makeRoom(PING_PONG_WIRE_SIZE);
          this.#log.debug("Send Pong");
          this.#out.len = writePong(this.#out.buf, this.#out.len);
          this.#sendMonitor.update(PING_PONG_WIRE_SIZE);
          await this.#flush();
          continue;
        }
        // Before data: under a continuous stream the throttle still flushes every period.
        if (this.#flushDue) {
          this.#flushDue = false;
          await this.#flush();
          continue;
        }
        if (this.#dataQueued) {
          this.#dataQueued = false;
          const delay = this.#sendMonitor.limitDelayMs(this.#config.sendRate);
          if (delay > 0) {
            await this.#sendMonitor.limit(this.#config.sendRate, signal);
            this.#dataQueued = true;
            continue;
          }
          await this.#makeRoom(this.#packetReserve);
          if (!this.#sendBatch()) this.#dataQueued = true;
          // Throttle off: flush once the burst is written (a timer would add ≥ 1 ms per hop).
          else if (this.#config.flushThrottleMs <= 0) this.#flushDue = true;
          continue;
        }
        await this.#wake.wait();
      }
    } catch (err) {
      if (!signal.aborted) this.#fail({ code: "io", cause: err });
    }
  }

  /**
   * Writes up to {@link NUM_BATCH_PACKET_MSGS} PacketMsgs into the output buffer, each from the
   * pending channel with the least `recentlySent / priority`. Returns true when nothing is left.
   */
  #sendBatch(): boolean {
    this.#applyStatsTicks();
    const start = this.#out.len;
    const exhausted = writeBatch(this.#channels, this.#out, this.#packetReserve);
    const written = this.#out.len - start;
    if (written > 0) {
      this.#sendMonitor.update(written);
      this.#armFlushTimer();
    }
    return exhausted;
  }

  #armFlushTimer(): void {
    if (
      this.#flushTimer !== undefined || this.#state !== "running" ||
      this.#config.flushThrottleMs <= 0
    ) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushDue = true;
      this.#wake.notify();
    }, this.#config.flushThrottleMs);
  }

  /** Makes room for `n` more output bytes, flushing first when the large buffer is full. */
  async #makeRoom(n: number): Promise<void> {
    if (this.#out.reserve(n)) return;
    await this.#flush(false);
    this.#out.reserve(n);
  }

  /**
   * One `stream.write` of everything buffered. When nothing else is waiting to be written, the
   * output buffer goes back to the pool: an idle connection holds none.
   */
  async #flush(release = true): Promise<void> {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (this.#out.len === 0) return;
    await this.#out.writeTo(this.#stream);
    // The stream is done with the bytes once write resolved (the buffer was reused before too).
    if (release && !this.#dataQueued && !this.#pingDue && !this.#pongRequested) {
      this.#out.release();
    }
  }

  #startPongTimer(): void {
    clearTimeout(this.#pongTimer);
    this.#pongTimer = setTimeout(() => {
      this.#pongTimer = undefined;
      this.#pongTimedOut = true;
      this.#wake.notify();
    }, this.#config.pongTimeoutMs);
  }
}
