/**
 * The crawl engine against a loopback network of in-process switchyard nodes on distinct
 * 127.0.0.x hosts, with an address nobody listens on, a node on another chain, an address
 * gossiped with the wrong ID, a listener that speaks garbage and one that never speaks: every
 * node found, the edges and the failure reasons right, each address tried once, one PexRequest
 * per node, and the outputs (addrbook, peers line, history, map data) built from it.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { crawl, MAX_IDS_PER_ADDRESS, PexPacer } from "../crawler/crawl.ts";
import { classifyFailure, type CrawlNode } from "../crawler/types.ts";
import {
  AuthSigError,
  DialFailedError,
  HandshakeTimeoutError,
  IdMismatchError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
} from "../p2p/errors.ts";
import { summarize } from "../crawler/summary.ts";
import { bestPeers, verifiedAddrBook } from "../crawler/outputs.ts";
import { decodeAddrBookJSON, encodeAddrBookJSON } from "../p2p/pex/addrbook_file.ts";
import { mapData, renderMapPage } from "../crawler/html.ts";
import { CrawlStore } from "../crawler/store.ts";
import {
  type CrawlTestNode,
  deadAddressOn,
  startCrawlNode,
  stopCrawlNodes,
  teach,
} from "./util/crawl_net.ts";

const CHAIN = "crawl-test";
/**
 * Handshake phase timeout in these crawls: what ends the probe of the silent listener, and
 * ample for a loopback handshake even on a loaded machine.
 */
const SILENT_TIMEOUT_MS = 2_500;

/** A listener on `host` that answers every connection with garbage and closes it. */
function garbageListener(host: string): { addr: NetAddress; close(): Promise<void> } {
  const l = Deno.listen({ hostname: host, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const loop = (async () => {
    for await (const c of l) {
      await c.write(new Uint8Array(64).fill(0xff)).catch(() => 0);
      c.close();
    }
  })().catch(() => {});
  return {
    addr: NetAddress.fromIPPort(host, port, NodeKey.generate().id),
    close: async () => {
      l.close();
      await loop;
    },
  };
}

/** A listener on `host` that accepts and never sends a byte (closed by `close`). */
function silentListener(host: string): { addr: NetAddress; close(): Promise<void> } {
  const l = Deno.listen({ hostname: host, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const loop = (async () => {
    for await (const c of l) conns.push(c);
  })().catch(() => {});
  return {
    addr: NetAddress.fromIPPort(host, port, NodeKey.generate().id),
    close: async () => {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed by the peer */ }
      }
      await loop;
    },
  };
}

interface Net {
  s: CrawlTestNode;
  a: CrawlTestNode;
  b: CrawlTestNode;
  c: CrawlTestNode;
  w: CrawlTestNode;
  dead: NetAddress;
  mismatch: NetAddress;
  garbage: ReturnType<typeof garbageListener>;
  silent: ReturnType<typeof silentListener>;
  stop(): Promise<void>;
}

async function startNet(): Promise<Net> {
  const s = await startCrawlNode({ host: "127.0.0.2", network: CHAIN, moniker: "s" });
  const a = await startCrawlNode({ host: "127.0.0.3", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({
    host: "127.0.0.4",
    network: CHAIN,
    moniker: "b",
    version: "0.38.24",
  });
  const c = await startCrawlNode({ host: "127.0.0.5", network: CHAIN, moniker: "c" });
  const w = await startCrawlNode({ host: "127.0.0.8", network: "other-chain", moniker: "w" });
  const dead = deadAddressOn("127.0.0.6");
  // C's host and port under an ID that is not C's.
  const mismatch = NetAddress.fromIPPort(c.addr.ip, c.addr.port, NodeKey.generate().id);
  const garbage = garbageListener("127.0.0.7");
  const silent = silentListener("127.0.0.9");
  teach(s, a.addr, b.addr);
  teach(a, b.addr, c.addr, dead);
  teach(b, a.addr, w.addr, mismatch);
  teach(c, garbage.addr, silent.addr);
  return {
    s,
    a,
    b,
    c,
    w,
    dead,
    mismatch,
    garbage,
    silent,
    stop: async () => {
      await stopCrawlNodes([s, a, b, c, w]);
      await garbage.close();
      await silent.close();
    },
  };
}

function byId(nodes: CrawlNode[]): Map<string, CrawlNode> {
  return new Map(nodes.map((n) => [n.id, n]));
}

Deno.test("crawl: loopback network: every node found, edges and failure reasons right", async () => {
  const net = await startNet();
  try {
    const emitted: string[] = [];
    const lastReport = new Map<string, string>();
    const pex: string[] = [];
    const r = await crawl({
      seeds: [net.s.addr],
      chainId: CHAIN,
      concurrency: 4,
      ratePerSec: 0,
      handshakeTimeoutMs: SILENT_TIMEOUT_MS,
      answerTimeoutMs: 3000,
      onNode: (n) => {
        emitted.push(n.id);
        lastReport.set(n.id, JSON.stringify(n));
      },
      onPex: (from) => pex.push(from),
    });
    assertEquals(r.end, "complete");
    const nodes = byId(r.nodes);
    const expectReached = [net.s, net.a, net.b, net.c];
    for (const n of expectReached) {
      const got = nodes.get(n.key.id);
      assert(got, `node ${n.moniker} found`);
      assert(got.reachable, `node ${n.moniker} reachable`);
      assertEquals(got.info?.moniker, n.moniker);
      assertEquals(got.info?.version, n.version);
      assertEquals(got.info?.network, CHAIN);
      assertEquals(got.info?.channels, "00");
      assertEquals(got.addrs.map((x) => x.addr), [n.addr.dialString()]);
      assert((got.latencyMs ?? -1) >= 0, "latency recorded");
    }
    const failures: [NetAddress, string][] = [
      [net.dead, "refused"],
      [net.w.addr, "wrong_network"],
      [net.mismatch, "id_mismatch"],
      [net.garbage.addr, "bad_handshake"],
      [net.silent.addr, "timeout"],
    ];
    for (const [addr, reason] of failures) {
      const got = nodes.get(addr.id);
      assert(got, `node ${addr} found`);
      assertEquals(got.reachable, false);
      assertEquals(got.failure, reason, `failure of ${addr}`);
      assertEquals(got.addrs[0].state, "failed");
    }
    // The wrong-chain node's NodeInfo is kept: its network shows in the summary.
    assertEquals(nodes.get(net.w.key.id)?.info?.network, "other-chain");
    assertEquals(r.nodes.length, 9);

    const edge = (x: { id: string }, y: { id: string }) => `${x.id}>${y.id}`;
    const k = (n: CrawlTestNode) => n.key;
    const want = [
      edge(k(net.s), k(net.a)),
      edge(k(net.s), k(net.b)),
      edge(k(net.a), k(net.b)),
      edge(k(net.a), k(net.c)),
      edge(k(net.a), net.dead),
      edge(k(net.b), k(net.a)),
      edge(k(net.b), k(net.w)),
      edge(k(net.b), net.mismatch),
      edge(k(net.c), net.garbage.addr),
      edge(k(net.c), net.silent.addr),
    ].sort();
    assertEquals(r.edges.map(([f, t]) => `${f}>${t}`).sort(), want);
    assertEquals(
      [...nodes.get(net.b.key.id)!.gossipedBy].sort(),
      [net.s.key.id, net.a.key.id].sort(),
    );
    assertEquals(nodes.get(net.s.key.id)?.gossipedBy, ["seed"]);

    // One PexRequest per reachable node; every node reported, its last report its final state.
    assertEquals(pex.sort(), expectReached.map((n) => n.key.id).sort());
    assertEquals(new Set(emitted).size, 9);
    for (const n of r.nodes) assertEquals(lastReport.get(n.id), JSON.stringify(n), n.id);

    const s = summarize(r);
    assertEquals([s.found, s.reached, s.failed, s.untried], [9, 4, 5, 0]);
    assertEquals(s.by_version, { "0.38.25": 3, "0.38.24": 1 });
    assertEquals(s.by_failure, {
      refused: 1,
      timeout: 1,
      bad_handshake: 1,
      wrong_network: 1,
      id_mismatch: 1,
    });
    assertEquals(s.other_networks, { "other-chain": 1 });
    assertEquals(s.reachable_share, 0.444);

    // Outputs: the addrbook holds the four verified addresses only, the peers line the best.
    const book = verifiedAddrBook(r);
    const decoded = decodeAddrBookJSON(encodeAddrBookJSON(book.snapshot()));
    assertEquals(
      decoded.snapshot.addrs.map((ka) => ka.addr.toString()).sort(),
      expectReached.map((n) => n.addr.toString()).sort(),
    );
    assert(decoded.snapshot.addrs.every((ka) => ka.isOld()), "verified entries are old (good)");
    const best = bestPeers(r, 2);
    assertEquals(best.length, 2);
    const lat = (id: string) => nodes.get(id)!.latencyMs!;
    const ids = best.map((p) => p.split("@")[0]);
    assert(lat(ids[0]) <= lat(ids[1]), "fastest first");
    assert(
      r.nodes.filter((n) => n.reachable && !ids.includes(n.id)).every((n) =>
        n.latencyMs! >= lat(ids[1])
      ),
      "the two fastest",
    );

    // Map data: one graph node per crawled node, the edges between them.
    const md = mapData(r);
    assertEquals(md.nodes.length, 9);
    assertEquals(md.edges.length, 10);
    assert(!renderMapPage(r).includes("<script>alert"), "page rendered");
  } finally {
    await net.stop();
  }
});

Deno.test("crawl: depth limit leaves farther nodes untried; PEX pacing refuses a second request", async () => {
  const net = await startNet();
  try {
    const pacer = new PexPacer();
    const r = await crawl({
      seeds: [net.s.addr],
      chainId: CHAIN,
      maxDepth: 1,
      ratePerSec: 0,
      handshakeTimeoutMs: SILENT_TIMEOUT_MS,
      pacer,
    });
    const nodes = byId(r.nodes);
    // Depth 0: S; depth 1: A, B (probed); depth 2 (C, dead, W, mismatch): seen, untried.
    assert(nodes.get(net.a.key.id)?.reachable);
    assert(nodes.get(net.b.key.id)?.reachable);
    for (const id of [net.c.key.id, net.dead.id, net.w.key.id, net.mismatch.id]) {
      const n = nodes.get(id);
      assert(n, `depth-2 node ${id} found`);
      assertEquals(n.addrs.map((a) => a.state), ["untried"]);
    }
    assertEquals(summarize(r).untried, 4);
    // A second crawl at once with the same pacer handshakes but asks nobody for addresses.
    const asked: string[] = [];
    const r2 = await crawl({
      seeds: [net.s.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      pacer,
      onPex: (from) => asked.push(from),
    });
    assertEquals(asked, []);
    assertEquals(r2.nodes.length, 1);
    assert(r2.nodes[0].reachable);
    assertEquals(r2.nodes[0].pexAddrs, undefined);
  } finally {
    await net.stop();
  }
});

Deno.test("crawl: abort keeps what was found; history store records first/last seen and diffs", async () => {
  const net = await startNet();
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-" });
  try {
    const ac = new AbortController();
    ac.abort();
    const cut = await crawl({ seeds: [net.s.addr], chainId: CHAIN, signal: ac.signal });
    assertEquals(cut.end, "interrupted");
    assertEquals(cut.nodes.length, 1);
    assertEquals(cut.nodes[0].addrs[0].state, "untried");

    const opts = {
      seeds: [net.s.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      handshakeTimeoutMs: SILENT_TIMEOUT_MS,
    };
    const first = await crawl({ ...opts, pacer: new PexPacer() });
    const store = await CrawlStore.open(`${dir}/sub/crawl.db`);
    try {
      const id1 = store.saveCrawl(first);
      // B goes away and A upgrades: the second crawl sees both.
      await net.b.stop();
      const second = await crawl({ ...opts, pacer: new PexPacer() });
      second.nodes.find((n) => n.id === net.a.key.id)!.info!.version = "0.38.26";
      const id2 = store.saveCrawl(second);
      assertEquals(id2, id1 + 1);
      const d = store.diff();
      assertEquals([d.from, d.to], [id1, id2]);
      assertEquals(d.became_unreachable, [net.b.key.id]);
      assertEquals(d.version_changed, [{ id: net.a.key.id, from: "0.38.25", to: "0.38.26" }]);
      const hist = new Map(store.history().map((h) => [h.node_id, h]));
      const a = hist.get(net.a.key.id)!;
      assertEquals([a.crawls, a.reached, a.uptime], [2, 2, 1]);
      assertEquals(a.version, "0.38.26");
      assertEquals(a.version_changes.map((c) => [c.from, c.to, c.crawl]), [[
        "0.38.25",
        "0.38.26",
        id2,
      ]]);
      const b = hist.get(net.b.key.id)!;
      assertEquals([b.crawls, b.reached, b.uptime], [2, 1, 0.5]);
      assert(b.last_reached !== null && b.last_reached < b.last_seen, "B last reached earlier");
      assertEquals(store.crawls().map((c) => c.id), [id2, id1]);
    } finally {
      store.close();
    }
  } finally {
    await net.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crawl: a node gossiped at two addresses: both tried, one reachable, asked once", async () => {
  const a = await startCrawlNode({ host: "127.0.0.51", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({ host: "127.0.0.52", network: CHAIN, moniker: "b" });
  // B also under a port on its host where nothing listens.
  const stale = NetAddress.fromIPPort("127.0.0.52", deadAddressOn("127.0.0.52").port, b.key.id);
  teach(a, b.addr);
  const c = await startCrawlNode({ host: "127.0.0.53", network: CHAIN, moniker: "c" });
  teach(a, c.addr);
  teach(c, stale);
  try {
    const asked: string[] = [];
    const r = await crawl({
      seeds: [a.addr],
      chainId: CHAIN,
      ratePerSec: 0,
      onPex: (from) => asked.push(from),
    });
    const nb = byId(r.nodes).get(b.key.id)!;
    assert(nb.reachable);
    assertEquals(nb.failure, undefined);
    assertEquals(
      nb.addrs.map((x) => [x.addr, x.state, x.reason]).sort(),
      [[b.addr.dialString(), "reachable", undefined], [stale.dialString(), "failed", "refused"]]
        .sort(),
    );
    assertEquals(nb.gossipedBy.sort(), [a.key.id, c.key.id].sort());
    assertEquals(asked.filter((id) => id === b.key.id).length, 1);
    assertEquals(r.nodes.length, 3);

    // The dead address first: its failure spends no request, the live one still asks.
    const asked2: string[] = [];
    const r2 = await crawl({
      seeds: [stale, b.addr],
      chainId: CHAIN,
      concurrency: 1,
      ratePerSec: 0,
      onPex: (from) => asked2.push(from),
    });
    assertEquals(r2.nodes[0].addrs.map((x) => x.state), ["failed", "reachable"]);
    assertEquals(asked2, [b.key.id]);
    assertEquals(r2.nodes[0].pexAddrs, 0);
  } finally {
    await stopCrawlNodes([a, b, c]);
  }
});

Deno.test("crawl: failure classification of the p2p layer's typed errors", () => {
  const refused = new DialFailedError("x", { cause: new Deno.errors.ConnectionRefused("r") });
  assertEquals(classifyFailure(refused), "refused");
  const aborted = new DialFailedError("x", { cause: new DOMException("a", "AbortError") });
  assertEquals(classifyFailure(aborted), "timeout");
  assertEquals(classifyFailure(new DialFailedError("no route")), "unreachable");
  assertEquals(classifyFailure(new HandshakeTimeoutError("t")), "timeout");
  assertEquals(classifyFailure(new AuthSigError("sig")), "bad_handshake");
  assertEquals(classifyFailure(new InvalidNodeInfoError("bad")), "bad_handshake");
  assertEquals(classifyFailure(new IdMismatchError("id")), "id_mismatch");
  const incompatible = new IncompatibleNodeInfoError("x");
  assertEquals(classifyFailure(incompatible, "b", "a"), "wrong_network");
  assertEquals(classifyFailure(incompatible, "a", "a"), "incompatible");
  assertEquals(classifyFailure(incompatible), "incompatible");
});

Deno.test("crawl: many IDs gossiped at one ip:port: only the first few are tried there", async () => {
  const a = await startCrawlNode({ host: "127.0.0.54", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({ host: "127.0.0.55", network: CHAIN, moniker: "b" });
  // A lists B's address under 10 made-up IDs (and not under B's own).
  for (let i = 0; i < 10; i++) {
    teach(a, NetAddress.fromIPPort(b.addr.ip, b.addr.port, NodeKey.generate().id));
  }
  try {
    const r = await crawl({ seeds: [a.addr], chainId: CHAIN, ratePerSec: 0 });
    const atB = r.nodes.filter((n) => n.addrs.some((x) => x.addr === b.addr.dialString()));
    assertEquals(atB.length, 10, "every gossiped ID is recorded");
    const tried = atB.filter((n) => n.addrs[0].state !== "untried");
    assertEquals(tried.length, MAX_IDS_PER_ADDRESS);
    assert(tried.every((n) => n.failure === "id_mismatch"));
  } finally {
    await stopCrawlNodes([a, b]);
  }
});
