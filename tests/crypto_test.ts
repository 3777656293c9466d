import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  ed25519Signer,
  generateEphemeral,
  hkdfSha256,
  hkdfSha256Noble,
  LowOrderPointError,
  nativeAead,
  nobleAead,
  nobleEphemeral,
  verifyEd25519,
  verifyZip215Noble,
} from "../p2p/conn/crypto.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));

Deno.test("aead: native and noble seal byte-identically and open each other", () => {
  const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 1000, 1024, 1027, 1028];
  for (let i = 0; i < 40; i++) lengths.push(Math.floor(Math.random() * 1029));
  for (const len of lengths) {
    const key = rand(32);
    const nonce = rand(12);
    const pt = rand(len);
    const a = new Uint8Array(len + 16);
    const b = new Uint8Array(len + 16);
    nativeAead(key).seal(pt, nonce, a);
    nobleAead(key).seal(pt, nonce, b);
    assert.equal(hex(a), hex(b), `len ${len}`);
    const o1 = new Uint8Array(len);
    const o2 = new Uint8Array(len);
    assert.ok(nativeAead(key).open(b, nonce, o1));
    assert.ok(nobleAead(key).open(a, nonce, o2));
    assert.deepEqual(o1, pt);
    assert.deepEqual(o2, pt);
  }
});

Deno.test("aead: both reject a bad tag, a flipped ciphertext bit, a wrong nonce", () => {
  const key = rand(32);
  const nonce = new Uint8Array(12);
  const pt = rand(1028);
  const sealed = new Uint8Array(1044);
  nativeAead(key).seal(pt, nonce, sealed);
  const out = new Uint8Array(1028);
  for (const mk of [nativeAead, nobleAead]) {
    const badTag = sealed.slice();
    badTag[1043] ^= 1;
    assert.equal(mk(key).open(badTag, nonce, out), false);
    const badCt = sealed.slice();
    badCt[7] ^= 0x80;
    assert.equal(mk(key).open(badCt, nonce, out), false);
    const n1 = nonce.slice();
    n1[4] = 1;
    assert.equal(mk(key).open(sealed, n1, out), false);
    assert.equal(mk(key).open(sealed.subarray(0, 10), nonce, out), false);
  }
});

Deno.test("x25519: native ephemeral agrees with noble on random keys", async () => {
  for (let i = 0; i < 20; i++) {
    const eph = await generateEphemeral();
    const peerPriv = rand(32);
    const peer = nobleEphemeral(peerPriv);
    const s1 = await eph.sharedSecret(peer.publicKey);
    const s2 = await peer.sharedSecret(eph.publicKey);
    assert.equal(hex(s1), hex(s2));
    assert.equal(hex(s2), hex(x25519.getSharedSecret(peerPriv, eph.publicKey)));
  }
});

/** u-coordinates that yield an all-zero X25519 output (RFC 7748 masks the top bit). */
export const LOW_ORDER_U = [
  "0000000000000000000000000000000000000000000000000000000000000000", // 0
  "0100000000000000000000000000000000000000000000000000000000000000", // 1
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p − 1
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p ≡ 0
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 ≡ 1
  // the same with the (ignored) top bit set
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0100000000000000000000000000000000000000000000000000000000000080",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

Deno.test("x25519: low-order points are rejected by both backends", async () => {
  for (const u of LOW_ORDER_U) {
    const web = await generateEphemeral();
    await assert.rejects(web.sharedSecret(unhex(u)), LowOrderPointError, u);
    await assert.rejects(nobleEphemeral(rand(32)).sharedSecret(unhex(u)), LowOrderPointError, u);
  }
});

Deno.test("x25519: non-canonical but not low-order points agree across backends", async () => {
  // 2p−1, 2p, 2p+1 unmasked: with the top bit masked they are ordinary points Go accepts.
  const odd = [
    "d9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "daffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "dbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 2
  ];
  for (const u of odd) {
    const priv = rand(32);
    const ref = x25519.getSharedSecret(priv, unhex(u));
    assert.equal(hex(await nobleEphemeral(priv).sharedSecret(unhex(u))), hex(ref));
    const web = await generateEphemeral();
    const s = await web.sharedSecret(unhex(u));
    assert.equal(s.length, 32);
    assert.ok(s.some((b) => b !== 0));
  }
});

Deno.test("ed25519: native signer is byte-identical to noble", async () => {
  for (let i = 0; i < 10; i++) {
    const seed = rand(32);
    const s = await ed25519Signer(seed);
    assert.equal(hex(s.pubKey), hex(ed25519.getPublicKey(seed)));
    for (const len of [0, 1, 32, 1000]) {
      const msg = rand(len);
      assert.equal(hex(await s.sign(msg)), hex(ed25519.sign(msg, seed)));
    }
  }
});

/** The 14 encodings of small-order points used by the ZIP-215 test set (incl. non-canonical). */
const SMALL_ORDER_ENCODINGS = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "0100000000000000000000000000000000000000000000000000000000000080",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const leToBig = (b: Uint8Array) => {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
};
const bigToLe = (x: bigint, n = 32) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
};

/** What the native (strict, cofactorless) verifier alone says. */
function nativeSays(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    const spki = Buffer.concat([unhex("302a300506032b6570032100"), pub]);
    const k = createPublicKey({ key: spki, format: "der", type: "spki" });
    return nodeVerify(null, msg, k, sig);
  } catch {
    return false;
  }
}

Deno.test("ed25519 verify: ZIP-215 small-order A × R set (196 cases) all valid, as noble", async () => {
  const msg = new TextEncoder().encode("Zcash");
  let webFalse = 0;
  for (const a of SMALL_ORDER_ENCODINGS) {
    for (const r of SMALL_ORDER_ENCODINGS) {
      const sig = new Uint8Array(64);
      sig.set(unhex(r), 0); // S = 0
      const pub = unhex(a);
      assert.equal(verifyZip215Noble(sig, msg, pub), true, `noble ${a} ${r}`);
      assert.equal(await verifyEd25519(sig, msg, pub), true, `verify ${a} ${r}`);
      if (!(nativeSays(sig, msg, pub))) webFalse++;
    }
  }
  // The fallback path is actually exercised (native is stricter than ZIP-215 here).
  assert.ok(webFalse > 0);
});

Deno.test("ed25519 verify: S ≥ L rejected, S non-canonical rejected, bad lengths rejected", async () => {
  const seed = rand(32);
  const pub = ed25519.getPublicKey(seed);
  const msg = rand(32);
  const sig = ed25519.sign(msg, seed);
  assert.equal(await verifyEd25519(sig, msg, pub), true);
  const s = leToBig(sig.subarray(32));
  const malleable = sig.slice();
  malleable.set(bigToLe(s + L), 32);
  assert.equal(verifyZip215Noble(malleable, msg, pub), false);
  assert.equal(await verifyEd25519(malleable, msg, pub), false);
  const bad = sig.slice();
  bad[5] ^= 1;
  assert.equal(await verifyEd25519(bad, msg, pub), false);
  assert.equal(await verifyEd25519(sig.subarray(0, 63), msg, pub), false);
  assert.equal(await verifyEd25519(sig, msg, pub.subarray(0, 31)), false);
  assert.equal(await verifyEd25519(sig, rand(32), pub), false);
});

Deno.test("ed25519 verify: mixed-order key (A + torsion) is ZIP-215-valid only cofactored", async () => {
  const Point = ed25519.Point;
  const T = Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"); // order 8
  let checked = 0;
  for (let i = 0; checked < 6 && i < 50; i++) {
    const a = (leToBig(rand(32)) % (L - 1n)) + 1n;
    const A2 = Point.BASE.multiply(a).add(T).toBytes();
    const msg = rand(16);
    const r = (leToBig(rand(32)) % (L - 1n)) + 1n;
    const R = Point.BASE.multiply(r).toBytes();
    const k = leToBig(sha512(new Uint8Array([...R, ...A2, ...msg]))) % L;
    const S = (r + k * a) % L;
    const sig = new Uint8Array([...R, ...bigToLe(S)]);
    const zip = verifyZip215Noble(sig, msg, A2);
    assert.equal(await verifyEd25519(sig, msg, A2), zip);
    assert.equal(zip, true);
    // When 8 ∤ k the cofactorless check fails; our answer must still be the ZIP-215 one.
    if (k % 8n !== 0n) assert.equal(nativeSays(sig, msg, A2), false);
    checked++;
  }
});

Deno.test("ed25519 verify: native never accepts what noble ZIP-215 rejects (random junk)", async () => {
  const seed = rand(32);
  const pub = ed25519.getPublicKey(seed);
  for (let i = 0; i < 50; i++) {
    const msg = rand(8);
    const sig = i % 2 ? rand(64) : ed25519.sign(msg, seed);
    if (i % 3 === 0) sig[63] |= 0xf0; // S far above L
    const want = verifyZip215Noble(sig, msg, pub);
    assert.equal(await verifyEd25519(sig, msg, pub), want);
    if (nativeSays(sig, msg, pub)) assert.equal(want, true);
  }
});

Deno.test("hkdf: the native HKDF-SHA256 equals noble's for random inputs and lengths", () => {
  for (let i = 0; i < 50; i++) {
    const ikm = rand(1 + Math.floor(Math.random() * 64));
    const len = 1 + Math.floor(Math.random() * 128);
    assert.equal(hex(hkdfSha256(ikm, len)), hex(hkdfSha256Noble(ikm, len)), `len ${len}`);
  }
});
