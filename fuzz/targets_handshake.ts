/**
 * A stateful fuzz target: the whole SecretConnection handshake as the remote drives it, then
 * the sealed stream after it. Our side runs `SecretConnection.make` with a fixed ephemeral key
 * (its testing option), so the harness can play a peer that knows the traffic keys: the input
 * is `[len A][A = what the peer sends in clear][B = what it sends sealed]`; when A carries the
 * harness's own ephemeral key, B (AuthSigMessage, then application bytes) is sealed with the
 * right keys, so mutations of B reach the AuthSig parser, the signature check and the frame
 * reader; otherwise B goes out raw. The socket is a static byte source ending in EOF, so no
 * input can make the handshake wait.
 *
 * Accepted: the handshake completed and the stream read to its end. Typed: the P2PError family
 * that `make` documents (and FrameError from the stream).
 * @module
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { P2PError } from "../p2p/errors.ts";
import { FrameSealer } from "../p2p/conn/frame.ts";
import { SecretConnection } from "../p2p/conn/secret_connection.ts";
import {
  computeChallenge,
  deriveSecrets,
  encodeAuthSigMessage,
  encodeEphemeralMessage,
  sortEphemeralKeys,
} from "../p2p/conn/secret_handshake.ts";
import type { RawConn } from "../p2p/conn/stream.ts";
import { NodeKey } from "../p2p/key.ts";
import { concat, varint } from "./mutate_proto.ts";
import type { FuzzTarget } from "./target.ts";

function pattern(n: number, start: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i * 13) & 0xff);
}

const OUR_KEY = NodeKey.fromSeed(pattern(32, 1));
const OUR_EPH_PRIV = pattern(32, 2);
const OUR_EPH_PUB = x25519.getPublicKey(OUR_EPH_PRIV);
const PEER_SEED = pattern(32, 3);
const PEER_PUB = ed25519.getPublicKey(PEER_SEED);
const PEER_EPH_PRIV = pattern(32, 4);
const PEER_EPH_PUB = x25519.getPublicKey(PEER_EPH_PRIV);
const PEER_EPH_MSG = encodeEphemeralMessage(PEER_EPH_PUB);

/** The peer's view of the traffic keys and challenge (what an honest peer computes). */
const PEER = (() => {
  const { lo, hi, locIsLeast } = sortEphemeralKeys(PEER_EPH_PUB, OUR_EPH_PUB);
  const dh = x25519.getSharedSecret(PEER_EPH_PRIV, OUR_EPH_PUB);
  return { challenge: computeChallenge(lo, hi, dh), ...deriveSecrets(dh, locIsLeast) };
})();

/** A socket that delivers `data` in chunks, then EOF; writes vanish. */
class ScriptedConn implements RawConn {
  #off = 0;
  #closed = false;
  constructor(readonly data: Uint8Array, readonly chunk: number) {}
  read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#off >= this.data.length) return Promise.resolve(null);
    const n = Math.min(p.length, this.chunk, this.data.length - this.#off);
    p.set(this.data.subarray(this.#off, this.#off + n));
    this.#off += n;
    return Promise.resolve(n);
  }
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BrokenPipe("closed"));
    return Promise.resolve(p.length);
  }
  close(): void {
    this.#closed = true;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Input layout: one byte for |A| (A up to 255 bytes), A, then B. */
function layout(a: Uint8Array, b: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(a.length), a, b);
}

const handshake: FuzzTarget = {
  name: "secret_handshake",
  kind: "raw",
  seeds: () => {
    const sig = ed25519.sign(PEER.challenge, PEER_SEED);
    const auth = encodeAuthSigMessage(PEER_PUB, sig);
    const app = concat(varint(3), Uint8Array.of(0x0a, 0x01, 0x00));
    return [
      layout(PEER_EPH_MSG, auth),
      layout(PEER_EPH_MSG, concat(auth, app, new Uint8Array(3000).fill(7))),
      layout(PEER_EPH_MSG, encodeAuthSigMessage(PEER_PUB, new Uint8Array(64))), // bad signature
    ];
  },
  async run(input) {
    const aLen = input.length > 0 ? input[0] : 0;
    const a = input.subarray(1, 1 + aLen);
    const b = input.subarray(1 + aLen);
    // Seal B only when A is exactly our honest peer's ephemeral message (we know its keys).
    const sealed = equal(a, PEER_EPH_MSG) && b.length > 0
      ? new FrameSealer(PEER.sendSecret).seal(b).slice()
      : b;
    const conn = new ScriptedConn(concat(a, sealed), 1 + (input.length % 97));
    const sc = await SecretConnection.make(conn, OUR_KEY, {
      ephemeralPrivateKey: OUR_EPH_PRIV,
      timeoutMs: 5_000,
    });
    try {
      const buf = new Uint8Array(4096);
      while ((await sc.read(buf)) !== null) { /* drain to EOF */ }
    } finally {
      sc.close();
    }
  },
  typed: (e) => e instanceof P2PError,
};

/** The handshake target. */
export const HANDSHAKE_TARGETS: readonly FuzzTarget[] = [handshake];
