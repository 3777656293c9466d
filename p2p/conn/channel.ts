/**
 * One logical channel of an MConnection (Go `conn.Channel`): a bounded send queue, a cursor over
 * the message being split into PacketMsgs, the `recentlySent` byte counter the scheduler uses,
 * and the reassembly buffer of incoming packets (spec §5.2–§5.4).
 * @module
 */
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import { payloadSizeFor, writePacketMsg } from "./packet.ts";
import { SendWaiters } from "./send_waiters.ts";

/** Default send queue capacity, in messages (Go `defaultSendQueueCapacity`). */
export const DEFAULT_SEND_QUEUE_CAPACITY = 1;
/** Default initial reassembly buffer, in bytes (Go `defaultRecvBufferCapacity`). */
export const DEFAULT_RECV_BUFFER_CAPACITY = 4096;
/** Default largest incoming message, in bytes: 21 MiB (Go `defaultRecvMessageCapacity`). */
export const DEFAULT_RECV_MESSAGE_CAPACITY = 22020096;
/** Factor applied to `recentlySent` at every stats tick (every 2 s). */
const RECENTLY_SENT_DECAY = 0.8;
/** Reassembly buffers above this size are not kept in the shared pool after delivery. */
const POOL_RECV_BUFFER_MAX = 1 << 20;
const NO_BUFFER = new Uint8Array(0);

/** Static description of a channel (Go `ChannelDescriptor`); zero/absent values take defaults. */
export interface ChannelDescriptor {
  /** Channel id byte, 0..255. */
  id: number;
  /** Scheduling weight, > 0. Higher means more bandwidth under contention. */
  priority: number;
  /** Messages that may wait in the send queue (default 1). */
  sendQueueCapacity?: number;
  /** Initial reassembly buffer size in bytes (default 4096); no protocol effect. */
  recvBufferCapacity?: number;
  /** Largest message accepted from the peer in bytes (default 22020096). */
  recvMessageCapacity?: number;
}

/** A descriptor with every default filled in. */
export type FilledChannelDescriptor = Required<ChannelDescriptor>;

/** Fills defaults like Go's `FillDefaults`; throws RangeError on an invalid id or priority. */
export function fillDefaults(desc: ChannelDescriptor): FilledChannelDescriptor {
  if (!Number.isInteger(desc.id) || desc.id < 0 || desc.id > 255) {
    throw new RangeError(`channel id must be 0..255, got ${desc.id}`);
  }
  if (!(desc.priority > 0)) {
    throw new RangeError(`channel ${desc.id}: priority must be positive, got ${desc.priority}`);
  }
  return {
    id: desc.id,
    priority: desc.priority,
    sendQueueCapacity: desc.sendQueueCapacity || DEFAULT_SEND_QUEUE_CAPACITY,
    recvBufferCapacity: desc.recvBufferCapacity || DEFAULT_RECV_BUFFER_CAPACITY,
    recvMessageCapacity: desc.recvMessageCapacity || DEFAULT_RECV_MESSAGE_CAPACITY,
  };
}

/** Reassembly would exceed the channel's `recvMessageCapacity`. */
export class RecvCapacityError extends Error {
  constructor(readonly channelId: number, readonly capacity: number, readonly received: number) {
    super(`received message exceeds available capacity: ${capacity} < ${received}`);
    this.name = "RecvCapacityError";
  }
}

/** Per-channel state. Single-threaded: only the owning MConnection calls into it. */
export class Channel {
  readonly desc: FilledChannelDescriptor;
  /** Bytes written on the wire for this channel, decayed ×0.8 every 2 s. */
  recentlySent = 0;

  readonly #maxChunk: number;
  readonly #onQueued: () => void;
  // Ring buffer of queued messages, grown on demand up to sendQueueCapacity (an idle channel
  // of capacity 100 holds no 100-slot array).
  #queue: (Uint8Array | undefined)[] = [];
  #qHead = 0;
  #qLen = 0;
  // Senders waiting for queue room, FIFO (O(1) bookkeeping each).
  readonly #waiters = new SendWaiters();
  // Message being split into packets.
  #sending: Uint8Array | null = null;
  #sendingOff = 0;
  // Reassembly: a buffer exists only while a multi-packet message is arriving.
  #recvBuf: Uint8Array = NO_BUFFER;
  #recvLen = 0;

  /**
   * @param maxPayload the connection's `maxPacketMsgPayloadSize`.
   * @param onQueued called whenever a message enters the queue (wakes the send routine).
   */
  constructor(desc: ChannelDescriptor, maxPayload: number, onQueued: () => void) {
    this.desc = fillDefaults(desc);
    this.#maxChunk = payloadSizeFor(this.desc.id, maxPayload);
    this.#onQueued = onQueued;
  }

  /** Size of the reassembly buffer (0 between messages). */
  get recvBufferSize(): number {
    return this.#recvBuf.length;
  }

  /** Messages queued or partly sent (Go `sendQueueSize`). */
  get sendQueueSize(): number {
    return this.#qLen + (this.#sending !== null ? 1 : 0);
  }

  /** Whether the queue has room right now (heuristic, like Go's `canSend`). */
  canSend(): boolean {
    return this.#qLen < this.desc.sendQueueCapacity && this.#waiters.size === 0;
  }

  /** Queues `msg` if there is room; never waits. The caller must not mutate `msg` afterwards. */
  trySend(msg: Uint8Array): boolean {
    if (!this.canSend()) return false;
    this.#push(msg);
    this.#onQueued();
    return true;
  }

  /**
   * Queues `msg`, waiting for room up to `timeoutMs` or until `signal` aborts; resolves false on
   * timeout, abort or {@link cancelWaiters}. Waiting senders are served in arrival order.
   */
  send(msg: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.trySend(msg)) return Promise.resolve(true);
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    return this.#waiters.wait(msg, timeoutMs, signal);
  }

  /** Resolves every waiting {@link send} with false (connection stopping). */
  cancelWaiters(): void {
    this.#waiters.cancelAll();
  }

  /** Whether a packet is ready to go: a partly sent message or a queued one (Go `isSendPending`). */
  isSendPending(): boolean {
    if (this.#sending !== null) return true;
    if (this.#qLen === 0) return false;
    this.#sending = this.#shift();
    this.#sendingOff = 0;
    this.#admitWaiters();
    return true;
  }

  /**
   * Writes the next PacketMsg of the current message into `buf` at `off` (the caller checked
   * {@link isSendPending} and reserved room for one maximal packet); returns the new offset.
   * Adds the bytes written to `recentlySent`.
   */
  writeNextPacket(buf: Uint8Array, off: number): number {
    const msg = this.#sending!;
    const remaining = msg.length - this.#sendingOff;
    let end: number;
    if (remaining <= this.#maxChunk) {
      // A message in one packet (the common case) is written without a view of it.
      const data = this.#sendingOff === 0 ? msg : msg.subarray(this.#sendingOff);
      end = writePacketMsg(buf, off, this.desc.id, true, data);
      this.#sending = null;
      this.#sendingOff = 0;
    } else {
      const next = this.#sendingOff + this.#maxChunk;
      end = writePacketMsg(buf, off, this.desc.id, false, msg.subarray(this.#sendingOff, next));
      this.#sendingOff = next;
    }
    this.recentlySent += end - off;
    return end;
  }

  /**
   * Adds one received PacketMsg whose data is `buf[start, end)` (offsets, so no view is made for
   * a message that fits one packet); returns the complete message on `eof` (a fresh array the
   * receiver may keep) or null. Throws {@link RecvCapacityError} on overflow.
   */
  recvPacketMsg(eof: boolean, buf: Uint8Array, start: number, end: number): Uint8Array | null {
    const total = this.#recvLen + (end - start);
    if (total > this.desc.recvMessageCapacity) {
      throw new RecvCapacityError(this.desc.id, this.desc.recvMessageCapacity, total);
    }
    if (eof && this.#recvLen === 0) return buf.slice(start, end);
    if (total > this.#recvBuf.length) this.#growRecvBuf(total);
    this.#recvBuf.set(buf.subarray(start, end), this.#recvLen);
    this.#recvLen = total;
    if (!eof) return null;
    const msg = this.#recvBuf.slice(0, total);
    this.#releaseRecvBuf();
    return msg;
  }

  /**
   * Grows the reassembly buffer to hold `total` bytes: the descriptor's initial capacity first,
   * then doubling, in power-of-two sizes so the pool can serve them.
   */
  #growRecvBuf(total: number): void {
    let size = Math.max(this.#recvBuf.length * 2, this.desc.recvBufferCapacity);
    while (size < total) size *= 2;
    size = size <= POOL_RECV_BUFFER_MAX ? 2 ** Math.ceil(Math.log2(size)) : size;
    size = Math.min(size, Math.max(total, this.desc.recvMessageCapacity));
    const grown = size <= POOL_RECV_BUFFER_MAX ? borrowBuffer(size) : new Uint8Array(size);
    if (this.#recvLen > 0) grown.set(this.#recvBuf.subarray(0, this.#recvLen));
    if (this.#recvBuf.length > 0 && this.#recvBuf.length <= POOL_RECV_BUFFER_MAX) {
      returnBuffer(this.#recvBuf);
    }
    this.#recvBuf = grown;
  }

  #releaseRecvBuf(): void {
    const buf = this.#recvBuf;
    this.#recvBuf = NO_BUFFER;
    this.#recvLen = 0;
    if (buf.length > 0 && buf.length <= POOL_RECV_BUFFER_MAX) returnBuffer(buf);
  }

  /** Decays `recentlySent` for `ticks` 2 s ticks (Go `updateStats`, once per tick). */
  updateStats(ticks = 1): void {
    let v = this.recentlySent;
    for (let i = 0; i < ticks && v > 0; i++) v = Math.trunc(v * RECENTLY_SENT_DECAY);
    this.recentlySent = v;
  }

  #push(msg: Uint8Array): void {
    let cap = this.#queue.length;
    if (this.#qLen === cap) {
      // Full ring below the capacity (callers checked it): unroll into a larger one.
      const grown: (Uint8Array | undefined)[] = new Array(
        Math.min(this.desc.sendQueueCapacity, Math.max(4, cap * 2)),
      );
      for (let i = 0; i < this.#qLen; i++) grown[i] = this.#queue[(this.#qHead + i) % cap];
      this.#queue = grown;
      this.#qHead = 0;
      cap = grown.length;
    }
    this.#queue[(this.#qHead + this.#qLen) % cap] = msg;
    this.#qLen++;
  }

  #shift(): Uint8Array {
    const msg = this.#queue[this.#qHead]!;
    this.#queue[this.#qHead] = undefined;
    this.#qHead = (this.#qHead + 1) % this.#queue.length;
    this.#qLen--;
    return msg;
  }

  /** Moves waiting senders into freed queue slots. */
  #admitWaiters(): void {
    let admitted = false;
    while (this.#qLen < this.desc.sendQueueCapacity) {
      const msg = this.#waiters.admit();
      if (msg === undefined) break;
      this.#push(msg);
      admitted = true;
    }
    if (admitted) this.#onQueued();
  }
}
