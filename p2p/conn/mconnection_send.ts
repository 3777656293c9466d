/**
 * Pieces of an {@link MConnection}'s send routine (Go `sendRoutine` / `sendSomePacketMsgs`,
 * spec §5): the wake-up signal, the pooled output buffer and the `recentlySent / priority`
 * batch scheduler. The routine itself, with its timers and flush policy, stays in
 * `mconnection.ts`.
 * @module
 */
import type { Channel } from "./channel.ts";
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import type { ByteStream } from "./stream.ts";

/** PacketMsgs per send batch (Go `numBatchPacketMsgs`). */
export const NUM_BATCH_PACKET_MSGS = 10;
/** Largest output buffer, used while a burst is being written (Go `minWriteBufferSize`). */
export const MIN_WRITE_BUFFER_SIZE = 65536;
/** Output buffer for pings, pongs and small batches; borrowed per burst, never held idle. */
const SMALL_WRITE_BUFFER_SIZE = 2048;
const EMPTY = new Uint8Array(0);

/** A one-slot wake-up signal for the send routine. */
export class Wakeup {
  #resolve: (() => void) | null = null;
  #pending = false;
  /** Wakes the pending {@link wait}, or makes the next one return at once. */
  notify(): void {
    const r = this.#resolve;
    if (r) {
      this.#resolve = null;
      r();
    } else this.#pending = true;
  }
  /** Resolves on the next (or an already pending) {@link notify}. */
  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((r) => (this.#resolve = r));
  }
}

/**
 * The output buffer: `buf[0, len)` is what is waiting to be written. `buf` is empty while
 * idle, else borrowed from the pool (small, then large).
 */
export class OutputBuffer {
  buf: Uint8Array = EMPTY;
  len = 0;
  /** Size of the large output buffer. */
  readonly #bigSize: number;

  constructor(bigSize: number) {
    this.#bigSize = bigSize;
  }

  /**
   * Makes room for `n` more bytes: borrows a small buffer, or trades it for a large one,
   * keeping what is buffered. False when even the large buffer is too full.
   */
  reserve(n: number): boolean {
    const need = this.len + n;
    const cur = this.buf;
    if (need <= cur.length) return true;
    if (cur.length >= this.#bigSize) return false;
    const next = borrowBuffer(
      need <= SMALL_WRITE_BUFFER_SIZE ? SMALL_WRITE_BUFFER_SIZE : this.#bigSize,
    );
    if (this.len > 0) next.set(cur.subarray(0, this.len));
    if (cur !== EMPTY) returnBuffer(cur);
    this.buf = next;
    return need <= next.length;
  }

  /** One `stream.write` of everything buffered (none when empty); keeps the buffer. */
  async writeTo(stream: ByteStream): Promise<void> {
    if (this.len === 0) return;
    await stream.write(this.buf.subarray(0, this.len));
    this.len = 0;
  }

  /** Gives an empty buffer back to the pool (the stream is done with it once write resolved). */
  release(): void {
    if (this.buf === EMPTY) return;
    returnBuffer(this.buf);
    this.buf = EMPTY;
  }
}

/**
 * Writes up to {@link NUM_BATCH_PACKET_MSGS} PacketMsgs into `out`, each from the pending
 * channel with the least `recentlySent / priority`, reserving `packetReserve` bytes before
 * each. Returns true when nothing is left to send.
 */
export function writeBatch(channels: Channel[], out: OutputBuffer, packetReserve: number): boolean {
  for (let i = 0; i < NUM_BATCH_PACKET_MSGS; i++) {
    const ch = selectChannel(channels);
    if (!ch) return true;
    // Full (and already large): the caller flushes and comes back for the rest.
    if (!out.reserve(packetReserve)) return false;
    out.len = ch.writeNextPacket(out.buf, out.len);
  }
  return false;
}

function selectChannel(channels: Channel[]): Channel | undefined {
  let least = Infinity;
  let chosen: Channel | undefined;
  for (const ch of channels) {
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
