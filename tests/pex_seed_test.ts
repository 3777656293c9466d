/**
 * Seed mode over loopback: a seed answers one PexRequest from verified-live addresses only and
 * disconnects; dead addresses are never served and expire; a node on another network is banned
 * with a typed reason; the crawler learns from the book's addresses and hangs up.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { deadAddress, makePexNode, stopAll, until } from "./util/pex_harness.ts";
import { NodeKey } from "../p2p/key.ts";
import type { SeedModeConfig } from "../p2p/pex/pex_reactor.ts";

const FAST_SEED: Partial<SeedModeConfig> = {
  disconnectWaitMs: 100,
  crawlPeriodMs: 60_000,
  verifyScanIntervalMs: 50,
  verifyRate: 0,
};

Deno.test("seed: answers the first PexRequest only, with verified-live addresses, then disconnects", async () => {
  const live = await makePexNode({ name: "live" });
  const dead = deadAddress();
  const seed = await makePexNode({
    name: "seed",
    start: false,
    pex: { seedMode: true, seed: FAST_SEED },
  });
  seed.book.addAddress(live.addr, seed.addr);
  seed.book.addAddress(dead, seed.addr);
  await seed.sw.start();
  const client = await makePexNode({ name: "client", script: true });
  try {
    const v = seed.pex!.verifier!;
    await until(() => v.isLive(live.key.id), "live address verified");
    await until(() => v.record(dead.id)?.state === "dead", "dead address checked");
    await client.sw.dialPeerWithAddress(seed.addr);
    const peer = client.script!.added[0];
    await client.script!.request(peer);
    await client.script!.request(peer);
    // The seed may also verify the client's own listen address with a probe of its own once
    // the client is gone (a second, short-lived peer on the client): look for the dialed one.
    const dropped = () => client.script!.removed.filter((r) => r.peer === peer);
    await until(() => dropped().length === 1, "seed disconnects the client");
    const answers = client.script!.of("pex_addrs");
    assertEquals(answers.length, 1, "one answer only");
    const served = answers[0].addrs.map((a) => a.toString());
    assert(served.includes(live.addr.toString()), "live address served");
    assert(!served.includes(dead.toString()), "dead address never served");
    assertEquals(dropped()[0].reason.kind, "connection_error");
  } finally {
    await stopAll(client, seed, live);
  }
});

Deno.test("seed: an unverified address is not served until verification succeeds", async () => {
  // Verification is held back until the test releases it.
  const gate = Promise.withResolvers<void>();
  const live = await makePexNode({ name: "live" });
  const seed = await makePexNode({
    name: "seed",
    start: false,
    pex: {
      seedMode: true,
      seed: FAST_SEED,
      verifyDial: async (addr, signal) => {
        await gate.promise;
        signal.throwIfAborted();
        if (addr.id !== live.key.id) throw new Error("unreachable");
      },
    },
  });
  // Added after start: the crawler's first round (at start) would otherwise dial it, and a
  // crawl connection counts as a verification too.
  await seed.sw.start();
  seed.book.addAddress(live.addr, seed.addr);
  const c1 = await makePexNode({ name: "c1", script: true });
  const c2 = await makePexNode({ name: "c2", script: true });
  try {
    await c1.sw.dialPeerWithAddress(seed.addr);
    await c1.script!.request(c1.script!.added[0]);
    await until(() => c1.script!.of("pex_addrs").length === 1, "first answer");
    assertEquals(c1.script!.of("pex_addrs")[0].addrs.length, 0, "nothing verified yet");
    gate.resolve();
    await until(() => seed.pex!.verifier!.isLive(live.key.id), "verified");
    await c2.sw.dialPeerWithAddress(seed.addr);
    await c2.script!.request(c2.script!.added[0]);
    await until(() => c2.script!.of("pex_addrs").length === 1, "second answer");
    const served = c2.script!.of("pex_addrs")[0].addrs.map((a) => a.toString());
    assert(served.includes(live.addr.toString()), "verified address served");
  } finally {
    gate.resolve();
    await stopAll(c1, c2, seed, live);
  }
});

Deno.test("seed: an address dead past address_expiry leaves the book; a live one stays", async () => {
  const live = await makePexNode({ name: "live" });
  const dead = deadAddress();
  const seed = await makePexNode({
    name: "seed",
    start: false,
    pex: {
      seedMode: true,
      seed: { ...FAST_SEED, recheckPeriodMs: 100, addressExpiryMs: 400 },
    },
  });
  seed.book.addAddress(live.addr, seed.addr);
  seed.book.addAddress(dead, seed.addr);
  await seed.sw.start();
  try {
    await until(() => seed.pex!.verifier!.record(dead.id)?.state === "dead", "dead detected");
    assert(seed.book.hasAddress(dead), "not expired after the first failure");
    await until(() => !seed.book.hasAddress(dead), "dead address expired");
    assert(seed.book.hasAddress(live.addr), "live address kept");
    assert(seed.pex!.verifier!.isLive(live.key.id));
    assertEquals(seed.pex!.verifier!.record(dead.id), undefined, "verification record dropped");
  } finally {
    await stopAll(seed, live);
  }
});

Deno.test("seed: a node on another network is banned incompatible_network", async () => {
  const other = await makePexNode({ name: "other", network: "another-chain" });
  const seed = await makePexNode({
    name: "seed",
    start: false,
    pex: { seedMode: true, seed: FAST_SEED },
  });
  seed.book.addAddress(other.addr, seed.addr);
  await seed.sw.start();
  try {
    await until(() => seed.book.isBanned(other.addr), "banned");
    assertEquals(seed.book.banInfo(other.key.id)?.reason, "incompatible_network");
  } finally {
    await stopAll(seed, other);
  }
});

Deno.test("seed: an address whose key does not match its ID is banned bad_handshake", async () => {
  const impostor = await makePexNode({ name: "impostor" });
  const seed = await makePexNode({
    name: "seed",
    start: false,
    pex: { seedMode: true, seed: FAST_SEED },
  });
  // Claimed ID ≠ the key that answers at that address.
  const claimed = impostor.addr.withId(NodeKey.generate().id);
  seed.book.addAddress(claimed, seed.addr);
  await seed.sw.start();
  try {
    await until(() => seed.book.isBanned(claimed), "banned");
    assertEquals(seed.book.banInfo(claimed.id)?.reason, "bad_handshake");
  } finally {
    await stopAll(seed, impostor);
  }
});

Deno.test("seed: the crawler asks book addresses for theirs, stores them, and hangs up", async () => {
  const gossiped = [deadAddress(), deadAddress()];
  const p = await makePexNode({ name: "p", start: false });
  for (const g of gossiped) p.book.addAddress(g, p.addr);
  await p.sw.start();
  const seed = await makePexNode({
    name: "seed",
    start: false,
    pex: { seedMode: true, seed: { ...FAST_SEED, crawlPeriodMs: 100 } },
  });
  seed.book.addAddress(p.addr, seed.addr);
  await seed.sw.start();
  try {
    await until(() => gossiped.every((g) => seed.book.hasAddress(g)), "seed learnt P's addresses");
    await until(() => !seed.sw.peers().has(p.key.id), "seed hung up on P");
    assert(seed.pex!.verifier!.isLive(p.key.id), "a crawled connection counts as verified");
  } finally {
    await stopAll(seed, p);
  }
});
