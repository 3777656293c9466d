/**
 * PEX reactor tests over loopback: wire encodings (Go vectors), abuse handling with a scripted
 * peer (request flood, unsolicited and malformed PexAddrs → disconnect + typed ban), the
 * request/answer exchange, start failure without seeds, and the deny-list hooks.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./util/assert.ts";
import { deadAddress, makePexNode, stopAll, until } from "./util/pex_harness.ts";
import { encode } from "../p2p/proto.ts";
import { PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";
import { DenyList, DenyListEntryError } from "../p2p/pex/deny_list.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("wire: PexRequest and PexAddrs encode as CometBFT's (spec §8.1 vectors)", () => {
  assertEquals(hex(encode(PEX_MESSAGE, { pex_request: {} })), "0a00");
  assertEquals(
    hex(encode(PEX_MESSAGE, { pex_addrs: { addrs: [{ id: "1", ip: "127.0.0.1", port: 9090 }] } })),
    "1213" + "0a11" + "0a0131" + "1209" + "3132372e302e302e31" + "188247",
  );
  assertEquals(hex(encode(PEX_MESSAGE, { pex_addrs: { addrs: [] } })), "1200");
});

Deno.test("request flood: two requests answered, the third within period/3 → disconnect + ban request_flood", async () => {
  const a = await makePexNode({ name: "a", pex: { ensurePeersPeriodMs: 30_000 } });
  const b = await makePexNode({ name: "b", script: true });
  try {
    await b.sw.dialPeerWithAddress(a.addr);
    // A learns B's self-reported address from the inbound connection: the ban needs it in the book.
    await until(() => a.book.hasAddress(b.addr), "A stores inbound B");
    const peer = b.script!.added[0];
    for (let i = 0; i < 2; i++) {
      await b.script!.request(peer);
      await until(() => b.script!.of("pex_addrs").length === i + 1, `answer ${i + 1}`);
    }
    await b.script!.request(peer);
    await until(() => b.script!.removed.length === 1, "A disconnects B");
    assertEquals(b.script!.of("pex_addrs").length, 2);
    assertEquals(a.book.banInfo(b.key.id)?.reason, "request_flood");
    assert(!a.book.hasAddress(b.addr), "banned entry left the buckets");
  } finally {
    await stopAll(b, a);
  }
});

Deno.test("requests spaced by period/3 are all answered", async () => {
  const a = await makePexNode({ name: "a", pex: { ensurePeersPeriodMs: 300 } });
  const b = await makePexNode({ name: "b", script: true });
  try {
    await b.sw.dialPeerWithAddress(a.addr);
    const peer = b.script!.added[0];
    for (let i = 0; i < 4; i++) {
      await b.script!.request(peer);
      await until(() => b.script!.of("pex_addrs").length === i + 1, `answer ${i + 1}`);
      await new Promise((r) => setTimeout(r, 120));
    }
    assertEquals(b.script!.removed.length, 0);
    assertEquals(a.book.banInfo(b.key.id), undefined);
  } finally {
    await stopAll(b, a);
  }
});

Deno.test("unsolicited PexAddrs → disconnect + ban unsolicited_addrs; nothing stored", async () => {
  const a = await makePexNode({ name: "a" });
  const b = await makePexNode({ name: "b", script: true });
  try {
    await b.sw.dialPeerWithAddress(a.addr);
    await until(() => a.book.hasAddress(b.addr), "A stores inbound B");
    const gossip = deadAddress();
    await b.script!.addrs(b.script!.added[0], [gossip.toProto()]);
    await until(() => b.script!.removed.length === 1, "A disconnects B");
    assertEquals(a.book.banInfo(b.key.id)?.reason, "unsolicited_addrs");
    assert(!a.book.hasAddress(gossip), "unsolicited address not stored");
  } finally {
    await stopAll(b, a);
  }
});

Deno.test("PexAddrs with an undecodable address → disconnect + ban malformed_addrs", async () => {
  const a = await makePexNode({ name: "a" });
  const b = await makePexNode({ name: "b", script: true });
  try {
    await b.sw.dialPeerWithAddress(a.addr);
    await until(() => a.book.hasAddress(b.addr), "A stores inbound B");
    await b.script!.addrs(b.script!.added[0], [{ id: b.key.id, ip: "not-an-ip", port: 1 }]);
    await until(() => b.script!.removed.length === 1, "A disconnects B");
    assertEquals(a.book.banInfo(b.key.id)?.reason, "malformed_addrs");
  } finally {
    await stopAll(b, a);
  }
});

Deno.test("outbound peer: A asks at once, stores the answer with the peer as source; a second answer is unsolicited", async () => {
  const b = await makePexNode({ name: "b", script: true });
  const a = await makePexNode({ name: "a", pex: { ensurePeersPeriodMs: 60_000 } });
  try {
    await a.sw.dialPeerWithAddress(b.addr);
    await until(() => b.script!.of("pex_request").length === 1, "B receives a PexRequest");
    const peer = b.script!.received[0].peer;
    const gossip = [deadAddress(), deadAddress()];
    await b.script!.addrs(peer, gossip.map((g) => g.toProto()));
    await until(() => gossip.every((g) => a.book.hasAddress(g)), "A stores the answer");
    const src = a.book.listOfKnownAddresses().find((k) => k.id === gossip[0].id)!.src;
    assertEquals(src.toString(), b.addr.toString());
    // Only one request was outstanding: a second PexAddrs is a protocol violation.
    await b.script!.addrs(peer, []);
    await until(() => b.script!.removed.length === 1, "A disconnects B");
    assertEquals(b.script!.of("pex_request").length, 1);
  } finally {
    await stopAll(a, b);
  }
});

Deno.test("start fails when seeds are configured, none resolves and the book is empty", async () => {
  const seed = `${NodeKey.generate().id}@seed.invalid:26656`;
  const a = await makePexNode({
    name: "a",
    start: false,
    pex: { seeds: [seed], lookup: () => Promise.reject(new Error("no such host")) },
  });
  try {
    const err = await assertRejects(() => a.sw.start());
    assertStringIncludes(String(err), "address book is empty and couldn't resolve any seed nodes");
  } finally {
    await a.stop();
  }
});

Deno.test("start fails on a malformed seed entry", async () => {
  const a = await makePexNode({ name: "a", start: false, pex: { seeds: ["not-an-address"] } });
  try {
    const err = await assertRejects(() => a.sw.start());
    assertStringIncludes(String(err), "seed node configuration has error");
  } finally {
    await a.stop();
  }
});

Deno.test("ensure-peers dials book addresses up to max_num_outbound_peers, never more", async () => {
  const targets = await Promise.all([0, 1, 2, 3].map((i) => makePexNode({ name: `t${i}` })));
  const a = await makePexNode({
    name: "a",
    start: false,
    config: { maxNumOutboundPeers: 2 },
    pex: { ensurePeersPeriodMs: 150 },
  });
  for (const t of targets) a.book.addAddress(t.addr, a.addr);
  await a.sw.start();
  try {
    let maxSeen = 0;
    await until(() => {
      const { outbound, dialing } = a.sw.numPeers();
      maxSeen = Math.max(maxSeen, outbound + dialing);
      return outbound === 2;
    }, "two outbound peers");
    // Several more rounds: the count stays at the cap.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 60));
      const { outbound, dialing } = a.sw.numPeers();
      maxSeen = Math.max(maxSeen, outbound + dialing);
    }
    assertEquals(maxSeen, 2);
  } finally {
    await stopAll(a, ...targets);
  }
});

Deno.test("dial backoff: a failed address counts attempts and is not redialed inside its backoff", async () => {
  const dead = deadAddress();
  const a = await makePexNode({ name: "a", start: false, pex: { ensurePeersPeriodMs: 100 } });
  a.book.addAddress(dead, a.addr);
  await a.sw.start();
  try {
    await until(() => a.pex!.attemptsToDial(dead) === 1, "first failure recorded");
    // Backoff after one failure is 2 s + jitter; ten rounds of 100 ms must not redial.
    await new Promise((r) => setTimeout(r, 1000));
    assertEquals(a.pex!.attemptsToDial(dead), 1);
    assertEquals(a.book.listOfKnownAddresses().find((k) => k.id === dead.id)?.attempts, 1);
  } finally {
    await a.stop();
  }
});

Deno.test("deny-list: parsing of IDs, IPs and CIDRs; bad entries rejected", () => {
  const id = NodeKey.generate().id;
  const d = new DenyList([id, "10.1.2.3", "192.168.0.0/16", "fe80::/10"]);
  assert(d.deniesId(id));
  assertEquals(d.deniesIP("10.1.2.3"), "10.1.2.3");
  assertEquals(d.deniesIP("10.1.2.4"), undefined);
  assertEquals(d.deniesIP("192.168.44.1"), "192.168.0.0/16");
  assertEquals(d.deniesIP("fe80::1"), "fe80::/10");
  assert(d.deniesAddress(NetAddress.fromIPPort("1.2.3.4", 1, id)) !== undefined);
  assert(d.deniesAddress(NetAddress.fromIPPort("1.2.3.4", 1, NodeKey.generate().id)) === undefined);
  let threw = false;
  try {
    new DenyList(["example.com"]);
  } catch (e) {
    threw = e instanceof DenyListEntryError;
  }
  assert(threw, "a hostname is not a valid entry");
});

Deno.test("deny-list: a denied IP is refused before the handshake, a denied ID after it", async () => {
  const byIp = new DenyList(["127.0.0.0/8"]);
  const a = await makePexNode({ name: "a", transport: { connFilter: byIp.connFilter } });
  const b = await makePexNode({ name: "b" });
  const c = await makePexNode({ name: "c" });
  const byId = new DenyList([c.key.id]);
  const d = await makePexNode({ name: "d", peerFilters: [byId.peerFilter] });
  try {
    // Inbound socket from a denied IP: closed by the filter, B's handshake fails.
    await assertRejects(() => b.sw.dialPeerWithAddress(a.addr));
    // Outbound to a denied IP: refused before any crypto.
    const err = await assertRejects(() => a.sw.dialPeerWithAddress(b.addr));
    assertStringIncludes(String(err), "deny-listed");
    // Denied ID: the handshake completes, then the peer filter refuses it.
    try {
      await c.sw.dialPeerWithAddress(d.addr);
    } catch {
      // C may see the refusal as a failed dial or as a peer that drops at once.
    }
    await until(() => d.sw.peers().size === 0 && c.sw.peers().size === 0, "no C–D peering");
    assert(!d.sw.peers().has(c.key.id));
    // PEX never stores a deny-listed address.
    const pexDeny = await makePexNode({ name: "e", pex: { denyList: byId } });
    try {
      await c.sw.dialPeerWithAddress(pexDeny.addr);
      await until(() => pexDeny.sw.peers().has(c.key.id), "E accepts C");
      await new Promise((r) => setTimeout(r, 100));
      assert(!pexDeny.book.hasAddress(c.addr), "deny-listed address not stored");
    } finally {
      await pexDeny.stop();
    }
  } finally {
    await stopAll(a, b, c, d);
  }
});
