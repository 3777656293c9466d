/**
 * Sealed frames of the SecretConnection (spec §3.4): each frame is a 1028-byte plaintext
 * (LE32 data length ‖ ≤ 1024 data bytes ‖ padding) sealed with ChaCha20-Poly1305 into 1044
 * bytes, under a per-direction nonce `4 zero bytes ‖ LE64 counter`.
 *
 * {@link FrameSealer} and {@link FrameOpener} own one direction each, with their nonce and
 * reused scratch buffers; they do no I/O, so tests and hostile-peer scripts can use them too.
 * @module
 */
import { FrameError } from "../errors.ts";
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import { type Aead, AEAD_NONCE_SIZE, AEAD_TAG_SIZE, defaultAead } from "./crypto.ts";

/** Size of the little-endian data length prefix of a frame. */
export const DATA_LEN_SIZE = 4;
/** Maximum data bytes per frame. */
export const DATA_MAX_SIZE = 1024;
/** Plaintext frame size: length prefix + data + padding. */
export const TOTAL_FRAME_SIZE = DATA_MAX_SIZE + DATA_LEN_SIZE;
/** Sealed frame size on the wire, always. */
export const SEALED_FRAME_SIZE = TOTAL_FRAME_SIZE + AEAD_TAG_SIZE;

const EMPTY = new Uint8Array(0);

/** A 12-byte nonce `00000000 ‖ LE64 counter`, incremented in place. */
class Nonce {
  readonly bytes = new Uint8Array(AEAD_NONCE_SIZE);
  readonly #view = new DataView(this.bytes.buffer);
  #lo = 0;
  #hi = 0;

  /** Advances the counter; throws rather than wrap (Go panics at 2^64 − 1). */
  increment(): void {
    if (this.#lo === 0xffffffff) {
      if (this.#hi === 0xffffffff) throw new FrameError("nonce counter exhausted");
      this.#lo = 0;
      this.#hi++;
      this.#view.setUint32(8, this.#hi, true);
    } else {
      this.#lo++;
    }
    this.#view.setUint32(4, this.#lo, true);
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
 * The plaintext scratch frame is reused
 * too, so — as in Go — padding carries stale bytes of earlier frames of this connection
 * (authenticated, ignored by receivers).
 */
export class FrameSealer {
  readonly #aead: Aead;
  readonly #nonce = new Nonce();
  readonly #frame = new Uint8Array(TOTAL_FRAME_SIZE);
  readonly #frameView = new DataView(this.#frame.buffer);
  #out: Uint8Array = EMPTY;

  constructor(key: Uint8Array, aead: (key: Uint8Array) => Aead = defaultAead) {
    this.#aead = aead(key);
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
    const need = n * SEALED_FRAME_SIZE;
    if (this.#out.length < need) {
      this.release();
      this.#out = borrowBuffer(SEALED_FRAME_SIZE * 2 ** Math.ceil(Math.log2(n)));
    }
    const out = this.#out;
    const frame = this.#frame;
    for (let i = 0, off = 0; i < n; i++, off += DATA_MAX_SIZE) {
      const chunk = data.subarray(off, off + DATA_MAX_SIZE);
      this.#frameView.setUint32(0, chunk.length, true);
      frame.set(chunk, DATA_LEN_SIZE);
      const at = i * SEALED_FRAME_SIZE;
      this.#aead.seal(frame, this.#nonce.bytes, out.subarray(at, at + SEALED_FRAME_SIZE));
      this.#nonce.increment();
    }
    return out.subarray(0, need);
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

/** The receiving half: opens one sealed frame at a time into a reused plaintext frame. */
export class FrameOpener {
  readonly #aead: Aead;
  readonly #nonce = new Nonce();
  readonly #frame = new Uint8Array(TOTAL_FRAME_SIZE);
  readonly #frameView = new DataView(this.#frame.buffer);

  constructor(key: Uint8Array, aead: (key: Uint8Array) => Aead = defaultAead) {
    this.#aead = aead(key);
  }

  /** The nonce counter of the next frame. */
  get nonce(): bigint {
    return this.#nonce.value;
  }

  /**
   * Opens one 1044-byte sealed frame and returns a view of its data (valid until the next
   * call). Throws {@link FrameError} on a bad tag or a length field above 1024.
   */
  open(sealed: Uint8Array): Uint8Array {
    if (sealed.length !== SEALED_FRAME_SIZE) {
      throw new FrameError(`sealed frame must be ${SEALED_FRAME_SIZE} bytes, got ${sealed.length}`);
    }
    if (!this.#aead.open(sealed, this.#nonce.bytes, this.#frame)) {
      throw new FrameError("failed to decrypt SecretConnection frame");
    }
    this.#nonce.increment();
    const len = this.#frameView.getUint32(0, true);
    if (len > DATA_MAX_SIZE) {
      throw new FrameError(`frame length ${len} exceeds ${DATA_MAX_SIZE}`);
    }
    return this.#frame.subarray(DATA_LEN_SIZE, DATA_LEN_SIZE + len);
  }
}
