/**
 * A process-wide pool of large byte buffers for the connection layer. Connections keep only
 * small buffers while idle and borrow large ones for bursts (a batch of packets, a bulk read, a
 * multi-packet message), returning them when the burst is over. The pool turns the per-burst
 * allocation into a free-list pop, and keeps the memory of idle peers independent of how much
 * they once transferred: 1,000 idle peers hold 1,000 small buffers, not 1,000 large ones.
 *
 * Buffers are kept per exact length, up to {@link POOL_MAX_PER_SIZE} each and
 * {@link POOL_MAX_BYTES} in all; anything beyond is left to the garbage collector. A borrower
 * must give a buffer back only when nothing (no pending read, no queued write) still uses it,
 * and its contents are stale bytes of an earlier borrower: callers use only what they wrote.
 * @module
 */

/** Most buffers kept per length. */
export const POOL_MAX_PER_SIZE = 16;
/** Most bytes kept in the pool in all. */
export const POOL_MAX_BYTES = 8 << 20;

const free = new Map<number, Uint8Array<ArrayBuffer>[]>();
let pooledBytes = 0;

/** A buffer of exactly `size` bytes, from the pool when one is free (contents undefined). */
export function borrowBuffer(size: number): Uint8Array<ArrayBuffer> {
  const list = free.get(size);
  const buf = list?.pop();
  if (buf !== undefined) {
    pooledBytes -= size;
    return buf;
  }
  return new Uint8Array(size);
}

/** Returns a buffer from {@link borrowBuffer}; the caller must not touch it afterwards. */
export function returnBuffer(view: Uint8Array): void {
  const size = view.length;
  // Only whole, plain ArrayBuffers: a view would keep (and later hand out) memory around it.
  if (
    view.byteOffset !== 0 || !(view.buffer instanceof ArrayBuffer) ||
    view.buffer.byteLength !== size
  ) return;
  const buf = view as Uint8Array<ArrayBuffer>;
  if (pooledBytes + size > POOL_MAX_BYTES) return;
  let list = free.get(size);
  if (list === undefined) {
    list = [];
    free.set(size, list);
  }
  // A buffer given back twice would be handed to two borrowers at once.
  if (list.length >= POOL_MAX_PER_SIZE || list.includes(buf)) return;
  list.push(buf);
  pooledBytes += size;
}

/** Bytes currently held by the pool (for tests and diagnostics). */
export function pooledBufferBytes(): number {
  return pooledBytes;
}
