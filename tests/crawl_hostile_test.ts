/**
 * The crawler attacked the way a stranger on the network would: hostile nodes (scripted with
 * `util/hostile_pex.ts`) answering PexAddrs with floods of made-up IDs, other nodes' ports,
 * duplicates, self and unspecified addresses and non-loopback hosts; unsolicited PexAddrs and
 * PexRequests back; NodeInfos with huge or odd fields. For each: the crawl completes, the failure
 * reasons are right, the node table stays bounded, and the NDJSON, SQLite and map outputs stay
 * valid. Non-loopback addresses are never dialed: `SWITCHYARD_LOOPBACK_ONLY=1` (required here)
 * refuses them and the crawl records them as `not_dialed`.
 *
 * Handshake faults (stalls, trickles, resets per phase) are in `crawl_faults_test.ts`.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { NodeKey } from "../p2p/key.ts";
import { encodeNodeInfo, makeNodeInfo } from "../p2p/node_info.ts";
import { LOOPBACK_ONLY } from "../p2p/upgrade.ts";
import { MAX_GET_SELECTION } from "../p2p/pex/addrbook_select.ts";
import { crawl, type CrawlResult, MAX_IDS_PER_ADDRESS } from "../crawler/crawl.ts";
import { formatSummary, nodeLine, summarize } from "../crawler/summary.ts";
import { mapData, renderMapPage } from "../crawler/html.ts";
import { bestPeers, verifiedAddrBook } from "../crawler/outputs.ts";
import { CrawlStore } from "../crawler/store.ts";
import type { CrawlNode } from "../crawler/types.ts";
import { startCrawlNode, stopCrawlNodes } from "./util/crawl_net.ts";
import { entryOf, madeUpEntries, startHostilePexNode } from "./util/hostile_pex.ts";

const CHAIN = "crawl-hostile";
/** Per-phase handshake deadline here: ample on loopback, short enough to bound the tests. */
const HANDSHAKE_MS = 3_000;

if (!LOOPBACK_ONLY) {
  throw new Error(
    "crawl_hostile_test.ts gossips non-loopback addresses: run with SWITCHYARD_LOOPBACK_ONLY=1",
  );
}

function byId(r: CrawlResult): Map<string, CrawlNode> {
  return new Map(r.nodes.map((n) => [n.id, n]));
}

/**
 * Every output a crawl feeds is still well-formed: each NDJSON line parses back to its node,
 * the SQLite store takes the crawl and gives every node back, the map page's embedded JSON
 * parses and holds every node, and the text summary carries no control character.
 */
async function assertOutputsValid(r: CrawlResult): Promise<void> {
  for (const n of r.nodes) {
    const line = nodeLine(n);
    assert(!line.includes("\n"), "one line per node");
    const back = JSON.parse(line);
    assertEquals(back.id, n.id);
    assertEquals(back.moniker, n.info?.moniker);
  }
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-hostile-" });
  try {
    const store = await CrawlStore.open(`${dir}/crawl.db`);
    try {
      store.saveCrawl(r);
      assertEquals(store.history().length, r.nodes.length, "every node stored");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const page = renderMapPage(r);
  const m = /<script type="application\/json" id="crawl-data">(.*?)<\/script>/s.exec(page);
  assert(m !== null, "data element present and closed once");
  assertEquals(JSON.parse(m[1]).nodes.length, r.nodes.length);
  assertEquals(mapData(r).nodes.length, r.nodes.length);
  // deno-lint-ignore no-control-regex
  assert(!/[\x00-\x08\x0b-\x1f\x7f\x9b]/.test(formatSummary(summarize(r))), "no control chars");
}

Deno.test("crawl hostile: a PexAddrs of made-up IDs, other nodes' ports, dups, self, 0.0.0.0, non-loopback", async () => {
  const honest = await startCrawlNode({ host: "127.0.5.2", network: CHAIN, moniker: "honest" });
  const crawlerKey = NodeKey.generate();
  const flood = madeUpEntries(MAX_GET_SELECTION + 50, "127.0.5.3", 40_000);
  const h = startHostilePexNode({
    host: "127.0.5.1",
    network: CHAIN,
    answer: (self) => [
      // Made-up IDs at the honest node's address, before its real entry: they must not use up
      // the address's tries so that the real node is never reached.
      ...madeUpEntries(MAX_IDS_PER_ADDRESS + 3, honest.addr.ip, honest.addr.port),
      ...Array(10).fill(entryOf(honest.addr)),
      entryOf(self),
      { id: crawlerKey.id, ip: "127.0.5.9", port: 1 },
      { id: NodeKey.generate().id, ip: "0.0.0.0", port: 26_000 },
      { id: NodeKey.generate().id, ip: "127.0.5.4", port: 0 },
      { id: "zz", ip: "127.0.5.4", port: 1 },
      { id: NodeKey.generate().id, ip: "not an ip", port: 1 },
      // Documentation ranges (RFC 5737): never routed; and refused before any connect here.
      { id: NodeKey.generate().id, ip: "192.0.2.1", port: 26_000 },
      { id: NodeKey.generate().id, ip: "203.0.113.9", port: 26_000 },
      ...flood,
    ],
  });
  try {
    const r = await crawl({
      seeds: [h.addr],
      chainId: CHAIN,
      nodeKey: crawlerKey,
      ratePerSec: 0,
      concurrency: 32,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxTimeMs: 60_000,
    });
    assertEquals(r.end, "complete");
    const nodes = byId(r);
    const hn = nodes.get(h.addr.id)!;
    assert(hn.reachable, "the hostile node itself answers the handshake");
    assertEquals(h.requests, 1, "one PexRequest");
    // Every entry but the one whose IP does not parse counts as the answer's size.
    const total = MAX_IDS_PER_ADDRESS + 3 + 10 + 1 + 1 + 1 + 1 + 1 + 2 + flood.length;
    assertEquals(hn.pexAddrs, total, "the answer's size is recorded whole");
    assert(!nodes.has("zz"), "an entry with a malformed ID is not a node");

    // The honest node is found and reached at its one address despite the fakes there.
    const hon = nodes.get(honest.key.id)!;
    assert(hon.reachable, `honest node reached (${JSON.stringify(hon.addrs)})`);
    assertEquals(hon.addrs.length, 1, "duplicates collapse to one address");
    const fakesAtHonest = r.nodes.filter((n) =>
      n.id !== honest.key.id && n.addrs.some((a) => a.addr === honest.addr.dialString())
    );
    const dialedFakes = fakesAtHonest.filter((n) => n.addrs[0].state !== "untried");
    assert(dialedFakes.length <= MAX_IDS_PER_ADDRESS, `fakes dialed: ${dialedFakes.length}`);
    assert(dialedFakes.every((n) => n.failure === "id_mismatch"));

    // Non-loopback hosts: recorded, never dialed, and said so.
    for (const ip of ["192.0.2.1", "203.0.113.9"]) {
      const n = r.nodes.find((x) => x.addrs.some((a) => a.addr.startsWith(`${ip}:`)));
      assert(n !== undefined, `${ip} recorded`);
      assertEquals(n.failure, "not_dialed");
      assertEquals(n.addrs[0].reason, "not_dialed");
      assert(n.addrs[0].error!.includes("SWITCHYARD_LOOPBACK_ONLY"), n.addrs[0].error);
    }
    // Ourselves, 0.0.0.0, port 0 and undecodable entries are not nodes at all.
    assert(!nodes.has(crawlerKey.id), "our own ID is not crawled");
    assert(!r.nodes.some((n) => n.addrs.some((a) => a.addr.startsWith("0.0.0.0:"))));
    assert(!r.nodes.some((n) => n.addrs.some((a) => a.addr.endsWith(":0"))));
    // The flood is cut at what an honest node may send (MAX_GET_SELECTION per answer): the node
    // table is bounded by it, whatever the answer's length.
    const fromH = r.nodes.filter((n) => n.gossipedBy.includes(h.addr.id));
    assert(fromH.length <= MAX_GET_SELECTION, `learned from one answer: ${fromH.length}`);
    assert(r.nodes.length <= MAX_GET_SELECTION + 1, `node table: ${r.nodes.length}`);
    assert(!r.edges.some(([a, b]) => a === b), "no self edge");
    // What operators publish holds the two reached nodes only.
    const peers = bestPeers(r, 1_000).map((p) => p.split("@")[0]).sort();
    assertEquals(peers, [h.addr.id, honest.key.id].sort());
    assertEquals(verifiedAddrBook(r).size(), 2);
    await assertOutputsValid(r);
  } finally {
    await h.stop();
    await stopCrawlNodes([honest]);
  }
});

Deno.test("crawl hostile: the node table stops at maxNodes; the rest is counted, not crawled", async () => {
  const h = startHostilePexNode({
    host: "127.0.5.15",
    network: CHAIN,
    answer: () => madeUpEntries(200, "192.0.2.7", 10_000),
  });
  try {
    const r = await crawl({
      seeds: [h.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      maxNodes: 50,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxTimeMs: 30_000,
    });
    assertEquals(r.end, "complete");
    assertEquals(r.nodes.length, 50);
    assertEquals(r.droppedNodes, 151, "of 200 learned, 49 fit beside the seed");
    assertEquals(summarize(r).dropped, 151);
    assert(formatSummary(summarize(r)).includes("151 more IDs not recorded"));
    assertEquals(r.nodes.filter((n) => n.failure === "not_dialed").length, 49);
    await assertOutputsValid(r);
  } finally {
    await h.stop();
  }
});

Deno.test("crawl hostile: an oversized PexAddrs is refused, the node still counts as reached", async () => {
  const h = startHostilePexNode({
    host: "127.0.5.11",
    network: CHAIN,
    answer: () => madeUpEntries(3_000, "127.0.5.12", 30_000),
  });
  try {
    const r = await crawl({
      seeds: [h.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      handshakeTimeoutMs: HANDSHAKE_MS,
      answerTimeoutMs: 5_000,
      maxTimeMs: 30_000,
    });
    assertEquals(r.end, "complete");
    assertEquals(r.nodes.length, 1, "nothing of the oversized answer is learned");
    assert(r.nodes[0].reachable);
    assertEquals(r.nodes[0].pexAddrs, undefined);
    assert(/too large|exceed|capacity/i.test(r.nodes[0].pexError ?? ""), r.nodes[0].pexError);
    await assertOutputsValid(r);
  } finally {
    await h.stop();
  }
});

Deno.test("crawl hostile: unsolicited PexAddrs and two PexRequests back: one answer taken, no second request", async () => {
  const a = await startCrawlNode({ host: "127.0.5.21", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({ host: "127.0.5.22", network: CHAIN, moniker: "b" });
  const h = startHostilePexNode({
    host: "127.0.5.20",
    network: CHAIN,
    unsolicited: () => [entryOf(a.addr)],
    requestsBack: 2,
    answer: () => [entryOf(b.addr)],
  });
  try {
    const r = await crawl({
      seeds: [h.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxTimeMs: 30_000,
    });
    assertEquals(r.end, "complete");
    const nodes = byId(r);
    assert(nodes.get(h.addr.id)!.reachable);
    assertEquals(h.requests, 1, "one PexRequest, their request to us not answered by a second");
    // The first PexAddrs after our request is the answer (the unsolicited one raced ahead of
    // it); the one sent in reply to our request is a second answer and is ignored.
    assertEquals(nodes.get(h.addr.id)!.pexAddrs, 1);
    assert(nodes.get(a.key.id)?.reachable, "a learned from the first PexAddrs");
    assert(!nodes.has(b.key.id), "b, only in the second PexAddrs, is not learned");
    await assertOutputsValid(r);
  } finally {
    await h.stop();
    await stopCrawlNodes([a, b]);
  }
});

/** A DefaultNodeInfo with `moniker`/`version`/`network` as raw bytes (any UTF-8 or not). */
function rawNodeInfo(
  id: string,
  listenAddr: string,
  f: { moniker?: Uint8Array; version?: Uint8Array; network?: Uint8Array; channels?: Uint8Array },
): Uint8Array {
  // A NodeInfo without these fields (proto3 leaves empty strings out), then the fields as raw
  // length-delimited bytes: what a peer sending invalid UTF-8 or oversized values puts on the
  // wire (field numbers of tendermint.p2p.DefaultNodeInfo).
  const base = encodeNodeInfo({
    ...makeNodeInfo({ id, network: "", moniker: "", channels: [], listenAddr }),
    version: "",
  });
  const parts: Uint8Array[] = [base];
  const field = (no: number, v: Uint8Array) => {
    const head = [(no << 3) | 2];
    let n = v.length;
    while (n >= 0x80) {
      head.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    head.push(n);
    parts.push(Uint8Array.from(head), v);
  };
  const te = new TextEncoder();
  field(4, f.network ?? te.encode(CHAIN)); // network
  field(5, f.version ?? te.encode("0.38.25")); // version
  field(6, f.channels ?? Uint8Array.of(0)); // channels
  field(7, f.moniker ?? te.encode("odd")); // moniker
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

Deno.test("crawl hostile: NodeInfos with huge or odd fields: reasons right, outputs valid", async () => {
  const te = new TextEncoder();
  const badUtf8 = Uint8Array.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x62]);
  const hosts = [
    "127.0.5.31",
    "127.0.5.32",
    "127.0.5.33",
    "127.0.5.34",
    "127.0.5.35",
    "127.0.5.36",
    "127.0.5.37",
  ];
  const nodes = [
    // A 9000-character ASCII moniker: valid (Go limits the NodeInfo, not the moniker).
    startHostilePexNode({ host: hosts[0], network: CHAIN, moniker: "m".repeat(9_000) }),
    // Invalid UTF-8 in the moniker: not ASCII text, a bad handshake.
    startHostilePexNode({
      host: hosts[1],
      network: CHAIN,
      nodeInfoBytes: (id, la) => rawNodeInfo(id, la, { moniker: badUtf8 }),
    }),
    // 200 channels (Go allows 16).
    startHostilePexNode({
      host: hosts[2],
      network: CHAIN,
      nodeInfoBytes: (id, la) =>
        rawNodeInfo(id, la, { channels: Uint8Array.from({ length: 200 }, (_, i) => i) }),
    }),
    // A NodeInfo over 10240 bytes.
    startHostilePexNode({
      host: hosts[3],
      network: CHAIN,
      nodeInfoBytes: (id, la) => rawNodeInfo(id, la, { moniker: te.encode("m".repeat(12_000)) }),
    }),
    // Another chain whose name is invalid UTF-8: the NodeInfo does not decode (our proto
    // decoding checks UTF-8), a bad handshake.
    startHostilePexNode({
      host: hosts[4],
      network: CHAIN,
      nodeInfoBytes: (id, la) =>
        rawNodeInfo(id, la, { network: Uint8Array.from([...te.encode("chain"), ...badUtf8]) }),
    }),
    // Control characters in the version.
    startHostilePexNode({
      host: hosts[5],
      network: CHAIN,
      nodeInfoBytes: (id, la) => rawNodeInfo(id, la, { version: te.encode("0.38\x1b[31m\r\n") }),
    }),
    // Another chain whose (valid UTF-8) name carries terminal escapes, bidi overrides and markup.
    startHostilePexNode({
      host: hosts[6],
      network: "\x1b]0;pwned\x07\x1b[2J\u202e</script><b>x",
    }),
  ];
  try {
    const r = await crawl({
      seeds: nodes.map((n) => n.addr),
      chainId: CHAIN,
      ratePerSec: 0,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxTimeMs: 30_000,
    });
    assertEquals(r.end, "complete");
    const got = nodes.map((n) => byId(r).get(n.addr.id)!);
    assert(got[0].reachable, "long ASCII moniker is valid");
    assertEquals(got[0].info?.moniker.length, 9_000);
    assertEquals(got[1].failure, "bad_handshake");
    assertEquals(got[2].failure, "bad_handshake");
    assert(got[2].addrs[0].error!.includes("Channels is too long"), got[2].addrs[0].error);
    assertEquals(got[3].failure, "bad_handshake");
    assertEquals(got[4].failure, "bad_handshake");
    assertEquals(got[5].failure, "bad_handshake");
    assertEquals(got[6].failure, "wrong_network", got[6].addrs[0].error);
    for (const n of got) assert((n.addrs[0].error ?? "").length <= 1_024, "error text bounded");
    await assertOutputsValid(r);
    const summary = formatSummary(summarize(r));
    assert(!summary.includes("\x1b"), "no terminal escape reaches the summary");
    assert(!summary.includes("\u202e"), "no bidi override reaches the summary");
    assert(summary.includes("</script><b>x"), `the other network is listed: ${summary}`);
    const page = renderMapPage(r);
    assert(!page.includes("</script><b>"), "markup in a network name stays inert");
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

Deno.test("crawl hostile: versions and networks named like Object properties count right", async () => {
  const names = ["__proto__", "constructor", "toString"];
  const nodes = [
    ...names.map((version, i) =>
      startHostilePexNode({ host: `127.0.5.${41 + i}`, network: CHAIN, version })
    ),
    ...names.map((network, i) => startHostilePexNode({ host: `127.0.5.${51 + i}`, network })),
  ];
  try {
    const r = await crawl({
      seeds: nodes.map((n) => n.addr),
      chainId: CHAIN,
      ratePerSec: 0,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxTimeMs: 30_000,
    });
    const s = JSON.parse(JSON.stringify(summarize(r)));
    for (const name of names) {
      assertEquals(
        Object.getOwnPropertyDescriptor(s.by_version, name)?.value,
        1,
        `version ${name}`,
      );
      assertEquals(
        Object.getOwnPropertyDescriptor(s.other_networks, name)?.value,
        1,
        `network ${name}`,
      );
    }
    assertEquals(s.reached, 3);
    assertEquals(s.by_failure.wrong_network, 3);
    await assertOutputsValid(r);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

Deno.test("crawl hostile: a NodeInfo naming a host whose lookup never answers times out", async () => {
  const named = (host: string) => (id: string) =>
    encodeNodeInfo(makeNodeInfo({
      id,
      network: CHAIN,
      moniker: host,
      channels: [0],
      listenAddr: `tcp://${host}:26656`,
    }));
  const nodes = [
    startHostilePexNode({
      host: "127.0.5.61",
      network: CHAIN,
      nodeInfoBytes: named("slow.invalid"),
    }),
    startHostilePexNode({
      host: "127.0.5.62",
      network: CHAIN,
      nodeInfoBytes: named("fast.invalid"),
    }),
    startHostilePexNode({
      host: "127.0.5.63",
      network: CHAIN,
      nodeInfoBytes: named("none.invalid"),
    }),
  ];
  const asked: string[] = [];
  try {
    const r = await crawl({
      seeds: nodes.map((n) => n.addr),
      chainId: CHAIN,
      ratePerSec: 0,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxTimeMs: 30_000,
      // No real DNS in tests: the resolver is ours. One never answers, one answers at once, one
      // knows no such host.
      lookup: (host) => {
        asked.push(host);
        if (host === "slow.invalid") return new Promise(() => {});
        if (host === "fast.invalid") return Promise.resolve(["127.0.0.1"]);
        return Promise.reject(new Error(`lookup ${host}: no such host`));
      },
    });
    assertEquals(r.end, "complete");
    const got = nodes.map((n) => byId(r).get(n.addr.id)!);
    assertEquals(got[0].failure, "timeout", got[0].addrs[0].error);
    assert(got[0].addrs[0].error!.includes("slow.invalid"), got[0].addrs[0].error);
    assert(got[1].reachable, "a listen_addr host that resolves is valid");
    assertEquals(got[2].failure, "bad_handshake");
    assertEquals(asked.sort(), ["fast.invalid", "none.invalid", "slow.invalid"]);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});
