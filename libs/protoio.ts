/**
 * Length-delimited protobuf framing (CometBFT `libs/protoio`): each message is
 * `uvarint(byte length) ‖ message`. The reader, like Go's `NewDelimitedReader`, never reads past
 * the end of the message it returns (the varint is read one byte at a time), so the bytes that
 * follow stay in the stream for whoever reads next.
 * @module
 */
import type { ByteStream } from "../p2p/conn/stream.ts";
import { ConnectionClosedError, HandshakeError, MessageTooLargeError } from "../p2p/errors.ts";

/** Longest uvarint encoding of a 64-bit value. */
export const MAX_UVARINT_LEN = 10;

/** A uvarint is longer than 10 bytes or overflows 64 bits (Go: "varint overflows a 64-bit integer"). */
export class MalformedVarintError extends HandshakeError {
  constructor(message = "varint overflows a 64-bit integer") {
    super(message);
  }
}

/** Number of bytes `uvarint(n)` takes. `n` must be a non-negative safe integer. */
export function uvarintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/**
 * Writes `uvarint(n)` into `buf` at `offset`; returns the number of bytes written.
 * `n` must be a non-negative safe integer (lengths, channel ids, ...).
 */
export function putUvarint(buf: Uint8Array, offset: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`uvarint value out of range: ${n}`);
  let i = offset;
  while (n >= 0x80) {
    buf[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[i++] = n;
  return i - offset;
}

/** `uvarint(n)` as a fresh array. */
export function encodeUvarint(n: number): Uint8Array {
  const out = new Uint8Array(uvarintSize(n));
  putUvarint(out, 0, n);
  return out;
}

/** Result of {@link decodeUvarint}. */
export interface DecodedUvarint {
  /** Decoded value; exact up to 2^53, beyond that approximate (only ever compared to a limit). */
  value: number;
  /** Bytes consumed. */
  length: number;
}

/**
 * Decodes a uvarint from `buf` at `offset`. Returns `null` when `buf` ends before the varint does.
 * @throws MalformedVarintError when it is longer than 10 bytes or exceeds 64 bits (as Go's
 * `binary.Uvarint`).
 */
export function decodeUvarint(buf: Uint8Array, offset = 0): DecodedUvarint | null {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < MAX_UVARINT_LEN; i++) {
    if (offset + i >= buf.length) return null;
    const b = buf[offset + i];
    if (i === MAX_UVARINT_LEN - 1 && b > 1) throw new MalformedVarintError();
    value += (b & 0x7f) * mul;
    if (b < 0x80) return { value, length: i + 1 };
    mul *= 128;
  }
  throw new MalformedVarintError();
}

/** `uvarint(msg.length) ‖ msg` in one fresh buffer. */
export function marshalDelimited(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(uvarintSize(msg.length) + msg.length);
  const n = putUvarint(out, 0, msg.length);
  out.set(msg, n);
  return out;
}

/**
 * Splits one delimited message off the front of `buf`: returns the message (a view into `buf`)
 * and how many bytes were consumed, or `null` when `buf` does not yet hold a whole message.
 * @throws MessageTooLargeError when the declared length exceeds `maxSize`.
 */
export function unmarshalDelimited(
  buf: Uint8Array,
  maxSize: number,
): { msg: Uint8Array; consumed: number } | null {
  const v = decodeUvarint(buf);
  if (!v) return null;
  checkSize(v.value, maxSize);
  const end = v.length + v.value;
  if (buf.length < end) return null;
  return { msg: buf.subarray(v.length, end), consumed: end };
}

function checkSize(length: number, maxSize: number): void {
  if (length > maxSize) {
    throw new MessageTooLargeError(`message exceeds max size (${length} > ${maxSize})`);
  }
}

/** Writes `msg` with its uvarint length prefix as one `write` call. */
export async function writeDelimited(stream: ByteStream, msg: Uint8Array): Promise<void> {
  await stream.write(marshalDelimited(msg));
}

/** Options of {@link readDelimited}. */
export interface ReadDelimitedOptions {
  /**
   * Stops waiting when aborted: the returned promise rejects with `signal.reason`. The stream's
   * pending read cannot be cancelled and may still consume bytes, so after an abort the caller
   * must close the stream.
   */
  signal?: AbortSignal;
}

/** Rejects with the signal's reason once it aborts; `dispose` detaches the listener. */
function abortPromise(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}

async function readBody(stream: ByteStream, maxSize: number): Promise<Uint8Array> {
  // The varint is read a byte at a time so that nothing past this message is consumed.
  const one = new Uint8Array(1);
  let value = 0;
  let mul = 1;
  for (let i = 0;; i++) {
    const n = await stream.read(one);
    if (n === null) {
      throw new ConnectionClosedError(i === 0 ? "EOF" : "unexpected EOF");
    }
    if (n === 0) {
      i--;
      continue;
    }
    const b = one[0];
    if (i === MAX_UVARINT_LEN - 1 && b > 1) throw new MalformedVarintError();
    value += (b & 0x7f) * mul;
    if (b < 0x80) break;
    if (i === MAX_UVARINT_LEN - 1) throw new MalformedVarintError();
    mul *= 128;
  }
  checkSize(value, maxSize);
  const msg = new Uint8Array(value);
  let off = 0;
  while (off < value) {
    const n = await stream.read(msg.subarray(off));
    if (n === null) throw new ConnectionClosedError("unexpected EOF");
    off += n;
  }
  return msg;
}

/**
 * Reads one uvarint-delimited message of at most `maxSize` bytes (the limit applies to the
 * declared length, not the prefix) and returns exactly its bytes.
 * @throws MessageTooLargeError when the declared length exceeds `maxSize` (the body is not read).
 * @throws ConnectionClosedError on end of stream before the message is complete.
 * @throws MalformedVarintError for an over-long length prefix.
 */
export async function readDelimited(
  stream: ByteStream,
  maxSize: number,
  opts: ReadDelimitedOptions = {},
): Promise<Uint8Array> {
  const { signal } = opts;
  if (!signal) return await readBody(stream, maxSize);
  signal.throwIfAborted();
  const reading = readBody(stream, maxSize);
  const abort = abortPromise(signal);
  try {
    return await Promise.race([reading, abort.promise]);
  } finally {
    abort.dispose();
    // If the abort won, the read settles later (typically when the caller closes the stream);
    // observe its outcome so it never becomes an unhandled rejection.
    reading.catch(() => {});
  }
}
