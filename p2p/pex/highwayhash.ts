/**
 * HighwayHash-64 (Alakuijala, Cox, Wassenberg, "Fast keyed hash/pseudo-random function using SIMD
 * multiply and permute", 2016), written for the address book's bucket placement.
 *
 * CometBFT hashes with `github.com/minio/highwayhash` `New64(key)` and reads the 8-byte `Sum(nil)`
 * (which is the little-endian encoding of the 64-bit hash) with `binary.BigEndian.Uint64`. To match it
 * bit-for-bit, {@link HighwayHash64.sum} returns exactly those 8 bytes, and
 * {@link HighwayHash64.sumBE32} returns the low 32 bits of that big-endian reading, which is all the
 * bucket math needs (every modulus it uses is a power of two ≤ 256).
 *
 * 64-bit lanes are kept as (lo, hi) pairs of uint32 in one `Uint32Array`, so no BigInt runs on the hot
 * path. State layout (lane index → 32-bit words 2i, 2i+1): v0 = lanes 0..3, v1 = 4..7, mul0 = 8..11,
 * mul1 = 12..15.
 *
 * @module
 */

/** Key length in bytes. */
export const HIGHWAYHASH_KEY_SIZE = 32;
/** Output length of the 64-bit variant in bytes. */
export const HIGHWAYHASH64_SIZE = 8;

const BLOCK = 32;
const V0 = 0;
const V1 = 8;
const MUL0 = 16;
const MUL1 = 24;
const TWO32 = 4294967296;
// Finalization feeds back v0 lanes in the order 2, 3, 0, 1.
const FINAL_ORDER = [2, 3, 0, 1] as const;

// Initial constants of the algorithm as (lo, hi) word pairs.
const INIT0 = new Uint32Array([
  0xfe4cce2f,
  0xdbe6d5d5,
  0x299f31d0,
  0xa4093822,
  0x03707344,
  0x13198a2e,
  0x85a308d3,
  0x243f6a88,
]);
const INIT1 = new Uint32Array([
  0xcb0ef593,
  0x3bd39e10,
  0xb5f18a8c,
  0xc0acf169,
  0x34e90c6c,
  0xbe5466cf,
  0x38d01377,
  0x452821e6,
]);

/** Error raised for a key that is not 32 bytes long. */
export class HighwayHashKeyError extends Error {
  override name = "HighwayHashKeyError";
  constructor(len: number) {
    super(`highwayhash: key must be ${HIGHWAYHASH_KEY_SIZE} bytes, got ${len}`);
  }
}

/**
 * A keyed HighwayHash-64 hasher. One instance reuses its state and scratch buffers across calls, so it
 * is not re-entrant (JavaScript is single-threaded, so that only matters for generators/callbacks).
 */
export class HighwayHash64 {
  readonly #key = new Uint32Array(8);
  readonly #s = new Uint32Array(32);
  readonly #block = new Uint8Array(BLOCK);
  readonly #blockView = new DataView(this.#block.buffer);
  readonly #perm = new Uint8Array(BLOCK);
  readonly #out = new Uint8Array(HIGHWAYHASH64_SIZE);

  /** @param key 32 bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== HIGHWAYHASH_KEY_SIZE) throw new HighwayHashKeyError(key.length);
    const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
    for (let i = 0; i < 8; i++) this.#key[i] = dv.getUint32(i * 4, true);
  }

  /**
   * The 8 bytes Go's `Digest64.Sum(nil)` returns for `data` (little-endian hash value). The returned
   * array is a reused internal buffer unless `out` is given.
   */
  sum(data: Uint8Array, out?: Uint8Array): Uint8Array {
    this.#hash(data);
    const dst = out ?? this.#out;
    const s = this.#s;
    const [lo, hi] = addFour(s, V0, V1, MUL0, MUL1);
    writeU32LE(dst, 0, lo);
    writeU32LE(dst, 4, hi);
    return dst;
  }

  /** The hash as Go's `Sum64` returns it (the little-endian reading), as a bigint. */
  sum64(data: Uint8Array): bigint {
    const b = this.sum(data);
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    return dv.getBigUint64(0, true);
  }

  /** `binary.BigEndian.Uint64(Sum(nil))` as a bigint — CometBFT's reading of the hash. */
  sumBE(data: Uint8Array): bigint {
    const b = this.sum(data);
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    return dv.getBigUint64(0, false);
  }

  /** Low 32 bits of `binary.BigEndian.Uint64(Sum(nil))`, as an unsigned number (fast path). */
  sumBE32(data: Uint8Array): number {
    const b = this.sum(data);
    return ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
  }

  #hash(data: Uint8Array): void {
    this.#reset();
    const full = data.length & ~(BLOCK - 1);
    for (let off = 0; off < full; off += BLOCK) this.#update(data, off);
    const rem = data.length - full;
    if (rem > 0) this.#updateRemainder(data, full, rem);
    this.#finalize64();
  }

  #reset(): void {
    const s = this.#s;
    const k = this.#key;
    for (let i = 0; i < 8; i++) {
      s[MUL0 + i] = INIT0[i];
      s[MUL1 + i] = INIT1[i];
      s[V0 + i] = INIT0[i] ^ k[i];
    }
    // v1 = init1 ^ (key lane with its 32-bit halves swapped)
    for (let lane = 0; lane < 4; lane++) {
      s[V1 + 2 * lane] = INIT1[2 * lane] ^ k[2 * lane + 1];
      s[V1 + 2 * lane + 1] = INIT1[2 * lane + 1] ^ k[2 * lane];
    }
  }

  #update(m: Uint8Array, off: number): void {
    updatePacket(this.#s, m, off);
  }

  /** Final partial packet of `size` (1..31) bytes at `off`, per the reference padding rule. */
  #updateRemainder(m: Uint8Array, off: number, size: number): void {
    const s = this.#s;
    for (let lane = 0; lane < 4; lane++) add64(s, V0 + 2 * lane, size, size);
    for (let w = 0; w < 8; w++) s[V1 + w] = rotl32(s[V1 + w], size);
    const block = this.#block;
    block.fill(0);
    const mod4 = size & 3;
    const remain = size - mod4;
    block.set(m.subarray(off, off + remain), 0);
    if (size >= 16) {
      block.set(m.subarray(off + size - 4, off + size), 28);
    } else if (mod4 !== 0) {
      const last = m[off + remain] | (m[off + remain + (mod4 >> 1)] << 8) |
        (m[off + size - 1] << 16);
      this.#blockView.setUint32(16, last >>> 0, true);
    }
    this.#update(block, 0);
  }

  #finalize64(): void {
    const s = this.#s;
    const perm = this.#perm;
    for (let round = 0; round < 4; round++) {
      // perm = (v0[2], v0[3], v0[0], v0[1]) each with 32-bit halves swapped, as little-endian bytes.
      for (let i = 0; i < 4; i++) {
        const w = V0 + 2 * FINAL_ORDER[i];
        writeU32LE(perm, i * 8, s[w + 1]);
        writeU32LE(perm, i * 8 + 4, s[w]);
      }
      this.#update(this.#perm, 0);
    }
  }
}

/** One 32-byte packet of `m` at `off`: the four lane steps, then the zipper merges. */
function updatePacket(s: Uint32Array, m: Uint8Array, off: number): void {
  for (let lane = 0; lane < 4; lane++) {
    const p = off + lane * 8;
    const mlo = (m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24)) >>> 0;
    const mhi = (m[p + 4] | (m[p + 5] << 8) | (m[p + 6] << 16) | (m[p + 7] << 24)) >>> 0;
    // v1 += m + mul0; mul0 ^= lo(v1)·hi(v0); v0 += mul1; mul1 ^= lo(v0)·hi(v1)
    const v0 = V0 + 2 * lane, v1 = V1 + 2 * lane, m0 = MUL0 + 2 * lane, m1 = MUL1 + 2 * lane;
    add64(s, v1, mlo, mhi);
    add64(s, v1, s[m0], s[m0 + 1]);
    mulXor(s, m0, s[v1], s[v0 + 1]);
    add64(s, v0, s[m1], s[m1 + 1]);
    mulXor(s, m1, s[v0], s[v1 + 1]);
  }
  zipperMergeAdd(s, V1, V1 + 2, V0, V0 + 2);
  zipperMergeAdd(s, V1 + 4, V1 + 6, V0 + 4, V0 + 6);
  zipperMergeAdd(s, V0, V0 + 2, V1, V1 + 2);
  zipperMergeAdd(s, V0 + 4, V0 + 6, V1 + 4, V1 + 6);
}

/** s[at] (64-bit lane) += (lo, hi). */
function add64(s: Uint32Array, at: number, lo: number, hi: number): void {
  const l = s[at] + lo;
  s[at] = l >>> 0;
  s[at + 1] = (s[at + 1] + hi + (l >= TWO32 ? 1 : 0)) >>> 0;
}

/** s[at] (64-bit lane) ^= a × b, with a and b uint32 and the product taken as a full 64-bit value. */
function mulXor(s: Uint32Array, at: number, a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33, exact in a double
  const midLo = mid % 65536;
  const lowFull = a0 * b0 + midLo * 65536; // < 2^33
  const carry = lowFull >= TWO32 ? 1 : 0;
  const hi = a1 * b1 + (mid - midLo) / 65536 + carry;
  s[at] = (s[at] ^ lowFull) >>> 0; // ToInt32 of lowFull keeps its low 32 bits
  s[at + 1] = (s[at + 1] ^ hi) >>> 0;
}

/**
 * Byte permutation of the 128-bit value (lanes a, b) added into lanes (outA, outB):
 * outA += [a3 b4 a2 a5 b6 a1 b7 a0], outB += [b3 a4 b2 b5 b1 a6 b0 a7] (bytes, least significant first).
 */
function zipperMergeAdd(s: Uint32Array, a: number, b: number, outA: number, outB: number): void {
  const alo = s[a], ahi = s[a + 1], blo = s[b], bhi = s[b + 1];
  const a0 = alo & 0xff, a1 = (alo >>> 8) & 0xff, a2 = (alo >>> 16) & 0xff, a3 = alo >>> 24;
  const a4 = ahi & 0xff, a5 = (ahi >>> 8) & 0xff, a6 = (ahi >>> 16) & 0xff, a7 = ahi >>> 24;
  const b0 = blo & 0xff, b1 = (blo >>> 8) & 0xff, b2 = (blo >>> 16) & 0xff, b3 = blo >>> 24;
  const b4 = bhi & 0xff, b5 = (bhi >>> 8) & 0xff, b6 = (bhi >>> 16) & 0xff, b7 = bhi >>> 24;
  add64(
    s,
    outA,
    (a3 | (b4 << 8) | (a2 << 16) | (a5 << 24)) >>> 0,
    (b6 | (a1 << 8) | (b7 << 16) | (a0 << 24)) >>> 0,
  );
  add64(
    s,
    outB,
    (b3 | (a4 << 8) | (b2 << 16) | (b5 << 24)) >>> 0,
    (b1 | (a6 << 8) | (b0 << 16) | (a7 << 24)) >>> 0,
  );
}

/** Sum of the lane-0 values of four state regions, as (lo, hi). */
function addFour(s: Uint32Array, r0: number, r1: number, r2: number, r3: number): [number, number] {
  const lo = s[r0] + s[r1] + s[r2] + s[r3]; // < 2^34, exact
  const hi = s[r0 + 1] + s[r1 + 1] + s[r2 + 1] + s[r3 + 1] + Math.floor(lo / TWO32);
  return [lo >>> 0, hi >>> 0];
}

function rotl32(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

function writeU32LE(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
