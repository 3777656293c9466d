/**
 * The seed's PexAddrs selection (`AddressVerifier.selection`) against a reference: the rule as
 * first written (walk the whole live pool in `shuffledIndices` order, fill the new and old quotas,
 * top up from the spare ones). The verifier stops early once no draw can change the answer; for
 * the same random source both must give the same addresses in the same order, over books with
 * new, old, banned, removed and deny-listed entries.
 * @module
 */
import { assertEquals } from "./util/assert.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { clampBias, selectionSize, shuffledIndices } from "../p2p/pex/addrbook_select.ts";
import { AddressVerifier } from "../p2p/pex/verifier.ts";

/** Deterministic [0,1) source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The selection rule walked over the whole pool (the reference). */
function referenceSelection(
  book: AddrBook,
  pool: readonly NetAddress[],
  biasNew: number,
  allow: (a: NetAddress) => boolean,
  random: () => number,
): NetAddress[] {
  const n = selectionSize(pool.length);
  const wantNew = Math.round(clampBias(biasNew) / 100 * n);
  const newer: NetAddress[] = [], older: NetAddress[] = [], spare: NetAddress[] = [];
  for (const idx of shuffledIndices(pool.length, random)) {
    const addr = pool[idx];
    if (!book.hasAddress(addr) || book.isBanned(addr) || !allow(addr)) continue;
    const old = book.isGood(addr);
    if (!old && newer.length < wantNew) newer.push(addr);
    else if (old && older.length < n - wantNew) older.push(addr);
    else spare.push(addr);
    if (newer.length + older.length >= n) break;
  }
  const picked = [...newer, ...older];
  for (const a of spare) {
    if (picked.length >= n) break;
    picked.push(a);
  }
  return picked;
}

interface Scenario {
  size: number;
  oldEvery: number;
  bannedEvery: number;
  removedEvery: number;
  deniedEvery: number;
}

function run(s: Scenario, trials: number): void {
  const book = new AddrBook({ routabilityStrict: false, random: seeded(s.size) });
  let draw: () => number = Math.random;
  const verifier = new AddressVerifier({
    book,
    dial: () => Promise.resolve(),
    isConnected: () => false,
    workers: 1,
    ratePerSec: 0,
    recheckPeriodMs: 60_000,
    addressExpiryMs: 60_000,
    banTimeMs: 60_000,
    random: () => draw(),
  });
  const addrs: NetAddress[] = [];
  for (let i = 0; i < s.size; i++) {
    const a = NetAddress.fromIPPort(`127.${i & 0xff}.${i >> 8}.1`, 26656, NodeKey.generate().id);
    book.addAddress(a, a);
    addrs.push(a);
  }
  // The live pool, in the verifier's order (markLive appends).
  for (const a of addrs) verifier.markLive(a);
  addrs.forEach((a, i) => {
    if (s.oldEvery && i % s.oldEvery === 1) book.markGood(a.id);
    if (s.bannedEvery && i % s.bannedEvery === 2) book.markBad(a, 60_000);
    if (s.removedEvery && i % s.removedEvery === 3) book.removeAddress(a);
  });
  const denied = new Set(addrs.filter((_, i) => s.deniedEvery && i % s.deniedEvery === 4));
  const allow = (a: NetAddress) => !denied.has(a);
  for (let t = 0; t < trials; t++) {
    for (const bias of [0, 30, 100]) {
      draw = seeded(1000 * t + bias);
      const got = verifier.selection(bias, allow);
      const want = referenceSelection(book, addrs, bias, allow, seeded(1000 * t + bias));
      assertEquals(got.map(String), want.map(String), `trial ${t} bias ${bias}`);
    }
  }
}

Deno.test("seed selection: all new (a seed's usual book) matches the whole-pool walk", () => {
  run({ size: 1000, oldEvery: 0, bannedEvery: 0, removedEvery: 0, deniedEvery: 0 }, 20);
});

Deno.test("seed selection: few old, some banned, removed and denied", () => {
  run({ size: 600, oldEvery: 97, bannedEvery: 13, removedEvery: 17, deniedEvery: 11 }, 20);
});

Deno.test("seed selection: half old", () => {
  run({ size: 400, oldEvery: 2, bannedEvery: 0, removedEvery: 29, deniedEvery: 7 }, 20);
});

Deno.test("seed selection: mostly old, small pool", () => {
  run({ size: 40, oldEvery: 0, bannedEvery: 5, removedEvery: 0, deniedEvery: 0 }, 20);
  run({ size: 50, oldEvery: 1, bannedEvery: 0, removedEvery: 0, deniedEvery: 3 }, 20);
});
