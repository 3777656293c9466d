/**
 * The pure (I/O-free) steps of the SecretConnection handshake, spec §3.1: ephemeral key
 * message encoding, key sorting, the Merlin challenge, the HKDF key split, and the
 * AuthSigMessage encoding/validation. Exported separately so tests and hostile-peer scripts can
 * reproduce each step byte for byte.
 * @module
 */
import { AuthSigError, HandshakeError } from "../errors.ts";
import { decode, protoType } from "../proto.ts";
import { hkdfSha256 } from "./crypto.ts";
import { Transcript } from "./merlin.ts";

/** Largest delimited handshake message accepted (Go's protoio limit for both messages). */
export const MAX_HANDSHAKE_MSG_SIZE = 1024 * 1024;

/** Merlin labels of the SecretConnection transcript. */
export const TRANSCRIPT_APP_LABEL = "TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH";
const LABEL_EPH_LOWER = "EPHEMERAL_LOWER_PUBLIC_KEY";
const LABEL_EPH_UPPER = "EPHEMERAL_UPPER_PUBLIC_KEY";
const LABEL_DH_SECRET = "DH_SECRET";
const LABEL_SECRET_CONNECTION_MAC = "SECRET_CONNECTION_MAC";

/** Size of the challenge both sides sign. */
export const CHALLENGE_SIZE = 32;

/**
 * The 35-byte delimited `google.protobuf.BytesValue` carrying an ephemeral public key:
 * `22 0a 20 <32 bytes>`.
 */
export function encodeEphemeralMessage(ephPub: Uint8Array): Uint8Array {
  if (ephPub.length !== 32) throw new RangeError("ephemeral public key must be 32 bytes");
  const out = new Uint8Array(35);
  out[0] = 0x22;
  out[1] = 0x0a;
  out[2] = 0x20;
  out.set(ephPub, 3);
  return out;
}

/**
 * Decodes the body (without the length prefix) of the peer's ephemeral key message. Stricter
 * than Go, which zero-pads or truncates the value into 32 bytes: we require exactly 32 (every
 * honest implementation sends 32), so a malformed message fails here instead of later.
 */
export function parseEphemeralMessage(body: Uint8Array): Uint8Array {
  // Fast path: the exact shape every implementation sends (field 1, length 32).
  if (body.length === 34 && body[0] === 0x0a && body[1] === 0x20) return body.slice(2);
  let msg: { value?: Uint8Array };
  try {
    msg = decode<{ value?: Uint8Array }>(protoType("google.protobuf.BytesValue"), body);
  } catch (e) {
    throw new HandshakeError("malformed ephemeral key message", { cause: e });
  }
  const v = msg.value;
  if (!(v instanceof Uint8Array) || v.length !== 32) {
    throw new HandshakeError(`ephemeral key must be 32 bytes, got ${v?.length ?? 0}`);
  }
  return v.slice();
}

/** Lexicographic (unsigned byte) comparison of two equal-length keys. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** Sorts the two ephemeral keys; `locIsLeast` is whether ours is the lower one. */
export function sortEphemeralKeys(
  local: Uint8Array,
  remote: Uint8Array,
): { lo: Uint8Array; hi: Uint8Array; locIsLeast: boolean } {
  // Ties (identical keys) count as "least", as Go's bytes.Equal(loc, lo) does.
  const locIsLeast = compareBytes(local, remote) <= 0;
  return locIsLeast ? { lo: local, hi: remote, locIsLeast } : { lo: remote, hi: local, locIsLeast };
}

/**
 * The transcript after its constant start (app label), made once: each handshake clones it
 * instead of redoing the STROBE set-up and the domain separator.
 */
let baseTranscript: Transcript | undefined;

/** The Merlin challenge both sides sign (§3.1 steps 5, 7, 9). */
export function computeChallenge(lo: Uint8Array, hi: Uint8Array, dh: Uint8Array): Uint8Array {
  baseTranscript ??= new Transcript(TRANSCRIPT_APP_LABEL);
  const t = baseTranscript.clone();
  t.appendMessage(LABEL_EPH_LOWER, lo);
  t.appendMessage(LABEL_EPH_UPPER, hi);
  t.appendMessage(LABEL_DH_SECRET, dh);
  return t.extractBytes(LABEL_SECRET_CONNECTION_MAC, CHALLENGE_SIZE);
}

/**
 * The traffic keys from the DH secret (§3.1 step 8): HKDF-SHA256, no salt, 64 bytes; the side
 * with the lower ephemeral key receives with bytes 0..31 and sends with 32..63.
 */
export function deriveSecrets(
  dh: Uint8Array,
  locIsLeast: boolean,
): { recvSecret: Uint8Array; sendSecret: Uint8Array } {
  const okm = hkdfSha256(dh, 64);
  const k0 = okm.slice(0, 32);
  const k1 = okm.slice(32, 64);
  return locIsLeast ? { recvSecret: k0, sendSecret: k1 } : { recvSecret: k1, sendSecret: k0 };
}

/**
 * The delimited `tendermint.p2p.AuthSigMessage` for an Ed25519 key (103 bytes):
 * `66 0a 22 0a 20 <pub 32> 12 40 <sig 64>`. Hand-assembled (checked against the protobuf
 * encoder in tests) because its shape is fixed.
 */
export function encodeAuthSigMessage(pubKey: Uint8Array, sig: Uint8Array): Uint8Array {
  if (pubKey.length !== 32) throw new RangeError("ed25519 public key must be 32 bytes");
  if (sig.length !== 64) throw new RangeError("ed25519 signature must be 64 bytes");
  const out = new Uint8Array(103);
  out.set([0x66, 0x0a, 0x22, 0x0a, 0x20], 0);
  out.set(pubKey, 5);
  out[37] = 0x12;
  out[38] = 0x40;
  out.set(sig, 39);
  return out;
}

interface AuthSigProto {
  pub_key?: { ed25519?: Uint8Array; secp256k1?: Uint8Array; sum?: string };
  sig?: Uint8Array;
}

/**
 * Decodes and validates the body of the peer's AuthSigMessage: the key must be the Ed25519
 * variant with exactly 32 bytes and the signature 64 bytes (Go: PubKeyFromProto, the ed25519
 * type assertion, VerifySignature's length check). Throws {@link AuthSigError}.
 */
export function parseAuthSigMessage(body: Uint8Array): { pubKey: Uint8Array; sig: Uint8Array } {
  let msg: AuthSigProto;
  try {
    msg = decode<AuthSigProto>(protoType("tendermint.p2p.AuthSigMessage"), body);
  } catch (e) {
    throw new AuthSigError("malformed AuthSigMessage", { cause: e });
  }
  const pk = msg.pub_key;
  if (!pk || pk.sum === undefined) throw new AuthSigError("AuthSigMessage carries no public key");
  if (pk.sum !== "ed25519") throw new AuthSigError(`expected ed25519 pubkey, got ${pk.sum}`);
  const pub = pk.ed25519;
  if (!(pub instanceof Uint8Array) || pub.length !== 32) {
    throw new AuthSigError(`invalid size for PubKeyEd25519: ${pub?.length ?? 0}`);
  }
  const sig = msg.sig;
  if (!(sig instanceof Uint8Array) || sig.length !== 64) {
    throw new AuthSigError(`invalid signature size: ${sig?.length ?? 0}`);
  }
  return { pubKey: pub.slice(), sig: sig.slice() };
}
