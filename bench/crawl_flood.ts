/**
 * Crawler memory under address floods: a chain of `K` hostile in-process nodes, each answering
 * its PexRequest with the next node's address plus a full selection of made-up IDs at
 * documentation addresses (192.0.2.0/24, never routed; with `SWITCHYARD_LOOPBACK_ONLY=1` they
 * are refused before any connect and recorded as `not_dialed`). Reports nodes recorded, heap
 * growth per recorded node (after a forced GC, the result kept alive) and crawl wall time.
 *
 * Run: SWITCHYARD_LOOPBACK_ONLY=1 deno run --allow-all --v8-flags=--expose-gc \
 *      bench/crawl_flood.ts [hostile=40] [entries=400]
 * @module
 */
import { crawl } from "../crawler/crawl.ts";
import { LOOPBACK_ONLY } from "../p2p/upgrade.ts";
import { NodeKey } from "../p2p/key.ts";
import {
  type AddrEntry,
  entryOf,
  type HostilePexNode,
  startHostilePexNode,
} from "../tests/util/hostile_pex.ts";

const K = Number(Deno.args[0] ?? 40);
const ENTRIES = Number(Deno.args[1] ?? 400);
const NETWORK = "crawl-flood";

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  if (!LOOPBACK_ONLY) throw new Error("run with SWITCHYARD_LOOPBACK_ONLY=1");
  const nodes: HostilePexNode[] = [];
  for (let i = 0; i < K; i++) {
    const host = `127.0.10.${i + 1}`;
    const made: AddrEntry[] = Array.from({ length: ENTRIES }, (_, j) => ({
      id: NodeKey.generate().id,
      ip: `192.0.2.${(j % 250) + 1}`,
      port: 20_000 + i * ENTRIES + j,
    }));
    nodes.push(startHostilePexNode({
      host,
      network: NETWORK,
      // The next node first, so the cap on followed entries keeps it.
      answer: () => [...(nodes[i + 1] ? [entryOf(nodes[i + 1].addr)] : []), ...made],
    }));
  }
  try {
    gc();
    const before = Deno.memoryUsage();
    const t0 = performance.now();
    const r = await crawl({
      seeds: [nodes[0].addr],
      chainId: NETWORK,
      ratePerSec: 0,
      concurrency: 64,
      maxDepth: K + 1,
      maxTimeMs: 120_000,
    });
    const ms = performance.now() - t0;
    gc();
    const after = Deno.memoryUsage();
    const reached = r.nodes.filter((n) => n.reachable).length;
    const notDialed = r.nodes.filter((n) => n.failure === "not_dialed").length;
    const perNode = (after.heapUsed - before.heapUsed) / r.nodes.length;
    console.log(JSON.stringify({
      hostile: K,
      entries_per_answer: ENTRIES,
      end: r.end,
      nodes: r.nodes.length,
      reached,
      not_dialed: notDialed,
      heap_growth_mib: +((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1),
      bytes_per_node: Math.round(perNode),
      rss_mib: +(after.rss / 2 ** 20).toFixed(1),
      wall_ms: Math.round(ms),
    }));
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

await main();
