/**
 * MConnection: many logical channels multiplexed over one byte stream (Go `p2p/conn/connection.go`,
 * spec §5). Two routines run per connection, both owned by {@link MConnection.start} /
 * {@link MConnection.stop} through one AbortController:
 *
 * - the send routine, woken by "data queued", timers and pong requests, writes PacketMsgs chosen
 *   by the `recentlySent / priority` scheduler into a reusable output buffer and flushes it with
 *   one `stream.write` per flush (throttled; pings and pongs flush at once);
 * - the receive routine reads `uvarint(len) ‖ Packet`, answers pings, cancels the pong timer and
 *   reassembles messages, delivering each synchronously to `onReceive`.
 *
 * Any failure stops the connection and reports one typed {@link MConnectionError} to `onError`.
 * @module
 */
import { type Logger, nopLogger } from "../../libs/log.ts";
import { AlreadyStartedError, InvalidParametersError } from "../errors.ts";
import { Channel, type ChannelDescriptor, fillDefaults, RecvCapacityError } from "./channel.ts";
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import { FlowMonitor } from "./flowrate.ts";
import {
  decodePacket,
  delimitedPacketMsgSize,
  maxPacketMsgSize,
  PacketDecodeError,
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

/** Default largest data chunk per PacketMsg (Go `defaultMaxPacketMsgPayloadSize`). */
export const DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE = 1024;
/** Default send/receive rate in B/s (CometBFT config `send_rate` / `recv_rate`). */
export const DEFAULT_RATE_BPS = 5_120_000;
/** Default flush throttle (config `flush_throttle_timeout`). */
export const DEFAULT_FLUSH_THROTTLE_MS = 100;
/** Default ping interval (Go `defaultPingInterval`). */
export const DEFAULT_PING_INTERVAL_MS = 60_000;
/** Default pong timeout (Go `defaultPongTimeout`). */
export const DEFAULT_PONG_TIMEOUT_MS = 45_000;
/** How long `send` waits for queue room (Go `defaultSendTimeout`). */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/**
 * Ping/pong flood limit (our addition; Go has none): more than this many pings and pongs from
 * the remote within {@link PING_FLOOD_WINDOW_MS} stops the connection. An honest peer sends one
 * ping per ping interval (60 s by default) and one pong per ping of ours.
 */
export const PING_FLOOD_LIMIT = 1_000;
/** Window of {@link PING_FLOOD_LIMIT}. */
export const PING_FLOOD_WINDOW_MS = 1_000;
/** PacketMsgs per send batch (Go `numBatchPacketMsgs`). */
const NUM_BATCH_PACKET_MSGS = 10;
/** Largest output buffer, used while a burst is being written (Go `minWriteBufferSize`). */
const MIN_WRITE_BUFFER_SIZE = 65536;
/** Largest read buffer, used under bulk traffic so one read serves many packets. */
const READ_BUFFER_SIZE = 65536;
/**
 * Read buffer held while idle (a pending read always holds one): pings, pongs and small
 * messages fit; a read that fills it, or a packet larger than it, switches to a pooled large
 * buffer until the received data is drained again.
 */
const SMALL_READ_BUFFER_SIZE = 1024;
/** Output buffer for pings, pongs and small batches; borrowed per burst, never held idle. */
const SMALL_WRITE_BUFFER_SIZE = 2048;
const EMPTY = new Uint8Array(0);
/** Period of the `recentlySent` decay (Go `updateStats`). */
const UPDATE_STATS_MS = 2000;

/** MConnection settings (Go `MConnConfig`); durations in ms, rates in B/s (0 = unlimited). */
export interface MConnConfig {
  sendRate: number;
  recvRate: number;
  maxPacketMsgPayloadSize: number;
  flushThrottleMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

/** Defaults as a v0.38 node configures them (config.toml values, not the `conn` package's). */
export const defaultMConnConfig: Readonly<MConnConfig> = Object.freeze({
  sendRate: DEFAULT_RATE_BPS,
  recvRate: DEFAULT_RATE_BPS,
  maxPacketMsgPayloadSize: DEFAULT_MAX_PACKET_MSG_PAYLOAD_SIZE,
  flushThrottleMs: DEFAULT_FLUSH_THROTTLE_MS,
  pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
  pongTimeoutMs: DEFAULT_PONG_TIMEOUT_MS,
});

/** Lifecycle: idle → running → (flushing →) stopped. */
type State = "idle" | "running" | "flushing" | "stopped";

/** A one-slot wake-up signal for the send routine. */
class Wakeup {
  #resolve: (() => void) | null = null;
  #pending = false;
  notify(): void {
    const r = this.#resolve;
    if (r) {
      this.#resolve = null;
      r();
    } else this.#pending = true;
  }
  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((r) => (this.#resolve = r));
  }
}

/** A multiplexed connection over one {@link ByteStream}. */
export class MConnection {
  readonly #stream: ByteStream;
  readonly #channels: Channel[];
  readonly #onReceive: (chId: number, msg: Uint8Array) => void;
  readonly #onError: (err: Error) => void;
  readonly #config: MConnConfig;
  readonly #log: Logger;
  readonly #created = performance.now();
  readonly #maxPacketSize: number;
  readonly #sendMonitor = new FlowMonitor();
  readonly #recvMonitor = new FlowMonitor();

  #state: State = "idle";
  #errored = false;
  readonly #ac = new AbortController();
  readonly #wake = new Wakeup();
  #sendDone: Promise<void> = Promise.resolve();
  #recvDone: Promise<void> = Promise.resolve();
  #sendQuit = false;

  // Send-routine inputs, set by timers, senders and the receive routine.
  #dataQueued = false;
  #flushDue = false;
  #pingDue = false;
  #pongRequested = false;
  #pongTimedOut = false;
  // Ping/pong flood accounting: count within the window that started at #pingWindowStart.
  #pingWindowStart = 0;
  #pingCount = 0;

  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTicker: ReturnType<typeof setInterval> | undefined;
  /** Stats ticks (every {@link UPDATE_STATS_MS} since creation) already applied. */
  #statsTick = 0;

  /** Output buffer: {@link EMPTY} while idle, else borrowed from the pool (small, then large). */
  #out: Uint8Array = EMPTY;
  #outLen = 0;
  /** Room checked before each PacketMsg: one maximal packet on any channel. */
  readonly #packetReserve: number;
  /** Size of the large output buffer (today's fixed size). */
  readonly #bigOutSize: number;
  /** Size of the large read buffer. */
  readonly #bigReadSize: number;
  /** The read buffer in use by the receive routine. */
  #readBuf: Uint8Array = EMPTY;

  constructor(
    stream: ByteStream,
    channels: ChannelDescriptor[],
    onReceive: (chId: number, msg: Uint8Array) => void,
    onError: (err: Error) => void,
    config: Partial<MConnConfig> = {},
    logger: Logger = nopLogger,
  ) {
    const cfg: MConnConfig = { ...defaultMConnConfig };
    for (const [k, v] of Object.entries(config) as [keyof MConnConfig, number | undefined][]) {
      if (v !== undefined) cfg[k] = v;
    }
    if (cfg.pongTimeoutMs >= cfg.pingIntervalMs) {
      throw new InvalidParametersError("pongTimeoutMs must be less than pingIntervalMs");
    }
    if (!(cfg.maxPacketMsgPayloadSize >= 2)) {
      throw new InvalidParametersError("maxPacketMsgPayloadSize must be at least 2");
    }
    this.#stream = stream;
    this.#onReceive = onReceive;
    this.#onError = onError;
    this.#config = cfg;
    this.#log = logger;
    this.#maxPacketSize = maxPacketMsgSize(cfg.maxPacketMsgPayloadSize);
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
    this.#bigOutSize = Math.max(
      MIN_WRITE_BUFFER_SIZE,
      2 * NUM_BATCH_PACKET_MSGS * this.#packetReserve,
    );
    this.#bigReadSize = Math.max(READ_BUFFER_SIZE, 2 * (this.#maxPacketSize + 10));
  }

  /**
   * Current buffer sizes, for tests and diagnostics: the output buffer (0 while none is
   * borrowed), the read buffer in use, and each channel's reassembly buffer (0 while none).
   */
  bufferStats(): { out: number; read: number; recv: { id: number; size: number }[] } {
    return {
      out: this.#out.length,
      read: this.#readBuf.length,
      recv: this.#channels.map((ch) => ({ id: ch.desc.id, size: ch.recvBufferSize })),
    };
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
    this.#recvDone = this.#recvRoutine();
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
   * until `signal` aborts. Resolves false on timeout, unknown channel or a stopped connection.
   * The caller must not mutate `msg` afterwards.
   */
  send(
    chId: number,
    msg: Uint8Array,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const ch = this.#sendChannel(chId);
    if (!ch) return Promise.resolve(false);
    return ch.send(msg, opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, opts.signal).then((ok) => {
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
          this.#outLen = writePing(this.#out, this.#outLen);
          this.#sendMonitor.update(PING_PONG_WIRE_SIZE);
          this.#startPongTimer();
          await this.#flush();
          continue;
        }
        if (this.#pongRequested) {
          this.#pongRequested = false;
          await this.#makeRoom(PING_PONG_WIRE_SIZE);
          this.#log.debug("Send Pong");
          this.#outLen = writePong(this.#out, this.#outLen);
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
    const start = this.#outLen;
    let exhausted = false;
    for (let i = 0; i < NUM_BATCH_PACKET_MSGS; i++) {
      const ch = this.#selectChannel();
      if (!ch) {
        exhausted = true;
        break;
      }
      // Full (and already large): the caller flushes and comes back for the rest.
      if (!this.#reserve(this.#packetReserve)) break;
      this.#outLen = ch.writeNextPacket(this.#out, this.#outLen);
    }
    const written = this.#outLen - start;
    if (written > 0) {
      this.#sendMonitor.update(written);
      this.#armFlushTimer();
    }
    return exhausted;
  }

  #selectChannel(): Channel | undefined {
    let least = Infinity;
    let chosen: Channel | undefined;
    for (const ch of this.#channels) {
      if (!ch.isSendPending()) continue;
      // Go divides in float32; the order of ratios is the same for byte counts in range.
      const ratio = Math.fround(ch.recentlySent) / Math.fround(ch.desc.priority);
      if (ratio < least) {
        least = ratio;
        chosen = ch;
      }
    }
    return chosen;
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

  /**
   * Makes room for `n` more bytes in the output buffer: borrows a small buffer, or trades it
   * for a large one, keeping what is buffered. False when even the large buffer is too full.
   */
  #reserve(n: number): boolean {
    const need = this.#outLen + n;
    const cur = this.#out;
    if (need <= cur.length) return true;
    if (cur.length >= this.#bigOutSize) return false;
    const next = borrowBuffer(
      need <= SMALL_WRITE_BUFFER_SIZE ? SMALL_WRITE_BUFFER_SIZE : this.#bigOutSize,
    );
    if (this.#outLen > 0) next.set(cur.subarray(0, this.#outLen));
    if (cur !== EMPTY) returnBuffer(cur);
    this.#out = next;
    return need <= next.length;
  }

  /** {@link reserve}, flushing first when the large buffer is full. */
  async #makeRoom(n: number): Promise<void> {
    if (this.#reserve(n)) return;
    await this.#flush(false);
    this.#reserve(n);
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
    if (this.#outLen === 0) return;
    const n = this.#outLen;
    await this.#stream.write(this.#out.subarray(0, n));
    this.#outLen = 0;
    // The stream is done with the bytes once write resolved (the buffer was reused before too).
    if (release && !this.#dataQueued && !this.#pingDue && !this.#pongRequested) {
      returnBuffer(this.#out);
      this.#out = EMPTY;
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

  // ---- receive routine --------------------------------------------------------------------

  async #recvRoutine(): Promise<void> {
    const signal = this.#ac.signal;
    const small = new Uint8Array(SMALL_READ_BUFFER_SIZE);
    let buf = this.#readBuf = small;
    let start = 0; // first unparsed byte
    let end = 0; // end of valid data
    let lastRead = 0; // bytes the last read returned
    let fills = 0; // consecutive reads that filled all the room they were given
    const max = this.#maxPacketSize;
    try {
      while (!signal.aborted) {
        // Parse every complete packet already buffered; `want` = bytes the partial one needs.
        let want = 0;
        while (true) {
          // uvarint length prefix (Go accepts up to 10 bytes, non-minimal forms included).
          let len = 0;
          let mul = 1;
          let p = start;
          let complete = false;
          while (p < end) {
            const b = buf[p++];
            len += (b & 0x7f) * mul;
            mul *= 128;
            if (b < 0x80) {
              complete = true;
              break;
            }
            if (p - start >= 10) {
              this.#fail({ code: "bad_packet", detail: "length varint overflow" });
              return;
            }
          }
          if (!complete) {
            want = 10;
            break;
          }
          if (len > max) {
            this.#fail({
              code: "bad_packet",
              detail: `message exceeds max size (${len} > ${max})`,
            });
            return;
          }
          if (end - p < len) {
            want = p - start + len;
            break;
          }
          const delay = this.#recvMonitor.limitDelayMs(this.#config.recvRate);
          if (delay > 0) {
            await this.#recvMonitor.limit(this.#config.recvRate, signal);
            if (signal.aborted) return;
          }
          const body = buf.subarray(p, p + len);
          this.#recvMonitor.update(p + len - start); // prefix + body, as Go counts
          start = p + len;
          if (!this.#handlePacket(body)) return;
          if (signal.aborted) return;
        }
        if (start === end) {
          // Drained: unless data is streaming (the last read alone would not have fit the
          // small buffer), wait for the next data in the small buffer, so a peer that went
          // idle holds only that one (at the latest after its next ping).
          start = end = 0;
          if (buf !== small && lastRead < small.length) {
            returnBuffer(buf);
            buf = this.#readBuf = small;
          }
        } else if (buf === small) {
          // A partial packet: compact; a packet larger than the small buffer, or reads that
          // keep filling all the room they are given (bulk traffic), move to a large pooled one.
          if (start > 0) {
            small.copyWithin(0, start, end);
            end -= start;
            start = 0;
          }
          if (want > small.length || fills >= 2) {
            const big = borrowBuffer(this.#bigReadSize);
            big.set(small.subarray(0, end));
            buf = this.#readBuf = big;
          }
        } else if (start > 0 && buf.length - end < max + 10) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        const room = buf.length - end;
        const n = await this.#stream.read(buf.subarray(end));
        if (n === null) {
          if (!signal.aborted) {
            this.#log.debug("Connection is closed @ recvRoutine (likely by the other side)");
            this.#fail({ code: "eof" });
          }
          return;
        }
        end += n;
        lastRead = n;
        fills = n === room ? fills + 1 : 0;
      }
    } catch (err) {
      if (!signal.aborted) this.#fail({ code: "io", cause: err });
    } finally {
      // The read has settled, so nothing writes into a large buffer any more.
      if (buf !== small) returnBuffer(buf);
      this.#readBuf = EMPTY;
    }
  }

  /** Counts a received ping or pong; true (and the connection failed) past the flood limit. */
  #pingFlood(): boolean {
    const now = performance.now();
    if (now - this.#pingWindowStart >= PING_FLOOD_WINDOW_MS) {
      this.#pingWindowStart = now;
      this.#pingCount = 0;
    }
    if (++this.#pingCount <= PING_FLOOD_LIMIT) return false;
    this.#fail({ code: "ping_flood", count: this.#pingCount, windowMs: PING_FLOOD_WINDOW_MS });
    return true;
  }

  /** Dispatches one Packet body; returns false when the connection must stop. */
  #handlePacket(body: Uint8Array): boolean {
    let pkt;
    try {
      pkt = decodePacket(body);
    } catch (err) {
      const detail = err instanceof PacketDecodeError ? err.message : String(err);
      this.#fail({ code: "bad_packet", detail });
      return false;
    }
    if (pkt.kind !== "msg" && this.#pingFlood()) return false;
    switch (pkt.kind) {
      case "ping":
        this.#log.debug("Receive Ping");
        // One pong answers a burst of pings that arrive before the send routine runs.
        this.#pongRequested = true;
        this.#wake.notify();
        return true;
      case "pong":
        this.#log.debug("Receive Pong");
        clearTimeout(this.#pongTimer);
        this.#pongTimer = undefined;
        return true;
      case "msg": {
        const ch = pkt.channelId >= 0 && pkt.channelId <= 255
          ? this.#channel(pkt.channelId)
          : undefined;
        if (!ch) {
          this.#fail({ code: "unknown_channel", channelId: pkt.channelId });
          return false;
        }
        let msg: Uint8Array | null;
        try {
          msg = ch.recvPacketMsg(pkt.eof, pkt.data);
        } catch (err) {
          if (err instanceof RecvCapacityError) {
            this.#fail({
              code: "message_too_large",
              channelId: err.channelId,
              capacity: err.capacity,
              received: err.received,
            });
            return false;
          }
          throw err;
        }
        if (msg !== null) {
          try {
            this.#onReceive(ch.desc.id, msg);
          } catch (cause) {
            this.#fail({ code: "receive_threw", channelId: ch.desc.id, cause });
            return false;
          }
        }
        return true;
      }
    }
  }
}
