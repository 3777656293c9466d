/**
 * STROBE-128 (the subset Merlin needs) and the Merlin v1.0 transcript, implemented over the raw
 * Keccak-f[1600] permutation from `@noble/hashes`. Byte-compatible with curve25519-voi's
 * `primitives/merlin` (which CometBFT v0.38 uses for the SecretConnection challenge), with the
 * Rust `merlin` crate and with gtank/merlin. See spec §3.2–3.3.
 * @module
 */
import { keccakP } from "@noble/hashes/sha3.js";

/** STROBE-128 rate: 200 − 2·(128/8) − 2 bytes. */
const STROBE_R = 166;

/** STROBE operation flag bits. */
const FLAG_I = 0x01;
const FLAG_A = 0x02;
const FLAG_C = 0x04;
const FLAG_T = 0x08;
const FLAG_M = 0x10;
const FLAG_K = 0x20;

const encoder = new TextEncoder();

/**
 * Set while {@link Strobe128.clone} / {@link Transcript.clone} build their copy, so the
 * constructors skip initialisation work that the copy overwrites anyway.
 */
let cloning = false;

/** True when the host stores multi-byte words little-endian (every platform Deno runs on). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A STROBE-128 duplex state restricted to the operations Merlin uses (meta-AD, AD, PRF) plus KEY
 * (for the upstream sanity test). Not a general STROBE: no send/receive transport ops.
 */
export class Strobe128 {
  readonly #st = new Uint8Array(200);
  readonly #st32 = new Uint32Array(this.#st.buffer);
  #pos = 0;
  #posBegin = 0;
  #curFlags = 0;

  /** Initialises the state with a protocol label (STROBE "v1.0.2" domain, security 128). */
  constructor(protocolLabel: Uint8Array | string) {
    if (cloning) return;
    const st = this.#st;
    st.set([1, STROBE_R + 2, 1, 0, 1, 12 * 8], 0);
    st.set(encoder.encode("STROBEv1.0.2"), 6);
    this.#permute();
    this.metaAD(typeof protocolLabel === "string" ? encoder.encode(protocolLabel) : protocolLabel);
  }

  /** Returns an independent copy of this state. */
  clone(): Strobe128 {
    cloning = true;
    let out: Strobe128;
    try {
      out = new Strobe128("");
    } finally {
      cloning = false;
    }
    out.#st.set(this.#st);
    out.#pos = this.#pos;
    out.#posBegin = this.#posBegin;
    out.#curFlags = this.#curFlags;
    return out;
  }

  /** meta-AD: absorb framing metadata. */
  metaAD(data: Uint8Array, more = false): void {
    this.#beginOp(FLAG_M | FLAG_A, more);
    this.#absorb(data);
  }

  /** AD: absorb associated data. */
  ad(data: Uint8Array, more = false): void {
    this.#beginOp(FLAG_A, more);
    this.#absorb(data);
  }

  /** PRF: squeeze `n` pseudo-random bytes. */
  prf(n: number, more = false): Uint8Array {
    this.#beginOp(FLAG_I | FLAG_A | FLAG_C, more);
    return this.#squeeze(new Uint8Array(n));
  }

  /** KEY: overwrite the state with key material (used by the upstream sanity test). */
  key(data: Uint8Array, more = false): void {
    this.#beginOp(FLAG_A | FLAG_C, more);
    this.#overwrite(data);
  }

  #permute(): void {
    if (!LITTLE_ENDIAN) swap32(this.#st32);
    keccakP(this.#st32, 24);
    if (!LITTLE_ENDIAN) swap32(this.#st32);
  }

  #runF(): void {
    const st = this.#st;
    st[this.#pos] ^= this.#posBegin;
    st[this.#pos + 1] ^= 0x04;
    st[STROBE_R + 1] ^= 0x80;
    this.#permute();
    this.#pos = 0;
    this.#posBegin = 0;
  }

  #absorb(data: Uint8Array): void {
    const st = this.#st;
    let pos = this.#pos;
    for (let i = 0; i < data.length; i++) {
      st[pos++] ^= data[i];
      if (pos === STROBE_R) {
        this.#pos = pos;
        this.#runF();
        pos = 0;
      }
    }
    this.#pos = pos;
  }

  #absorbByte(b: number): void {
    this.#st[this.#pos++] ^= b;
    if (this.#pos === STROBE_R) this.#runF();
  }

  #overwrite(data: Uint8Array): void {
    const st = this.#st;
    for (let i = 0; i < data.length; i++) {
      st[this.#pos++] = data[i];
      if (this.#pos === STROBE_R) this.#runF();
    }
  }

  #squeeze(out: Uint8Array): Uint8Array {
    const st = this.#st;
    for (let i = 0; i < out.length; i++) {
      out[i] = st[this.#pos];
      st[this.#pos++] = 0;
      if (this.#pos === STROBE_R) this.#runF();
    }
    return out;
  }

  #beginOp(flags: number, more: boolean): void {
    if (more) {
      if (flags !== this.#curFlags) {
        throw new Error(`strobe: continued op with flags ${flags}, current ${this.#curFlags}`);
      }
      return;
    }
    if (flags & FLAG_T) throw new Error("strobe: transport operations are not supported");
    const old = this.#posBegin;
    this.#posBegin = this.#pos + 1;
    this.#curFlags = flags;
    this.#absorbByte(old);
    this.#absorbByte(flags);
    const forceF = (flags & (FLAG_C | FLAG_K)) !== 0;
    if (forceF && this.#pos !== 0) this.#runF();
  }
}

function swap32(a: Uint32Array): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    a[i] = ((x & 0xff) << 24 | (x & 0xff00) << 8 | (x >>> 8) & 0xff00 | x >>> 24) >>> 0;
  }
}

/** Scratch for {@link le32}: absorbed at once, so one buffer serves every call. */
const le32Buf = new Uint8Array(4);

function le32(n: number): Uint8Array {
  le32Buf[0] = n & 0xff;
  le32Buf[1] = (n >>> 8) & 0xff;
  le32Buf[2] = (n >>> 16) & 0xff;
  le32Buf[3] = (n >>> 24) & 0xff;
  return le32Buf;
}

/** Encoded string labels (transcripts reuse a handful of constant labels). */
const labelCache = new Map<string, Uint8Array>();

function bytesOf(s: Uint8Array | string): Uint8Array {
  if (typeof s !== "string") return s;
  let b = labelCache.get(s);
  if (b === undefined) {
    b = encoder.encode(s);
    // Bounded: labels are program constants, but a caller could pass messages as strings.
    if (labelCache.size < 64) labelCache.set(s, b);
  }
  return b;
}

/** A Merlin v1.0 transcript: labelled, length-framed STROBE-128 operations. */
export class Transcript {
  #strobe: Strobe128;

  /** Starts a transcript for an application, as `NewTranscript(appLabel)`. */
  constructor(appLabel: Uint8Array | string) {
    if (cloning) {
      this.#strobe = undefined as unknown as Strobe128; // set by clone()
      return;
    }
    this.#strobe = new Strobe128("Merlin v1.0");
    this.appendMessage("dom-sep", appLabel);
  }

  /**
   * An independent copy of this transcript. A protocol whose transcripts all start alike keeps
   * one started transcript and clones it, skipping the shared prefix's permutations.
   */
  clone(): Transcript {
    const strobe = this.#strobe.clone();
    cloning = true;
    let out: Transcript;
    try {
      out = new Transcript("");
    } finally {
      cloning = false;
    }
    out.#strobe = strobe;
    return out;
  }

  /** Appends a labelled message. */
  appendMessage(label: Uint8Array | string, message: Uint8Array | string): void {
    const msg = bytesOf(message);
    this.#strobe.metaAD(bytesOf(label));
    this.#strobe.metaAD(le32(msg.length), true);
    this.#strobe.ad(msg);
  }

  /** Extracts `n` challenge bytes bound to everything appended so far. */
  extractBytes(label: Uint8Array | string, n: number): Uint8Array {
    this.#strobe.metaAD(bytesOf(label));
    this.#strobe.metaAD(le32(n), true);
    return this.#strobe.prf(n);
  }
}
