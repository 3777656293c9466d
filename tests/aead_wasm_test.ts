/**
 * Our WASM ChaCha20-Poly1305 (p2p/conn/aead_wasm.ts) and the batched frame paths against the
 * reference (@noble/ciphers) and the golden SecretConnection vectors.
 */
import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { nobleAead } from "../p2p/conn/crypto.ts";
import { wasmAead, wasmAeadAvailable, WasmFrameCipher } from "../p2p/conn/aead_wasm.ts";
import {
  DATA_MAX_SIZE,
  FrameOpener,
  FrameSealer,
  openedFrameLength,
  SEALED_FRAME_SIZE,
  TOTAL_FRAME_SIZE,
} from "../p2p/conn/frame.ts";
import { FrameError } from "../p2p/errors.ts";
import { SealedStream } from "../p2p/conn/sealed_stream.ts";
import type { RawConn } from "../p2p/conn/stream.ts";
import { handshakeVectors, hex, toHex } from "./util/vectors.ts";

/** Random bytes of any length (getRandomValues takes at most 64 KiB per call). */
function rand(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}
const V = await handshakeVectors();

function nonceOf(counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, counter, true);
  return n;
}

Deno.test("wasm aead: loads in this runtime (WASM SIMD present)", () => {
  assert.ok(wasmAeadAvailable());
});

Deno.test("wasm aead: seal byte-identical to noble, opens noble's, any length 0..5000", () => {
  const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 191, 192, 193, 255, 256, 257, 1024, 1028, 4096];
  for (let i = 0; i < 60; i++) lengths.push(Math.floor(Math.random() * 5001));
  for (const len of lengths) {
    const key = rand(32);
    const nonce = rand(12);
    const pt = rand(len);
    const a = new Uint8Array(len + 16);
    wasmAead(key).seal(pt, nonce, a);
    const b = chacha20poly1305(key, nonce).encrypt(pt);
    assert.equal(toHex(a), toHex(b), `len ${len}`);
    const o = new Uint8Array(len);
    assert.ok(wasmAead(key).open(b, nonce, o), `open len ${len}`);
    assert.equal(toHex(o), toHex(pt));
  }
});

Deno.test("wasm aead: rejects a flipped bit anywhere, a wrong nonce, a short input", () => {
  const key = rand(32);
  const nonce = rand(12);
  const sealed = new Uint8Array(1044);
  wasmAead(key).seal(rand(1028), nonce, sealed);
  const out = new Uint8Array(1028);
  for (const at of [0, 1, 500, 1027, 1028, 1035, 1043]) {
    const bad = sealed.slice();
    bad[at] ^= 0x01;
    assert.equal(wasmAead(key).open(bad, nonce, out), false, `bit at ${at}`);
  }
  const n2 = nonce.slice();
  n2[11] ^= 0x80;
  assert.equal(wasmAead(key).open(sealed, n2, out), false);
  assert.equal(wasmAead(key).open(sealed.subarray(0, 15), nonce, out), false);
  assert.ok(wasmAead(key).open(sealed, nonce, out));
});

Deno.test("wasm batch: consecutive nonces across the 32-bit carry equal noble per frame", () => {
  const key = rand(32);
  const c = new WasmFrameCipher(key);
  const n = 7;
  const frames = Array.from({ length: n }, () => rand(TOTAL_FRAME_SIZE));
  frames.forEach((f, i) => c.io.set(f, i * SEALED_FRAME_SIZE));
  const lo = 0xfffffffc;
  c.seal(n, TOTAL_FRAME_SIZE, SEALED_FRAME_SIZE, 0, lo, 41);
  const start = (41n << 32n) | BigInt(lo);
  const sealed = c.io.slice(0, n * SEALED_FRAME_SIZE);
  for (let i = 0; i < n; i++) {
    const want = chacha20poly1305(key, nonceOf(start + BigInt(i))).encrypt(frames[i]);
    const got = sealed.subarray(i * SEALED_FRAME_SIZE, (i + 1) * SEALED_FRAME_SIZE);
    assert.equal(toHex(got), toHex(want), `frame ${i}`);
  }
  // Open them back in one call; corrupt frame 5 and see exactly 5 open, 5.. untouched.
  sealed[5 * SEALED_FRAME_SIZE + 9] ^= 4;
  c.io.set(sealed);
  assert.equal(c.open(n, TOTAL_FRAME_SIZE, SEALED_FRAME_SIZE, 0, lo, 41), 5);
  for (let i = 0; i < 5; i++) {
    const at = i * SEALED_FRAME_SIZE;
    assert.equal(toHex(c.io.subarray(at, at + TOTAL_FRAME_SIZE)), toHex(frames[i]));
  }
  const at5 = 5 * SEALED_FRAME_SIZE;
  assert.equal(
    toHex(c.io.subarray(at5, at5 + SEALED_FRAME_SIZE)),
    toHex(sealed.subarray(at5, at5 + SEALED_FRAME_SIZE)),
  );
});

Deno.test("frames: default (batched WASM) sealer is byte-identical to the noble sealer", () => {
  const key = rand(32);
  const fast = new FrameSealer(key);
  const ref = new FrameSealer(key, nobleAead);
  // Short and long writes, > 128 frames (several WASM calls), short tails: stale padding must
  // follow the same rule (Go's reused frame buffer) on both paths.
  const sizes = [1, 1030, 5, DATA_MAX_SIZE, 200 * DATA_MAX_SIZE + 17, 3, 300 * DATA_MAX_SIZE, 2];
  for (let i = 0; i < 10; i++) sizes.push(1 + Math.floor(Math.random() * 140_000));
  for (const size of sizes) {
    const data = rand(size);
    assert.equal(toHex(fast.seal(data)), toHex(ref.seal(data)), `write of ${size}`);
    assert.equal(fast.nonce, ref.nonce);
  }
});

Deno.test("frames: batched opener opens noble frames in place; stops at a bad frame", () => {
  const key = rand(32);
  const ref = new FrameSealer(key, nobleAead);
  const data = rand(150 * DATA_MAX_SIZE + 100);
  const sealed = ref.seal(data).slice();
  for (const opener of [new FrameOpener(key), new FrameOpener(key, nobleAead)]) {
    const buf = sealed.slice();
    const n = buf.length / SEALED_FRAME_SIZE;
    assert.equal(opener.openInPlace(buf, n), n);
    const got: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const at = i * SEALED_FRAME_SIZE;
      const len = openedFrameLength(buf, at);
      got.push(buf.slice(at + 4, at + 4 + len));
    }
    assert.equal(toHex(new Uint8Array(got.flatMap((g) => [...g]))), toHex(data));
    assert.equal(opener.nonce, BigInt(n));
  }
  for (const opener of [new FrameOpener(key), new FrameOpener(key, nobleAead)]) {
    const buf = sealed.slice();
    buf[140 * SEALED_FRAME_SIZE + 1043] ^= 1; // tag of frame 140 (second WASM batch)
    assert.equal(opener.openInPlace(buf, buf.length / SEALED_FRAME_SIZE), 140);
    assert.equal(opener.nonce, 140n);
  }
});

Deno.test("frames: golden vectors (nonce 0, 1, 2 incl. stale padding) on the default path", () => {
  const A = V.node_A, B = V.node_B;
  const sealA = new FrameSealer(hex(A.send_key));
  assert.equal(
    toHex(sealA.seal(hex(A.auth_sig_msg_delimited))),
    A["first_sealed_frame_sent(nonce0)"],
  );
  assert.equal(
    toHex(sealA.seal(hex(A.default_node_info_delimited))),
    A["node_info_sealed_frame(nonce1)"],
  );
  const flush = new Uint8Array([
    ...hex(V.packets.ping_delimited),
    ...hex(V.packets.packet_delimited_NewRoundStep_on_0x20),
  ]);
  assert.equal(
    toHex(sealA.seal(flush)),
    V.packets["A_sends_ping_and_NewRoundStep_in_one_flush(nonce2)"][0],
  );
  const openB = new FrameOpener(hex(B.recv_key));
  assert.equal(
    toHex(openB.open(hex(A["first_sealed_frame_sent(nonce0)"]))),
    A.auth_sig_msg_delimited,
  );
  assert.equal(
    toHex(openB.open(hex(A["node_info_sealed_frame(nonce1)"]))),
    A.default_node_info_delimited,
  );
  // Out of order: nonce 0 expected, frame of nonce 1 given.
  assert.throws(
    () => new FrameOpener(hex(B.recv_key)).open(hex(A["node_info_sealed_frame(nonce1)"])),
    FrameError,
  );
});

/** A raw connection that yields a fixed byte string in one read, then EOF. */
function oneShot(data: Uint8Array): RawConn {
  let left = data;
  return {
    read(p) {
      if (left.length === 0) return Promise.resolve(null);
      const n = Math.min(p.length, left.length);
      p.set(left.subarray(0, n));
      left = left.subarray(n);
      return Promise.resolve(n);
    },
    write: (p) => Promise.resolve(p.length),
    close() {},
  };
}

Deno.test("SealedStream: data of the frames before a bad one arrives, then FrameError", async () => {
  const key = rand(32);
  const data = rand(2 * DATA_MAX_SIZE + 10);
  const wire = new FrameSealer(key, nobleAead).seal(data).slice();
  wire[2 * SEALED_FRAME_SIZE + 3] ^= 1; // third frame corrupt
  const s = new SealedStream(oneShot(wire), rand(32), key);
  const buf = new Uint8Array(4 * DATA_MAX_SIZE);
  let got = 0;
  let err: unknown;
  try {
    for (;;) {
      const n = await s.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof FrameError, String(err));
  assert.equal(got, 2 * DATA_MAX_SIZE);
  assert.equal(toHex(buf.subarray(0, got)), toHex(data.subarray(0, got)));
  assert.ok(s.closed);
});
