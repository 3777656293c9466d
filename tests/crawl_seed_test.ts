/**
 * The seed's scheduled crawl (`p2p.seed.crawl_interval`, `crawler/seed_schedule.ts`): the
 * schedule alone against in-process nodes (verified set, best first, an interrupted crawl keeps
 * the previous set), the config checks, and the daemon in seed mode serving the set on
 * `GET /peers` and JSON-RPC `peers`.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { cli, spawnDaemon, waitFor } from "./util/daemon.ts";
import { SeedCrawlSchedule } from "../crawler/seed_schedule.ts";
import type { CrawlResult } from "../crawler/crawl.ts";
import { deadAddressOn, startCrawlNode, stopCrawlNodes, teach } from "./util/crawl_net.ts";

const CHAIN = "crawl-seed-test";
const CONFIG = {
  crawlIntervalMs: 30_000,
  crawlConcurrency: 4,
  crawlRate: 0,
  crawlDepth: 8,
  crawlTimeoutMs: 60_000,
};

Deno.test("seed schedule: serves the verified set of the last complete crawl", async () => {
  const a = await startCrawlNode({ host: "127.0.0.31", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({ host: "127.0.0.32", network: CHAIN, moniker: "b" });
  const dead = deadAddressOn("127.0.0.33");
  teach(a, b.addr, dead);
  try {
    const s = new SeedCrawlSchedule({
      chainId: CHAIN,
      config: CONFIG,
      startAddresses: () => [a.addr],
    });
    assertEquals(s.latest().count, 0);
    assertEquals(s.latest().crawled_at, "");
    await s.runOnce(new AbortController().signal);
    const l = s.latest();
    assertEquals(l.found, 3);
    assertEquals(l.count, 2);
    assertEquals(l.peers.map((p) => p.address).sort(), [a.addr, b.addr].map(String).sort());
    assert(l.peers[0].latency_ms <= l.peers[1].latency_ms, "best first");
    assertEquals(l.persistent_peers, l.peers.map((p) => p.address).join(","));
    assertEquals(s.route().name, "peers");
    assertEquals(await s.route().handler({} as never), l);

    // An interrupted crawl leaves the served set alone.
    const ac = new AbortController();
    ac.abort();
    let ran = false;
    const cut = new SeedCrawlSchedule({
      chainId: CHAIN,
      config: CONFIG,
      startAddresses: () => [a.addr],
      crawlFn: () => {
        ran = true;
        const r = { end: "interrupted", nodes: [], edges: [] } as unknown as CrawlResult;
        return Promise.resolve(r);
      },
    });
    await cut.runOnce(ac.signal);
    assert(ran);
    assertEquals(cut.runs, 0);
    assertEquals(cut.latest().count, 0);
  } finally {
    await stopCrawlNodes([a, b]);
  }
});

Deno.test("seed schedule: config rejects a crawl_interval under 30s and names the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-cfg-" });
  try {
    const r = await cli("node", "--home", `${dir}/h`, "--p2p.seed.crawl_interval=5s");
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "p2p.seed.crawl_interval");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("seed schedule: a seed daemon crawls at start and serves GET /peers and JSON-RPC peers", async () => {
  const a = await startCrawlNode({ host: "127.0.0.34", network: CHAIN, moniker: "a" });
  const b = await startCrawlNode({ host: "127.0.0.35", network: CHAIN, moniker: "b" });
  teach(a, b.addr);
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-seed-" });
  const d = await spawnDaemon(`${dir}/home`, {
    flags: [
      "--chain-id",
      CHAIN,
      "--p2p.seed_mode",
      "--p2p.seeds",
      a.addr.toString(),
      "--p2p.seed.crawl_interval=30s",
      "--p2p.seed.crawl_rate=0",
      "--p2p.seed.crawl_history",
    ],
  });
  try {
    let last = "";
    const body = await waitFor("a crawl with two verified peers", async () => {
      const res = await fetch(`http://127.0.0.1:${d.rpcPort}/peers`);
      const j = await res.json();
      last = JSON.stringify(j);
      return j.result?.count === 2 ? j.result : undefined;
    }).catch((e) => {
      throw new Error(`${e.message}; last answer ${last}; daemon output:\n${d.output}`);
    });
    assertEquals(
      body.peers.map((p: { address: string }) => p.address).sort(),
      [a.addr, b.addr].map(String).sort(),
    );
    assertEquals(body.chain_id, CHAIN);
    const rpc = await d.rpc.call<{ count: number }>("peers");
    assertEquals(rpc.count, 2);
    // crawl_history: the crawl is in <home>/data/crawl.db, where `crawl history --home` looks.
    const hist = await cli("crawl", "history", "--home", `${dir}/home`, "--json");
    assertEquals(hist.code, 0, hist.stderr);
    const h = JSON.parse(hist.stdout);
    assert(h.crawls.length >= 1, hist.stdout);
    assert(h.nodes.some((n: { node_id: string }) => n.node_id === b.key.id), "B in the history");
    // Stopping the seed ends the schedule with it (the exit code says the stop was clean).
    assertEquals(await d.stop("SIGTERM"), 0, d.output);
  } finally {
    await d.stop("SIGTERM");
    await stopCrawlNodes([a, b]);
    await Deno.remove(dir, { recursive: true });
  }
});
