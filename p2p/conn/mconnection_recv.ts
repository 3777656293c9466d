/**
 * The receive routine of an {@link MConnection} (Go `recvRoutine`, spec §5): reads
 * `uvarint(len) ‖ Packet` from the stream into a small read buffer (a pooled large one under
 * bulk traffic), answers pings, cancels the pong timer, enforces the ping/pong flood limit and
 * reassembles messages, delivering each to {@link RecvHost.deliver}. When a delivery returns a
 * promise the routine reads nothing more from the stream until it settles (or the connection
 * stops): the next message of this connection waits, and TCP flow control slows the sender, as
 * Go's blocking `Receive` does. (Pings are not answered meanwhile either, as in Go: a delivery
 * that takes longer than the remote's pong timeout gets the connection dropped.) It reaches the
 * connection only through {@link RecvHost}.
 * @module
 */
import type { Logger } from "../../libs/log.ts";
import type { Channel } from "./channel.ts";
import { RecvCapacityError } from "./channel.ts";
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import type { FlowMonitor } from "./flowrate.ts";
import {
  decodePacketInto,
  newPacketCursor,
  PACKET_MSG,
  PACKET_PING,
  PACKET_PONG,
  PacketDecodeError,
} from "./packet.ts";
import type { ByteStream } from "./stream.ts";
import type { MConnectionErrorReason } from "./mconnection_status.ts";

/**
 * Ping/pong flood limit (our addition; Go has none): more than this many pings and pongs from
 * the remote within {@link PING_FLOOD_WINDOW_MS} stops the connection. An honest peer sends one
 * ping per ping interval (60 s by default) and one pong per ping of ours.
 */
export const PING_FLOOD_LIMIT = 1_000;
/** Window of {@link PING_FLOOD_LIMIT}. */
export const PING_FLOOD_WINDOW_MS = 1_000;
/** Largest read buffer, used under bulk traffic so one read serves many packets. */
const READ_BUFFER_SIZE = 65536;
/**
 * Read buffer held while idle (a pending read always holds one): pings, pongs and small
 * messages fit; a read that fills it, or a packet larger than it, switches to a pooled large
 * buffer until the received data is drained again.
 */
const SMALL_READ_BUFFER_SIZE = 1024;
const EMPTY = new Uint8Array(0);

/** What the receive routine needs from its connection. */
export interface RecvHost {
  /** Stops the connection for `reason` (reported once). */
  fail(reason: MConnectionErrorReason): void;
  /** A ping arrived: the send routine should answer with a pong. */
  requestPong(): void;
  /** A pong arrived: the pong timer is cancelled. */
  pongReceived(): void;
  /** The channel with id `chId`, if any. */
  channel(chId: number): Channel | undefined;
  /**
   * Delivers one complete message. A returned promise holds the routine until it settles; it
   * must not reject (the host reports failures itself).
   */
  deliver(chId: number, msg: Uint8Array): void | Promise<void>;
}

/** The receive side of one connection: its read buffer, flood counter and loop. */
export class Receiver {
  readonly #stream: ByteStream;
  readonly #host: RecvHost;
  readonly #monitor: FlowMonitor;
  readonly #recvRate: number;
  readonly #maxPacketSize: number;
  /** Size of the large read buffer. */
  readonly #bigReadSize: number;
  readonly #log: Logger;
  /** The read buffer in use by the receive routine. */
  #readBuf: Uint8Array = EMPTY;
  /** The decoded packet, reused for every packet (decoding allocates nothing). */
  readonly #pkt = newPacketCursor();
  // Ping/pong flood accounting: count within the window that started at #pingWindowStart.
  #pingWindowStart = 0;
  #pingCount = 0;
  /** A delivery still in progress: the routine waits for it before the next packet. */
  #pending: Promise<void> | undefined;
  #paused = false;

  constructor(
    stream: ByteStream,
    host: RecvHost,
    monitor: FlowMonitor,
    recvRate: number,
    maxPacketSize: number,
    log: Logger,
  ) {
    this.#stream = stream;
    this.#host = host;
    this.#monitor = monitor;
    this.#recvRate = recvRate;
    this.#maxPacketSize = maxPacketSize;
    this.#bigReadSize = Math.max(READ_BUFFER_SIZE, 2 * (maxPacketSize + 10));
    this.#log = log;
  }

  /** True while the routine waits for a delivery to settle (reads paused). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Length of the read buffer in use (0 while the routine is not running). */
  get readBufferSize(): number {
    return this.#readBuf.length;
  }

  /** Reads and dispatches packets until `signal` aborts, the stream ends or a packet is bad. */
  async run(signal: AbortSignal): Promise<void> {
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
              this.#host.fail({ code: "bad_packet", detail: "length varint overflow" });
              return;
            }
          }
          if (!complete) {
            want = 10;
            break;
          }
          if (len > max) {
            this.#host.fail({
              code: "bad_packet",
              detail: `message exceeds max size (${len} > ${max})`,
            });
            return;
          }
          if (end - p < len) {
            want = p - start + len;
            break;
          }
          const delay = this.#monitor.limitDelayMs(this.#recvRate);
          if (delay > 0) {
            await this.#monitor.limit(this.#recvRate, signal);
            if (signal.aborted) return;
          }
          this.#monitor.update(p + len - start); // prefix + body, as Go counts
          start = p + len;
          if (!this.#handlePacket(buf, p, p + len)) return;
          if (this.#pending !== undefined) {
            const p = this.#pending;
            this.#pending = undefined;
            this.#paused = true;
            await settledOrAborted(p, signal);
            this.#paused = false;
          }
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
            this.#host.fail({ code: "eof" });
          }
          return;
        }
        end += n;
        lastRead = n;
        fills = n === room ? fills + 1 : 0;
      }
    } catch (err) {
      if (!signal.aborted) this.#host.fail({ code: "io", cause: err });
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
    this.#host.fail({
      code: "ping_flood",
      count: this.#pingCount,
      windowMs: PING_FLOOD_WINDOW_MS,
    });
    return true;
  }

  /** Dispatches one Packet body; returns false when the connection must stop. */
  #handlePacket(buf: Uint8Array, start: number, end: number): boolean {
    const pkt = this.#pkt;
    try {
      decodePacketInto(buf, start, end, pkt);
    } catch (err) {
      const detail = err instanceof PacketDecodeError ? err.message : String(err);
      this.#host.fail({ code: "bad_packet", detail });
      return false;
    }
    if (pkt.kind !== PACKET_MSG && this.#pingFlood()) return false;
    switch (pkt.kind) {
      case PACKET_PING:
        this.#log.debug("Receive Ping");
        // One pong answers a burst of pings that arrive before the send routine runs.
        this.#host.requestPong();
        return true;
      case PACKET_PONG:
        this.#log.debug("Receive Pong");
        this.#host.pongReceived();
        return true;
      default: {
        // PACKET_MSG: decodePacketInto sets no other kind.
        const ch = pkt.channelId >= 0 && pkt.channelId <= 255
          ? this.#host.channel(pkt.channelId)
          : undefined;
        if (!ch) {
          this.#host.fail({ code: "unknown_channel", channelId: pkt.channelId });
          return false;
        }
        let msg: Uint8Array | null;
        try {
          msg = ch.recvPacketMsg(pkt.eof, buf, pkt.dataStart, pkt.dataEnd);
        } catch (err) {
          if (err instanceof RecvCapacityError) {
            this.#host.fail({
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
            const r = this.#host.deliver(ch.desc.id, msg);
            if (r !== undefined) this.#pending = r;
          } catch (cause) {
            this.#host.fail({ code: "receive_threw", channelId: ch.desc.id, cause });
            return false;
          }
        }
        return true;
      }
    }
  }
}

/**
 * Resolves when `p` settles or `signal` aborts, whichever comes first (a stopping connection
 * does not wait for a reactor that never returns).
 */
function settledOrAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    p.then(done, done);
  });
}
