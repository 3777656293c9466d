/**
 * Crypto backends of the SecretConnection: fast native paths (`node:crypto` ChaCha20-Poly1305,
 * X25519, Ed25519 — synchronous Rust ops, measured faster than WebCrypto's thread-pool ops) with `@noble/*` as the reference implementation and fallback.
 *
 * Every native path is checked byte-for-byte against noble in `tests/crypto_test.ts`. Where the
 * native answer could legitimately differ from Go's (a key the native side refuses to import, an
 * Ed25519 signature valid only under ZIP-215), the function falls back to noble, so the result
 * is always noble's — which is Go's (curve25519-voi ZIP-215, x/crypto X25519).
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { toHex } from "../../libs/bytes.ts";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** ChaCha20-Poly1305 key size. */
export const AEAD_KEY_SIZE = 32;
/** ChaCha20-Poly1305 nonce size (IETF). */
export const AEAD_NONCE_SIZE = 12;
/** Poly1305 tag size. */
export const AEAD_TAG_SIZE = 16;

/** One direction's AEAD with a fixed key: seals/opens into caller-provided buffers. */
export interface Aead {
  /** Seals `plaintext` into `out` (`plaintext.length + 16` bytes: ciphertext ‖ tag). */
  seal(plaintext: Uint8Array, nonce: Uint8Array, out: Uint8Array): void;
  /**
   * Opens `sealed` (ciphertext ‖ tag) into `out` (`sealed.length − 16` bytes). Returns false on
   * a bad tag; `out` then holds unspecified bytes and must not be used.
   */
  open(sealed: Uint8Array, nonce: Uint8Array, out: Uint8Array): boolean;
}

const CHACHA = "chacha20-poly1305";
const TAG_OPTS = { authTagLength: AEAD_TAG_SIZE } as const;

/**
 * ChaCha20-Poly1305 through `node:crypto` (Rust-native in Deno). Deno's Cipheriv has no
 * "update into a caller buffer" and no re-keying, so each frame costs one cipher object; the
 * results are copied into `out` so the caller's pooled buffers stay the only long-lived memory.
 */
export function nativeAead(key: Uint8Array): Aead {
  if (key.length !== AEAD_KEY_SIZE) throw new RangeError("chacha20poly1305: key must be 32 bytes");
  const k = key.slice();
  return {
    seal(plaintext, nonce, out) {
      const c = createCipheriv(CHACHA, k, nonce, TAG_OPTS);
      out.set(c.update(plaintext), 0);
      c.final();
      out.set(c.getAuthTag(), plaintext.length);
    },
    open(sealed, nonce, out) {
      const ctLen = sealed.length - AEAD_TAG_SIZE;
      if (ctLen < 0) return false;
      const d = createDecipheriv(CHACHA, k, nonce, TAG_OPTS);
      d.setAuthTag(sealed.subarray(ctLen));
      const pt = d.update(sealed.subarray(0, ctLen));
      try {
        d.final();
      } catch {
        return false;
      }
      out.set(pt, 0);
      return true;
    },
  };
}

/** ChaCha20-Poly1305 from `@noble/ciphers` (reference implementation). */
export function nobleAead(key: Uint8Array): Aead {
  if (key.length !== AEAD_KEY_SIZE) throw new RangeError("chacha20poly1305: key must be 32 bytes");
  const k = key.slice();
  return {
    seal(plaintext, nonce, out) {
      chacha20poly1305(k, nonce).encrypt(plaintext, out);
    },
    open(sealed, nonce, out) {
      if (sealed.length < AEAD_TAG_SIZE) return false;
      try {
        chacha20poly1305(k, nonce).decrypt(sealed, out);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The per-frame AEAD of the reference paths (frames use the batched WASM backend, frame.ts). */
export const defaultAead: (key: Uint8Array) => Aead = nativeAead;

// ---------------------------------------------------------------------------------------------
// X25519

/** An ephemeral X25519 key pair whose private half never leaves this object. */
export interface EphemeralKeyPair {
  readonly publicKey: Uint8Array;
  /**
   * X25519 with the peer's public key. Throws {@link LowOrderPointError} when the result is
   * all zeros (a low-order peer point), exactly where Go's `curve25519.X25519` errors.
   */
  sharedSecret(peerPublic: Uint8Array): Promise<Uint8Array>;
}

/** The peer's X25519 public key is of low order: the shared secret would be all zeros. */
export class LowOrderPointError extends Error {
  constructor() {
    super("x25519: low-order remote public key (all-zero shared secret)");
    this.name = "LowOrderPointError";
  }
}

function isAllZero(b: Uint8Array): boolean {
  // Constant-time OR-reduction: the secret's content must not steer timing.
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i];
  return acc === 0;
}

function nobleShared(priv: Uint8Array, peer: Uint8Array): Uint8Array {
  let out: Uint8Array;
  try {
    out = x25519.getSharedSecret(priv, peer);
  } catch {
    // noble throws exactly for an all-zero result (low-order input).
    throw new LowOrderPointError();
  }
  if (isAllZero(out)) throw new LowOrderPointError();
  return out;
}

/** An ephemeral key pair computed with noble from a given private scalar (tests, vectors). */
export function nobleEphemeral(priv: Uint8Array): EphemeralKeyPair {
  if (priv.length !== 32) throw new RangeError("x25519: private key must be 32 bytes");
  const p = priv.slice();
  return {
    publicKey: x25519.getPublicKey(p),
    // deno-lint-ignore require-await -- async so that a throw becomes a rejection
    sharedSecret: async (peer) => nobleShared(p, peer),
  };
}

const X25519_SPKI_PREFIX = Uint8Array.of(
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x03,
  0x21,
  0x00,
);
const ED25519_SPKI_PREFIX = Uint8Array.of(
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
);

/** DER key = fixed ASN.1 prefix ‖ raw key (a Buffer: node:crypto's key-input type). */
function withPrefix(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key]);
}

function base64UrlDecode(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

let nativeX25519 = true;

/**
 * A fresh random ephemeral key pair. Uses `node:crypto` X25519 (native and synchronous: several
 * times faster than noble, and faster than WebCrypto, whose ops hop to a thread pool). Should
 * the native side refuse the peer's key (e.g. a non-canonical encoding, which Go accepts), the
 * shared secret is computed by noble from the exported scalar, so the answer stays Go's.
 */
export function generateEphemeral(): Promise<EphemeralKeyPair> {
  return Promise.resolve(ephemeralStash.pop() ?? makeEphemeral());
}

/**
 * Key pairs generated ahead of need. Key generation is ~10% of a handshake's CPU and does not
 * depend on the peer, so it is taken off the critical path: the handshake calls
 * {@link refillEphemeralStash} right after its first message went to the socket, and the next
 * pair is made in a microtask while that message is on the wire and the peer is busy with its
 * own (refilling inside {@link generateEphemeral} ran the key generation before the write).
 * Each pair is still fresh, random and used exactly once.
 */
const ephemeralStash: EphemeralKeyPair[] = [];
/** How many pairs wait in the stash (a burst of concurrent handshakes beyond it just makes more). */
const EPHEMERAL_STASH_SIZE = 2;
let stashRefillQueued = false;

/** Tops the stash of ephemeral key pairs up in a microtask (see the stash's comment). */
export function refillEphemeralStash(): void {
  if (stashRefillQueued) return;
  stashRefillQueued = true;
  queueMicrotask(() => {
    stashRefillQueued = false;
    while (ephemeralStash.length < EPHEMERAL_STASH_SIZE) ephemeralStash.push(makeEphemeral());
  });
}

function makeEphemeral(): EphemeralKeyPair {
  if (nativeX25519) {
    try {
      const { privateKey, publicKey } = generateKeyPairSync("x25519");
      // SPKI DER is the fixed 12-byte prefix ‖ the raw key; several times cheaper than JWK
      // export + base64 decoding (measured ~25 vs ~70-110 µs with key generation).
      const der = publicKey.export({ format: "der", type: "spki" });
      if (der.length !== X25519_SPKI_PREFIX.length + 32) throw new Error("x25519: SPKI size");
      const pub = new Uint8Array(der.subarray(der.length - 32));
      return {
        publicKey: pub,
        // deno-lint-ignore require-await -- async so that a throw becomes a rejection
        sharedSecret: async (peer: Uint8Array) => {
          if (peer.length !== 32) throw new RangeError("x25519: public key must be 32 bytes");
          let out: Uint8Array | undefined;
          try {
            const pk = createPublicKey({
              key: withPrefix(X25519_SPKI_PREFIX, peer),
              format: "der",
              type: "spki",
            });
            out = new Uint8Array(diffieHellman({ privateKey, publicKey: pk }));
          } catch {
            out = undefined;
          }
          if (out !== undefined) {
            if (isAllZero(out)) throw new LowOrderPointError();
            return out;
          }
          // The native side said no: let the reference decide (rejects exactly all-zero cases).
          const d = base64UrlDecode(privateKey.export({ format: "jwk" }).d!);
          return nobleShared(d, peer);
        },
      };
    } catch {
      nativeX25519 = false;
    }
  }
  return nobleEphemeral(x25519.utils.randomSecretKey());
}

// ---------------------------------------------------------------------------------------------
// Ed25519

/** A signer in the shape the SecretConnection needs (NodeKey fits it). */
export interface Signer {
  readonly pubKey: Uint8Array;
  sign(msg: Uint8Array): Promise<Uint8Array>;
  /** True when signatures come from the native (node:crypto) path rather than noble. */
  readonly native?: boolean;
}

const ED25519_PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
);

/**
 * An Ed25519 signer from a 32-byte seed, signing with `node:crypto` (native, synchronous) and
 * falling back to noble. Ed25519 is deterministic, so both give identical bytes.
 */
export function ed25519Signer(seed: Uint8Array): Promise<Signer> {
  if (seed.length !== 32) throw new RangeError("ed25519: seed must be 32 bytes");
  const s = seed.slice();
  const pubKey = ed25519.getPublicKey(s);
  try {
    const key = createPrivateKey({
      key: withPrefix(ED25519_PKCS8_PREFIX, s),
      format: "der",
      type: "pkcs8",
    });
    return Promise.resolve({
      pubKey,
      native: true,
      // deno-lint-ignore require-await -- async so that a throw becomes a rejection
      sign: async (msg: Uint8Array) => new Uint8Array(nodeSign(null, msg, key)),
    });
  } catch {
    return Promise.resolve({
      pubKey,
      native: false,
      // deno-lint-ignore require-await -- async so that a throw becomes a rejection
      sign: async (msg: Uint8Array) => ed25519.sign(msg, s),
    });
  }
}

/** Reference ZIP-215 verification (noble; the rules curve25519-voi applies for CometBFT). */
export function verifyZip215Noble(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (sig.length !== 64 || pub.length !== 32) return false;
  try {
    return ed25519.verify(sig, msg, pub, { zip215: true });
  } catch {
    return false;
  }
}

/**
 * Ed25519 verification with ZIP-215 semantics. The native verifier (`node:crypto`, strict
 * RFC 8032 / cofactorless) is tried first because it is several times faster; a `true` from it
 * implies ZIP-215 validity
 * (the cofactorless equation implies the cofactored one). Anything else — `false`, a refused
 * key import — is re-decided by noble with `zip215: true`, so the overall answer is exactly
 * noble's ZIP-215 answer.
 */
// deno-lint-ignore require-await -- async: the contract allows an async native backend
export async function verifyEd25519(
  sig: Uint8Array,
  msg: Uint8Array,
  pub: Uint8Array,
): Promise<boolean> {
  if (sig.length !== 64 || pub.length !== 32) return false;
  try {
    const key = createPublicKey({
      key: withPrefix(ED25519_SPKI_PREFIX, pub),
      format: "der",
      type: "spki",
    });
    if (nodeVerify(null, msg, key, sig)) return true;
  } catch {
    // fall through to the reference
  }
  return verifyZip215Noble(sig, msg, pub);
}

// ---------------------------------------------------------------------------------------------
// HKDF and IDs

/** HKDF info string of the SecretConnection key split (50 ASCII bytes). */
export const HKDF_INFO = new TextEncoder().encode(
  "TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN",
);

const NO_SALT = new Uint8Array(0);

/**
 * HKDF-SHA256(ikm, no salt, {@link HKDF_INFO}), `length` bytes: `node:crypto` (native, ~3x
 * faster than noble on the handshake's 64 bytes), noble should the native call fail. An empty
 * salt is RFC 5869's "no salt" (a hash-length string of zeros) in both.
 */
export function hkdfSha256(ikm: Uint8Array, length: number): Uint8Array {
  try {
    return new Uint8Array(hkdfSync("sha256", ikm, NO_SALT, HKDF_INFO, length));
  } catch {
    return hkdfSha256Noble(ikm, length);
  }
}

/** The reference HKDF-SHA256 (noble), same inputs as {@link hkdfSha256}. */
export function hkdfSha256Noble(ikm: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, undefined, HKDF_INFO, length);
}

/** The CometBFT node ID of an Ed25519 public key: hex(SHA-256(pub)[0..20)). */
export function ed25519PubKeyToId(pub: Uint8Array): string {
  return toHex(sha256(pub).subarray(0, 20));
}
