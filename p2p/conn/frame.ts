/**
 * Sealed frames of the SecretConnection (spec §3.4): each frame is a 1028-byte plaintext
 * (LE32 data length ‖ ≤ 1024 data bytes ‖ padding) sealed with ChaCha20-Poly1305 into 1044
 * bytes, under a per-direction nonce `4 zero bytes ‖ LE64 counter`.
 *
 * {@link FrameSealer} and {@link FrameOpener} own one direction each, with their nonce and
 * reused scratch buffers; they do no I/O, so tests and hostile-peer scripts can use them too.
 * By default they work in batches through our WASM ChaCha20-Poly1305 (`aead_wasm.ts`): all
 * frames of one write, or of one socket read, in one call. Given an explicit {@link Aead}
 * factory (noble, node:crypto) they seal/open one frame per call, as the reference paths.
 * @module
 */
import { FrameError } from "../errors.ts";
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import { type Aead, AEAD_NONCE_SIZE, AEAD_TAG_SIZE, nativeAead } from "./crypto.ts";
import { wasmAeadAvailable, WasmFrameCipher } from "./aead_wasm.ts";

/** Builds one direction's AEAD from its key. */
export type AeadFactory = (key: Uint8Array) => Aead;

/** Size of the little-endian data length prefix of a frame. */
export const DATA_LEN_SIZE = 4;
/** Maximum data bytes per frame. */
export const DATA_MAX_SIZE = 1024;
/** Plaintext frame size: length prefix + data + padding. */
export const TOTAL_FRAME_SIZE = DATA_MAX_SIZE + DATA_LEN_SIZE;
/** Sealed frame size on the wire, always. */
export const SEALED_FRAME_SIZE = TOTAL_FRAME_SIZE + AEAD_TAG_SIZE;

const EMPTY = new Uint8Array(0);

/** The backend used when none is given: batched WASM, else per-frame node:crypto. */
function defaultBackend(key: Uint8Array): WasmFrameCipher | Aead {
  return wasmAeadAvailable() ? new WasmFrameCipher(key) : nativeAead(key);
}

function putLE32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

/** A 12-byte nonce `00000000 ‖ LE64 counter`, advanced in place. */
class Nonce {
  readonly bytes = new Uint8Array(AEAD_NONCE_SIZE);
  #lo = 0;
  #hi = 0;

  /** Low and high 32 bits of the counter (the WASM batch takes them as words). */
  get lo(): number {
    return this.#lo;
  }
  get hi(): number {
    return this.#hi;
  }

  /**
   * Advances the counter by `k` frames; throws rather than wrap (Go panics at 2^64 − 1). Callers
   * check with {@link Nonce.ensure} before using `k` nonces.
   */
  advance(k: number): void {
    this.ensure(k);
    let lo = this.#lo + k;
    if (lo > 0xffffffff) {
      lo -= 0x100000000;
      this.#hi++;
      putLE32(this.bytes, 8, this.#hi);
    }
    this.#lo = lo;
    putLE32(this.bytes, 4, lo);
  }

  /** Throws when fewer than `k` nonces remain before the counter would wrap. */
  ensure(k: number): void {
    if (this.#hi === 0xffffffff && this.#lo + k > 0xffffffff) {
      throw new FrameError("nonce counter exhausted");
    }
  }

  /** The counter value (for diagnostics and tests). */
  get value(): bigint {
    return (BigInt(this.#hi) << 32n) | BigInt(this.#lo);
  }
}

/**
 * The sending half: splits data into frames and seals them into an output buffer borrowed from
 * the shared pool (a power-of-two number of frames), kept while writes need no larger one and
 * given back by {@link FrameSealer.release} once written, so an idle connection holds none.
 * As in Go, the padding after a short frame's data carries the stale bytes of this connection's
 * previous frame at those positions (authenticated, ignored by receivers; Go reuses one frame
 * buffer), so our frames are byte-identical to Go's for the same data.
 */
export class FrameSealer {
  readonly #backend: WasmFrameCipher | Aead;
  readonly #nonce = new Nonce();
  /** The previous frame's plaintext: Go's reused frame buffer, source of the stale padding. */
  readonly #frame = new Uint8Array(TOTAL_FRAME_SIZE);
  #out: Uint8Array = EMPTY;

  constructor(key: Uint8Array, aead?: AeadFactory) {
    this.#backend = aead === undefined ? defaultBackend(key) : aead(key);
  }

  /** The nonce counter of the next frame. */
  get nonce(): bigint {
    return this.#nonce.value;
  }

  /**
   * Seals all of `data` (which must be non-empty) into consecutive frames and returns a view of
   * the internal output buffer. The view is valid until the next call: callers serialise.
   */
  seal(data: Uint8Array): Uint8Array {
    const n = Math.ceil(data.length / DATA_MAX_SIZE);
    this.#nonce.ensure(n);
    const need = n * SEALED_FRAME_SIZE;
    if (this.#out.length < need) {
      this.release();
      this.#out = borrowBuffer(SEALED_FRAME_SIZE * 2 ** Math.ceil(Math.log2(n)));
    }
    if (this.#backend instanceof WasmFrameCipher) this.#sealBatches(this.#backend, data, n);
    else this.#sealEach(this.#backend, data, n);
    return this.#out.subarray(0, need);
  }

  #sealEach(aead: Aead, data: Uint8Array, n: number): void {
    const out = this.#out;
    const frame = this.#frame;
    for (let i = 0, off = 0; i < n; i++, off += DATA_MAX_SIZE) {
      const chunk = data.subarray(off, off + DATA_MAX_SIZE);
      putLE32(frame, 0, chunk.length);
      frame.set(chunk, DATA_LEN_SIZE);
      const at = i * SEALED_FRAME_SIZE;
      aead.seal(frame, this.#nonce.bytes, out.subarray(at, at + SEALED_FRAME_SIZE));
      this.#nonce.advance(1);
    }
  }

  /** Lays frames out in the WASM I/O area, seals them with one call per batch, copies out. */
  #sealBatches(c: WasmFrameCipher, data: Uint8Array, n: number): void {
    const io = c.io;
    const perCall = Math.floor(io.length / SEALED_FRAME_SIZE);
    let off = 0;
    for (let first = 0; first < n; first += perCall) {
      const k = Math.min(perCall, n - first);
      for (let i = 0; i < k; i++) {
        const at = i * SEALED_FRAME_SIZE;
        const len = Math.min(DATA_MAX_SIZE, data.length - off);
        putLE32(io, at, len);
        io.set(len === data.length ? data : data.subarray(off, off + len), at + DATA_LEN_SIZE);
        off += len;
        if (len < DATA_MAX_SIZE) {
          // Only the last frame can be short; its padding is the previous frame's tail.
          const pad = DATA_LEN_SIZE + len;
          if (i === 0) io.set(this.#frame.subarray(pad), at + pad);
          else {
            const prev = at - SEALED_FRAME_SIZE;
            io.copyWithin(at + pad, prev + pad, prev + TOTAL_FRAME_SIZE);
          }
        }
      }
      const last = (k - 1) * SEALED_FRAME_SIZE;
      this.#frame.set(io.subarray(last, last + TOTAL_FRAME_SIZE));
      c.seal(k, TOTAL_FRAME_SIZE, SEALED_FRAME_SIZE, 0, this.#nonce.lo, this.#nonce.hi);
      this.#out.set(io.subarray(0, k * SEALED_FRAME_SIZE), first * SEALED_FRAME_SIZE);
      this.#nonce.advance(k);
    }
  }

  /**
   * Gives the output buffer back to the pool (call when the last sealed view was written and is
   * no longer used); the next seal borrows again.
   */
  release(): void {
    if (this.#out.length > 0) returnBuffer(this.#out);
    this.#out = EMPTY;
  }

  /** Size of the output buffer currently held. */
  get bufferSize(): number {
    return this.#out.length;
  }
}

/** The data length field of an opened frame at `at`, or a FrameError when it exceeds 1024. */
export function openedFrameLength(buf: Uint8Array, at: number): number {
  const len = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
  if (len > DATA_MAX_SIZE) throw new FrameError(`frame length ${len} exceeds ${DATA_MAX_SIZE}`);
  return len;
}

/**
 * The receiving half: opens sealed frames in place, in batches ({@link FrameOpener.openInPlace})
 * or one at a time ({@link FrameOpener.open}).
 */
export class FrameOpener {
  readonly #backend: WasmFrameCipher | Aead;
  readonly #nonce = new Nonce();
  /**
   * Scratch for the per-frame backends and for {@link FrameOpener.open}, made on first use: the
   * batched path opens in the caller's buffer, so an idle connection holds none.
   */
  #scratch: Uint8Array | undefined;

  constructor(key: Uint8Array, aead?: AeadFactory) {
    this.#backend = aead === undefined ? defaultBackend(key) : aead(key);
  }

  /** The nonce counter of the next frame. */
  get nonce(): bigint {
    return this.#nonce.value;
  }

  /**
   * Opens the `n` consecutive sealed frames in `buf` (`n` × 1044 bytes) in place: afterwards the
   * first 1028 bytes of each opened frame's slot hold its plaintext (length ‖ data ‖ padding).
   * Returns how many opened before the first bad tag (`n` when all did); frames from the bad one
   * on are untouched and the nonce stops there. Length fields are checked by the caller
   * ({@link openedFrameLength}).
   */
  openInPlace(buf: Uint8Array, n: number): number {
    if (buf.length < n * SEALED_FRAME_SIZE) throw new RangeError("openInPlace: short buffer");
    this.#nonce.ensure(n);
    const b = this.#backend;
    if (!(b instanceof WasmFrameCipher)) {
      this.#scratch ??= new Uint8Array(SEALED_FRAME_SIZE);
      const frame = this.#scratch.subarray(0, TOTAL_FRAME_SIZE);
      for (let i = 0; i < n; i++) {
        const at = i * SEALED_FRAME_SIZE;
        if (!b.open(buf.subarray(at, at + SEALED_FRAME_SIZE), this.#nonce.bytes, frame)) return i;
        buf.set(frame, at);
        this.#nonce.advance(1);
      }
      return n;
    }
    const io = b.io;
    const perCall = Math.floor(io.length / SEALED_FRAME_SIZE);
    for (let first = 0; first < n; first += perCall) {
      const k = Math.min(perCall, n - first);
      const at = first * SEALED_FRAME_SIZE;
      io.set(buf.subarray(at, at + k * SEALED_FRAME_SIZE));
      const ok = b.open(k, TOTAL_FRAME_SIZE, SEALED_FRAME_SIZE, 0, this.#nonce.lo, this.#nonce.hi);
      buf.set(io.subarray(0, ok * SEALED_FRAME_SIZE), at);
      this.#nonce.advance(ok);
      if (ok < k) return first + ok;
    }
    return n;
  }

  /**
   * Opens one 1044-byte sealed frame and returns a view of its data (valid until the next
   * call). Throws {@link FrameError} on a bad tag or a length field above 1024.
   */
  open(sealed: Uint8Array): Uint8Array {
    if (sealed.length !== SEALED_FRAME_SIZE) {
      throw new FrameError(`sealed frame must be ${SEALED_FRAME_SIZE} bytes, got ${sealed.length}`);
    }
    const f = this.#scratch ??= new Uint8Array(SEALED_FRAME_SIZE);
    f.set(sealed);
    if (this.openInPlace(f, 1) !== 1) {
      throw new FrameError("failed to decrypt SecretConnection frame");
    }
    const len = openedFrameLength(f, 0);
    return f.subarray(DATA_LEN_SIZE, DATA_LEN_SIZE + len);
  }
}
