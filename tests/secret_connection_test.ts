import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  AuthSigError,
  ConnectionClosedError,
  FrameError,
  HandshakeError,
  HandshakeTimeoutError,
  MessageTooLargeError,
} from "../p2p/errors.ts";
import { encode, protoType } from "../p2p/proto.ts";
import {
  LowOrderPointError,
  nativeAead,
  nobleAead,
  nobleEphemeral,
  type Signer,
} from "../p2p/conn/crypto.ts";
import { FrameOpener, FrameSealer, SEALED_FRAME_SIZE } from "../p2p/conn/frame.ts";
import { SealedStream } from "../p2p/conn/sealed_stream.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  deriveSecrets,
  HandshakeAbortedError,
  SecretConnection,
} from "../p2p/conn/secret_connection.ts";
import {
  computeChallenge,
  encodeAuthSigMessage,
  encodeEphemeralMessage,
  sortEphemeralKeys,
} from "../p2p/conn/secret_handshake.ts";
import type { RawConn } from "../p2p/conn/stream.ts";
import { rawPipe } from "./util/pipe.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const rand = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
};
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

const vectorsDir = new URL("./fixtures/vectors/", import.meta.url);
const V = JSON.parse(
  await Deno.readTextFile(new URL("secret-connection-handshake.json", vectorsDir)),
);

/** A tiny signer from noble (NodeKey lives elsewhere; this keeps the test self-contained). */
function signer(seed: Uint8Array): Signer {
  return {
    pubKey: ed25519.getPublicKey(seed),
    sign: (m) => Promise.resolve(ed25519.sign(m, seed)),
  };
}

/** A connected loopback TCP pair [dialer, acceptor]. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [a, b] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port }),
      l.accept(),
    ]);
    return [a, b];
  } finally {
    l.close();
  }
}

/** Records everything written through a RawConn. */
class Recorder implements RawConn {
  readonly written: Uint8Array[] = [];
  constructor(readonly inner: RawConn) {}
  read(p: Uint8Array) {
    return this.inner.read(p);
  }
  async write(p: Uint8Array) {
    const n = await this.inner.write(p);
    this.written.push(p.slice(0, n));
    return n;
  }
  close() {
    this.inner.close();
  }
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const k = await conn.read(buf.subarray(off));
    if (k === null) return null;
    off += k;
  }
  return buf;
}

async function readAllFrom(s: { read(p: Uint8Array): Promise<number | null> }, n: number) {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const k = await s.read(out.subarray(off, Math.min(n, off + 7000)));
    if (k === null) throw new Error(`EOF after ${off} of ${n}`);
    off += k;
  }
  return out;
}

/** Asserts the socket is closed on our side: Deno refuses I/O on a closed resource. */
async function assertClosed(conn: Deno.Conn) {
  await assert.rejects(conn.read(new Uint8Array(1)), Deno.errors.BadResource);
}

// ---------------------------------------------------------------------------------------------
// Vectors

Deno.test("deriveSecrets: all 32 lines of TestDeriveSecretsAndChallengeGolden", async () => {
  const text = await Deno.readTextFile(
    new URL("TestDeriveSecretsAndChallengeGolden.golden", vectorsDir),
  );
  const lines = text.split("\n").filter((l) => l.length > 0);
  assert.equal(lines.length, 32);
  for (const line of lines) {
    const [dh, least, recv, send] = line.split(",");
    const s = deriveSecrets(unhex(dh), least === "true");
    assert.equal(hex(s.recvSecret), recv);
    assert.equal(hex(s.sendSecret), send);
  }
});

Deno.test("handshake vector: eph messages, lo/hi, DH, challenge, keys, signatures, AuthSig", async () => {
  const A = V.node_A, B = V.node_B;
  const ephA = nobleEphemeral(unhex(A.x25519_ephemeral_private));
  const ephB = nobleEphemeral(unhex(B.x25519_ephemeral_private));
  assert.equal(hex(ephA.publicKey), A.x25519_ephemeral_public);
  assert.equal(hex(encodeEphemeralMessage(ephA.publicKey)), A.wire_ephemeral_msg);
  assert.equal(hex(encodeEphemeralMessage(ephB.publicKey)), B.wire_ephemeral_msg);
  const sa = sortEphemeralKeys(ephA.publicKey, ephB.publicKey);
  const sb = sortEphemeralKeys(ephB.publicKey, ephA.publicKey);
  assert.equal(hex(sa.lo), V.shared.lo_eph_pub);
  assert.equal(hex(sa.hi), V.shared.hi_eph_pub);
  assert.equal(sa.locIsLeast, A.loc_is_least);
  assert.equal(sb.locIsLeast, B.loc_is_least);
  const dh = await ephA.sharedSecret(ephB.publicKey);
  assert.equal(hex(dh), V.shared.dh_secret);
  assert.equal(hex(await ephB.sharedSecret(ephA.publicKey)), V.shared.dh_secret);
  const challenge = computeChallenge(sa.lo, sa.hi, dh);
  assert.equal(hex(challenge), V.shared.challenge);
  for (const [node, least] of [[A, sa.locIsLeast], [B, sb.locIsLeast]] as const) {
    const k = deriveSecrets(dh, least);
    assert.equal(hex(k.recvSecret), node.recv_key);
    assert.equal(hex(k.sendSecret), node.send_key);
    const sig = ed25519.sign(challenge, unhex(node.ed25519_seed));
    assert.equal(hex(sig), node.challenge_signature);
    const pub = unhex(node.ed25519_pubkey);
    const msg = encodeAuthSigMessage(pub, sig);
    assert.equal(hex(msg), node.auth_sig_msg_delimited);
    // The hand-assembled bytes are what the protobuf encoder produces (plus the 0x66 prefix).
    const viaProto = encode(protoType("tendermint.p2p.AuthSigMessage"), {
      pub_key: { ed25519: pub },
      sig,
    });
    assert.equal(hex(concat(Uint8Array.of(viaProto.length), viaProto)), hex(msg));
  }
});

for (const [name, aead] of [["native", nativeAead], ["noble", nobleAead]] as const) {
  Deno.test(`handshake vector (${name} AEAD): sealed frames at nonce 0, 1, 2 incl. stale padding`, () => {
    const A = V.node_A, B = V.node_B;
    const sealA = new FrameSealer(unhex(A.send_key), aead);
    assert.equal(
      hex(sealA.seal(unhex(A.auth_sig_msg_delimited))),
      A["first_sealed_frame_sent(nonce0)"],
    );
    // Nonce 1: NodeInfo; its padding holds the stale tail of the AuthSig frame (Go's reused buffer).
    assert.equal(
      hex(sealA.seal(unhex(A.default_node_info_delimited))),
      A["node_info_sealed_frame(nonce1)"],
    );
    const flush = concat(
      unhex(V.packets.ping_delimited),
      unhex(V.packets.packet_delimited_NewRoundStep_on_0x20),
    );
    assert.deepEqual(
      [hex(sealA.seal(flush))],
      V.packets["A_sends_ping_and_NewRoundStep_in_one_flush(nonce2)"],
    );
    const sealB = new FrameSealer(unhex(B.send_key), aead);
    assert.equal(
      hex(sealB.seal(unhex(B.auth_sig_msg_delimited))),
      B["first_sealed_frame_sent(nonce0)"],
    );

    // B opens what A sent, in order, ignoring the stale padding.
    const openB = new FrameOpener(unhex(B.recv_key), aead);
    assert.equal(
      hex(openB.open(unhex(A["first_sealed_frame_sent(nonce0)"]))),
      A.auth_sig_msg_delimited,
    );
    assert.equal(
      hex(openB.open(unhex(A["node_info_sealed_frame(nonce1)"]))),
      A.default_node_info_delimited,
    );
    assert.equal(
      hex(openB.open(unhex(V.packets["A_sends_ping_and_NewRoundStep_in_one_flush(nonce2)"][0]))),
      hex(flush),
    );
    // Out of order (wrong nonce) fails.
    const openB2 = new FrameOpener(unhex(B.recv_key), aead);
    assert.throws(() => openB2.open(unhex(A["node_info_sealed_frame(nonce1)"])), FrameError);
  });
}

Deno.test("handshake vector over TCP: injected ephemeral keys reproduce the wire bytes", async () => {
  const A = V.node_A, B = V.node_B;
  const [ca, cb] = await tcpPair();
  const ra = new Recorder(ca);
  const [sa, sb] = await Promise.all([
    SecretConnection.make(ra, signer(unhex(A.ed25519_seed)), {
      ephemeralPrivateKey: unhex(A.x25519_ephemeral_private),
    }),
    SecretConnection.make(cb, signer(unhex(B.ed25519_seed)), {
      ephemeralPrivateKey: unhex(B.x25519_ephemeral_private),
    }),
  ]);
  try {
    assert.equal(sa.remoteId, B.node_id);
    assert.equal(sb.remoteId, A.node_id);
    assert.equal(hex(sa.remotePubKey), B.ed25519_pubkey);
    const wire = hex(concat(...ra.written));
    assert.equal(wire, A.wire_ephemeral_msg + A["first_sealed_frame_sent(nonce0)"]);
    // NodeInfo at nonce 1, byte for byte the vector's frame (stale padding included).
    await sa.write(unhex(A.default_node_info_delimited));
    assert.equal(hex(ra.written.at(-1)!), A["node_info_sealed_frame(nonce1)"]);
    const got = await readAllFrom(sb, unhex(A.default_node_info_delimited).length);
    assert.equal(hex(got), A.default_node_info_delimited);
  } finally {
    sa.close();
    sb.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Real handshakes

async function connectedPair(): Promise<[SecretConnection, SecretConnection]> {
  const [ca, cb] = await tcpPair();
  const [sa, sb] = await Promise.all([
    SecretConnection.make(ca, signer(rand(32))),
    SecretConnection.make(cb, signer(rand(32))),
  ]);
  return [sa, sb];
}

Deno.test("SecretConnection: messages of 0..1 MiB cross frames in both directions", async () => {
  const [sa, sb] = await connectedPair();
  try {
    assert.equal(DEFAULT_HANDSHAKE_TIMEOUT_MS, 3000);
    for (const size of [0, 1, 1023, 1024, 1025, 5000, 1 << 20]) {
      const a = rand(size), b = rand(size);
      const [, gotB, , gotA] = await Promise.all([
        sa.write(a),
        readAllFrom(sb, size),
        sb.write(b),
        readAllFrom(sa, size),
      ]);
      assert.equal(hex(gotB), hex(a), `A→B ${size}`);
      assert.equal(hex(gotA), hex(b), `B→A ${size}`);
    }
    // A message crossing a frame boundary is delivered with the next one's head in the same read.
    await sa.write(rand(1000));
    await sa.write(Uint8Array.of(1, 2, 3));
    await readAllFrom(sb, 1000);
    assert.deepEqual(await readAllFrom(sb, 3), Uint8Array.of(1, 2, 3));
  } finally {
    sa.close();
    sb.close();
  }
});

Deno.test("SecretConnection: concurrent writers never interleave frames", async () => {
  const [sa, sb] = await connectedPair();
  try {
    const writers = 8, perWriter = 20;
    const msgs: Uint8Array[] = [];
    const sends: Promise<void>[] = [];
    for (let w = 0; w < writers; w++) {
      for (let i = 0; i < perWriter; i++) {
        // header: writer, seq, LE32 len; body filled with a writer/seq-derived byte
        const len = 1 + ((w * 977 + i * 131) % 3000);
        const m = new Uint8Array(6 + len);
        m[0] = w;
        m[1] = i;
        new DataView(m.buffer).setUint32(2, len, true);
        m.fill((w * 31 + i) & 0xff, 6);
        msgs.push(m);
        sends.push(sa.write(m));
      }
    }
    const total = msgs.reduce((n, m) => n + m.length, 0);
    const [got] = await Promise.all([readAllFrom(sb, total), Promise.all(sends)]);
    const seen = new Map<number, number>();
    let off = 0;
    while (off < got.length) {
      const w = got[off], i = got[off + 1];
      const len = new DataView(got.buffer, off + 2, 4).getUint32(0, true);
      const body = got.subarray(off + 6, off + 6 + len);
      assert.ok(body.every((x) => x === ((w * 31 + i) & 0xff)), `message ${w}/${i} intact`);
      assert.equal(i, seen.get(w) ?? 0, "per-writer order kept");
      seen.set(w, i + 1);
      off += 6 + len;
    }
    assert.equal(seen.size, writers);
  } finally {
    sa.close();
    sb.close();
  }
});

Deno.test("SecretConnection: EOF, idempotent close, I/O after close", async () => {
  const [sa, sb] = await connectedPair();
  sa.close();
  sa.close();
  assert.equal(await sb.read(new Uint8Array(10)), null);
  await assert.rejects(sa.read(new Uint8Array(1)), ConnectionClosedError);
  await assert.rejects(sa.write(new Uint8Array(1)), ConnectionClosedError);
  sb.close();
});

Deno.test("SecretConnection: a pending read fails with ConnectionClosedError on local close", async () => {
  const [sa, sb] = await connectedPair();
  const pending = sa.read(new Uint8Array(10));
  sa.close();
  await assert.rejects(pending, ConnectionClosedError);
  sb.close();
});

// ---------------------------------------------------------------------------------------------
// Hostile peers: each must produce its typed error, close our socket, and never hang.

/**
 * Runs our make() against a scripted peer. Returns the error make() threw; asserts our socket
 * got closed and the peer saw EOF (when the script leaves the peer socket open).
 */
async function againstHostile(
  script: (peer: Deno.TcpConn) => Promise<void>,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Error> {
  const [ours, peer] = await tcpPair();
  let err: Error | undefined;
  try {
    await Promise.all([
      SecretConnection.make(ours, signer(rand(32)), { timeoutMs: 2000, ...opts }).then(
        () => assert.fail("handshake unexpectedly succeeded"),
        (e) => (err = e),
      ),
      script(peer).catch(() => {}),
    ]);
  } finally {
    try {
      peer.close();
    } catch { /* the script closed it */ }
  }
  assert.ok(err instanceof Error);
  await assertClosed(ours);
  return err;
}

/** Plays the honest handshake up to key derivation; returns the peer's frame tools. */
async function peerKeys(peer: Deno.TcpConn, ephPriv = rand(32)) {
  const eph = nobleEphemeral(ephPriv);
  await peer.write(encodeEphemeralMessage(eph.publicKey));
  const theirs = (await readExactly(peer, 35))!;
  const remote = theirs.subarray(3);
  const { lo, hi, locIsLeast } = sortEphemeralKeys(eph.publicKey, remote);
  const dh = await eph.sharedSecret(remote);
  const { recvSecret, sendSecret } = deriveSecrets(dh, locIsLeast);
  return {
    challenge: computeChallenge(lo, hi, dh),
    sendSecret,
    sealer: new FrameSealer(sendSecret),
    opener: new FrameOpener(recvSecret),
  };
}

/** Waits until our side closes (reads until EOF), so the script never returns early. */
async function drain(peer: Deno.TcpConn) {
  const buf = new Uint8Array(4096);
  while ((await peer.read(buf)) !== null) { /* discard */ }
}

Deno.test("hostile: peer closes before sending its ephemeral key", async () => {
  const err = await againstHostile(async (peer) => {
    await readExactly(peer, 35);
    peer.close();
  });
  assert.ok(err instanceof ConnectionClosedError, String(err));
});

Deno.test("hostile: peer closes right after its ephemeral key", async () => {
  const err = await againstHostile(async (peer) => {
    await peer.write(encodeEphemeralMessage(nobleEphemeral(rand(32)).publicKey));
    await readExactly(peer, 35);
    peer.close();
  });
  assert.ok(err instanceof ConnectionClosedError, String(err));
});

Deno.test("hostile: peer closes mid-frame", async () => {
  const err = await againstHostile(async (peer) => {
    const { sealer } = await peerKeys(peer);
    const frame = sealer.seal(rand(103));
    await peer.write(frame.subarray(0, 500));
    peer.close();
  });
  assert.ok(err instanceof ConnectionClosedError, String(err));
});

const LOW_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];
for (const u of LOW_ORDER) {
  Deno.test(`hostile: low-order ephemeral key ${u.slice(0, 8)}…${u.slice(-2)}`, async () => {
    const err = await againstHostile(async (peer) => {
      await peer.write(encodeEphemeralMessage(unhex(u)));
      await drain(peer);
    });
    assert.equal(err.constructor, HandshakeError, String(err));
    assert.ok(err.cause instanceof LowOrderPointError);
  });
}

Deno.test("hostile: ephemeral message with a short length prefix (truncated BytesValue)", async () => {
  const err = await againstHostile(async (peer) => {
    const msg = encodeEphemeralMessage(rand(32));
    msg[0] = 0x21; // body is then `0a 20` + 31 bytes: the bytes field runs past the end
    await peer.write(msg.subarray(0, 34));
    await drain(peer);
  });
  assert.equal(err.constructor, HandshakeError, String(err));
});

Deno.test("hostile: ephemeral message that is not a BytesValue with 32 bytes", async () => {
  const err = await againstHostile(async (peer) => {
    // field 2 (unknown) instead of field 1: decodes, but carries no key
    const msg = encodeEphemeralMessage(rand(32));
    msg[1] = 0x12;
    await peer.write(msg);
    await drain(peer);
  });
  assert.equal(err.constructor, HandshakeError, String(err));
});

Deno.test("hostile: ephemeral message declaring more than 1 MiB", async () => {
  const err = await againstHostile(async (peer) => {
    await peer.write(Uint8Array.of(0x81, 0x80, 0x40)); // 1 MiB + 1
    await drain(peer);
  });
  assert.ok(err instanceof MessageTooLargeError, String(err));
});

Deno.test("hostile: AuthSig with a secp256k1 key", async () => {
  const err = await againstHostile(async (peer) => {
    const { sealer } = await peerKeys(peer);
    const body = encode(protoType("tendermint.p2p.AuthSigMessage"), {
      pub_key: { secp256k1: concat(Uint8Array.of(2), rand(32)) },
      sig: rand(64),
    });
    await peer.write(sealer.seal(concat(Uint8Array.of(body.length), body)));
    await drain(peer);
  });
  assert.ok(err instanceof AuthSigError, String(err));
});

Deno.test("hostile: AuthSig with a bad signature", async () => {
  const err = await againstHostile(async (peer) => {
    const { sealer, challenge } = await peerKeys(peer);
    const seed = rand(32);
    const sig = ed25519.sign(challenge, seed);
    sig[0] ^= 1;
    await peer.write(sealer.seal(encodeAuthSigMessage(ed25519.getPublicKey(seed), sig)));
    await drain(peer);
  });
  assert.equal(err.constructor, AuthSigError, String(err));
});

Deno.test("hostile: AuthSig signed over the wrong challenge", async () => {
  const err = await againstHostile(async (peer) => {
    const { sealer } = await peerKeys(peer);
    const seed = rand(32);
    const sig = ed25519.sign(rand(32), seed);
    await peer.write(sealer.seal(encodeAuthSigMessage(ed25519.getPublicKey(seed), sig)));
    await drain(peer);
  });
  assert.equal(err.constructor, AuthSigError, String(err));
});

Deno.test("hostile: frame with a bad tag", async () => {
  const err = await againstHostile(async (peer) => {
    await peerKeys(peer);
    await peer.write(rand(SEALED_FRAME_SIZE));
    await drain(peer);
  });
  assert.ok(err instanceof FrameError, String(err));
});

Deno.test("hostile: decrypted frame length above 1024", async () => {
  const err = await againstHostile(async (peer) => {
    const { sendSecret } = await peerKeys(peer);
    // A correctly sealed frame (nonce 0) whose plaintext length field says 1025.
    const plain = new Uint8Array(1028);
    new DataView(plain.buffer).setUint32(0, 1025, true);
    const out = new Uint8Array(SEALED_FRAME_SIZE);
    nativeAead(sendSecret).seal(plain, new Uint8Array(12), out);
    await peer.write(out);
    await drain(peer);
  });
  assert.ok(err instanceof FrameError, String(err));
});

Deno.test("hostile: peer stalls before its ephemeral key (deadline)", async () => {
  const err = await againstHostile(async (peer) => {
    await drain(peer);
  }, { timeoutMs: 300 });
  assert.ok(err instanceof HandshakeTimeoutError, String(err));
});

Deno.test("hostile: peer stalls after its ephemeral key (deadline)", async () => {
  const err = await againstHostile(async (peer) => {
    await peer.write(encodeEphemeralMessage(nobleEphemeral(rand(32)).publicKey));
    await drain(peer);
  }, { timeoutMs: 300 });
  assert.ok(err instanceof HandshakeTimeoutError, String(err));
});

Deno.test("hostile: peer stalls inside its length prefix (deadline)", async () => {
  const err = await againstHostile(async (peer) => {
    await peer.write(Uint8Array.of(0xa2)); // varint continues, never finishes
    await drain(peer);
  }, { timeoutMs: 300 });
  assert.ok(err instanceof HandshakeTimeoutError, String(err));
});

Deno.test("handshake abort through AbortSignal", async () => {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error("shutdown")), 50);
  try {
    const err = await againstHostile(async (peer) => {
      await drain(peer);
    }, { signal: ac.signal });
    assert.ok(err instanceof HandshakeAbortedError, String(err));
  } finally {
    clearTimeout(t);
  }
});

Deno.test("SealedStream: after a 1 MiB write and a small one, both ends hold only small buffers", async () => {
  const [ca, cb] = await tcpPair();
  const k1 = rand(32), k2 = rand(32);
  const a = new SealedStream(ca, k1, k2);
  const b = new SealedStream(cb, k2, k1);
  let pending: Promise<unknown> = Promise.resolve();
  try {
    const big = rand(1 << 20);
    const [, got] = await Promise.all([a.write(big), readAllFrom(b, big.length)]);
    assert.equal(hex(got), hex(big));
    // The 1 MiB write borrowed a large sealing buffer and gave it back once written.
    assert.equal(a.bufferStats().seal, 0);
    // The next small exchange drains the receive side: light traffic, so its next read waits
    // in the small buffer (a read still streaming would have kept the large one).
    await a.write(Uint8Array.of(7));
    assert.deepEqual(await readAllFrom(b, 1), Uint8Array.of(7));
    assert.equal(a.bufferStats().seal, 0);
    pending = b.read(new Uint8Array(1)).catch(() => null);
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(b.bufferStats().read <= 2 * SEALED_FRAME_SIZE, `read ${b.bufferStats().read}`);
  } finally {
    a.close();
    b.close();
    await pending;
  }
});

Deno.test("SecretConnection over a pipe that moves one byte per write: handshake and data", async () => {
  // Every message, the ephemeral key's length prefix included, arrives a byte at a time.
  const [a, b] = rawPipe({ maxWriteBytes: 1 });
  const [sa, sb] = await Promise.all([
    SecretConnection.make(a, signer(rand(32))),
    SecretConnection.make(b, signer(rand(32))),
  ]);
  try {
    const data = rand(3000);
    await sa.write(data);
    const got = await readAllFrom(sb, data.length);
    assert.equal(hex(got), hex(data));
  } finally {
    sa.close();
    sb.close();
  }
});
