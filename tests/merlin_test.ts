import assert from "node:assert/strict";

const assertEquals: <T>(a: unknown, b: T) => void = (a, b) => assert.deepStrictEqual(a, b);
import { Strobe128, Transcript } from "../p2p/conn/merlin.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const enc = new TextEncoder();

Deno.test("merlin: simple transcript KAT", () => {
  const t = new Transcript("test protocol");
  t.appendMessage("some label", "some data");
  assertEquals(
    hex(t.extractBytes("challenge", 32)),
    "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615",
  );
});

Deno.test("merlin: complex transcript KAT (crosses STROBE blocks)", () => {
  const t = new Transcript("test protocol");
  t.appendMessage("step1", "some data");
  const data = new Uint8Array(1024).fill(0x63);
  let c: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 32; i++) {
    c = t.extractBytes("challenge", 32);
    t.appendMessage("bigdata", data);
    t.appendMessage("challengedata", c);
  }
  assertEquals(hex(c), "a8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c");
});

Deno.test("strobe: sanity KAT incl. KEY and clone", () => {
  const s = new Strobe128("test-strobe-sanity");
  const d = new Uint8Array(1024);
  for (let i = 0; i < d.length; i++) d[i] = i & 0xff;
  s.metaAD(d);
  s.key(enc.encode("test-strobe-sanity-key"));
  const s2 = s.clone();
  s.ad(d);
  s.ad(d, true);
  assertEquals(
    hex(s.prf(64)),
    "c4728cdd0361684d643a44221d16dc4677c62ed74a7f103635bd9cb6f3cc11bd" +
      "d8405b105cd7de36f800dda96ea52c6adab88225c44faba4281dcdf84b2f3454",
  );
  assertEquals(hex(s2.prf(16)), "16671f5f3603853adaf55614387d5604");
});

Deno.test("strobe: continuing an operation with different flags throws", () => {
  const s = new Strobe128("x");
  s.metaAD(enc.encode("a"));
  assert.throws(() => s.ad(enc.encode("b"), true));
});

Deno.test("merlin: challenge of the SecretConnection vector", async () => {
  const v = JSON.parse(
    await Deno.readTextFile(
      new URL("./fixtures/vectors/secret-connection-handshake.json", import.meta.url),
    ),
  );
  const unhex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
  const t = new Transcript("TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH");
  t.appendMessage("EPHEMERAL_LOWER_PUBLIC_KEY", unhex(v.shared.lo_eph_pub));
  t.appendMessage("EPHEMERAL_UPPER_PUBLIC_KEY", unhex(v.shared.hi_eph_pub));
  t.appendMessage("DH_SECRET", unhex(v.shared.dh_secret));
  assertEquals(hex(t.extractBytes("SECRET_CONNECTION_MAC", 32)), v.shared.challenge);
});

Deno.test("merlin: a cloned transcript matches a fresh one and stays independent", async () => {
  const { computeChallenge } = await import("../p2p/conn/secret_handshake.ts");
  const base = new Transcript("test protocol");
  const a = base.clone();
  const b = base.clone();
  a.appendMessage("some label", "some data");
  // b diverges from a; neither may disturb the other or the base.
  b.appendMessage("other label", "other data");
  assertEquals(
    hex(a.extractBytes("challenge", 32)),
    "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615",
  );
  base.appendMessage("some label", "some data");
  assertEquals(
    hex(base.extractBytes("challenge", 32)),
    "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615",
  );
  // The handshake's cached start gives the same challenge on every call.
  const lo = new Uint8Array(32).fill(1);
  const hi = new Uint8Array(32).fill(2);
  const dh = new Uint8Array(32).fill(3);
  const t = new Transcript("TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH");
  t.appendMessage("EPHEMERAL_LOWER_PUBLIC_KEY", lo);
  t.appendMessage("EPHEMERAL_UPPER_PUBLIC_KEY", hi);
  t.appendMessage("DH_SECRET", dh);
  const want = hex(t.extractBytes("SECRET_CONNECTION_MAC", 32));
  assertEquals(hex(computeChallenge(lo, hi, dh)), want);
  assertEquals(hex(computeChallenge(lo, hi, dh)), want);
});
