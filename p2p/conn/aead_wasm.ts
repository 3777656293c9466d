/**
 * ChaCha20-Poly1305 in our own WASM module (source: `aead_wasm/src/lib.rs`, built by
 * `aead_wasm/build.ts`), made for the SecretConnection's many small frames: one call seals or
 * opens up to {@link WASM_MAX_FRAMES} frames under consecutive nonces, in the module's I/O area.
 *
 * Why: `node:crypto` costs one cipher object and several native calls per 1 KiB frame (~6 µs of
 * overhead around ~0.8 µs of cipher work); here a batch of frames costs one call and two memory
 * copies. The module is process-wide and synchronous, so a call's I/O area is never shared
 * with another connection while in use; callers copy results out before yielding.
 *
 * Checked byte for byte against `@noble/ciphers` and Go's vectors in `tests/aead_wasm_test.ts`.
 * @module
 */
import { type Aead, AEAD_KEY_SIZE, AEAD_TAG_SIZE } from "./crypto.ts";
import { AEAD_WASM_BASE64 } from "./aead_wasm_bytes.ts";
import { decodeBase64 } from "./aead_wasm/base64.ts";

interface Exports {
  memory: WebAssembly.Memory;
  key_ptr(): number;
  io_ptr(): number;
  io_size(): number;
  seal(n: number, len: number, stride: number, prefix: number, lo: number, hi: number): number;
  open(n: number, len: number, stride: number, prefix: number, lo: number, hi: number): number;
}

/** The module's views (the memory never grows: it has no allocator). */
interface Module {
  x: Exports;
  key: Uint8Array;
  io: Uint8Array;
}

let mod: Module | null | undefined;

function load(): Module | null {
  if (mod !== undefined) return mod;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(AEAD_WASM_BASE64)));
    const x = inst.exports as unknown as Exports;
    const buf = x.memory.buffer;
    mod = {
      x,
      key: new Uint8Array(buf, x.key_ptr(), AEAD_KEY_SIZE),
      io: new Uint8Array(buf, x.io_ptr(), x.io_size()),
    };
  } catch {
    // No WASM SIMD (or no WASM at all) in this runtime: callers fall back to another backend.
    mod = null;
  }
  return mod;
}

/** Whether the WASM module loads in this runtime. */
export function wasmAeadAvailable(): boolean {
  return load() !== null;
}

/** Bytes of the module's I/O area. */
export function wasmIoSize(): number {
  const m = load();
  if (m === null) throw new Error("wasm aead unavailable");
  return m.io.length;
}

/**
 * A batch cipher for one direction's key: frames are laid out in {@link io} by the caller (or
 * copied there), then sealed/opened in place under nonces `prefix ‖ LE64(counter + i)`.
 */
export class WasmFrameCipher {
  readonly #key: Uint8Array;
  readonly #m: Module;

  constructor(key: Uint8Array) {
    if (key.length !== AEAD_KEY_SIZE) {
      throw new RangeError("chacha20poly1305: key must be 32 bytes");
    }
    const m = load();
    if (m === null) throw new Error("wasm aead unavailable in this runtime");
    this.#m = m;
    this.#key = key.slice();
  }

  /** The shared I/O area: valid only until the caller yields (another connection may use it). */
  get io(): Uint8Array {
    return this.#m.io;
  }

  /**
   * Seals `n` messages of `len` bytes at `i * stride` in {@link io}, in place, each followed by
   * its tag; message `i` uses counter `lo/hi + i` (a 64-bit counter split in 32-bit halves).
   */
  seal(n: number, len: number, stride: number, prefix: number, lo: number, hi: number): void {
    this.#m.key.set(this.#key);
    if (this.#m.x.seal(n, len, stride, prefix, lo, hi) !== n) {
      throw new RangeError(`wasm aead: ${n} messages of ${len} bytes do not fit the I/O area`);
    }
  }

  /**
   * Opens `n` sealed messages (`len` ciphertext bytes + tag, every `stride` bytes) in place;
   * returns how many opened before the first bad tag (`n` when all did).
   */
  open(n: number, len: number, stride: number, prefix: number, lo: number, hi: number): number {
    if (n === 0) return 0;
    if (
      stride < len + AEAD_TAG_SIZE || (n - 1) * stride + len + AEAD_TAG_SIZE > this.#m.io.length
    ) {
      throw new RangeError(`wasm aead: ${n} messages of ${len} bytes do not fit the I/O area`);
    }
    this.#m.key.set(this.#key);
    return this.#m.x.open(n, len, stride, prefix, lo, hi);
  }
}

function nonceWords(nonce: Uint8Array): [number, number, number] {
  const v = new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength);
  return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
}

/**
 * The per-message {@link Aead} shape over the WASM module (for tests, benchmarks and the
 * handshake's generic paths; the frame layer uses {@link WasmFrameCipher} batches directly).
 */
export function wasmAead(key: Uint8Array): Aead {
  const c = new WasmFrameCipher(key);
  return {
    seal(plaintext, nonce, out) {
      const [p, lo, hi] = nonceWords(nonce);
      const io = c.io;
      io.set(plaintext, 0);
      c.seal(1, plaintext.length, plaintext.length + AEAD_TAG_SIZE, p, lo, hi);
      out.set(io.subarray(0, plaintext.length + AEAD_TAG_SIZE), 0);
    },
    open(sealed, nonce, out) {
      const ctLen = sealed.length - AEAD_TAG_SIZE;
      if (ctLen < 0) return false;
      const [p, lo, hi] = nonceWords(nonce);
      const io = c.io;
      io.set(sealed, 0);
      if (c.open(1, ctLen, sealed.length, p, lo, hi) !== 1) return false;
      out.set(io.subarray(0, ctLen), 0);
      return true;
    },
  };
}
