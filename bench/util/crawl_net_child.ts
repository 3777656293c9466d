/**
 * A loopback network of in-process switchyard nodes for bench/crawl.ts, in its own process (so
 * the crawler's CPU and memory are measured apart from the network's). Node i listens on
 * 127.1.(i >> 8).(i & 255 + 1) — one host per node — with the PEX reactor and a book holding
 * its ring successor and `extra` random other nodes (so every node is reachable from node 0).
 *
 * Prints `{"event":"ready","seed":"id@host:port","nodes":n}` and runs until stdin reaches EOF.
 *
 * Run: deno run --allow-all bench/util/crawl_net_child.ts <nodes> <network> [extra=7]
 * @module
 */
import {
  type CrawlTestNode,
  startCrawlNode,
  stopCrawlNodes,
  teach,
} from "../../tests/util/crawl_net.ts";

/** Deterministic random (mulberry32) so every run builds the same graph. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main(): Promise<void> {
  const n = Number(Deno.args[0] ?? 200);
  const network = Deno.args[1] ?? "crawl-bench";
  const extra = Number(Deno.args[2] ?? 7);
  if (!Number.isInteger(n) || n < 2 || n > 60_000) {
    console.log(
      JSON.stringify({ event: "error", error: "nodes must be an integer in [2, 60000]" }),
    );
    Deno.exit(2);
  }
  const nodes: CrawlTestNode[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const host = `127.1.${i >> 8}.${(i & 255) + 1}`;
      nodes.push(await startCrawlNode({ host, network, moniker: `bench-${i}` }));
    }
    const random = rng(42);
    for (let i = 0; i < n; i++) {
      teach(nodes[i], nodes[(i + 1) % n].addr);
      for (let k = 0; k < extra; k++) {
        const j = Math.floor(random() * n);
        if (j !== i && !nodes[i].book.hasAddress(nodes[j].addr)) teach(nodes[i], nodes[j].addr);
      }
    }
    console.log(JSON.stringify({ event: "ready", seed: nodes[0].addr.toString(), nodes: n }));
    for await (const _ of Deno.stdin.readable) { /* drain until EOF: the parent's stop */ }
  } finally {
    await stopCrawlNodes(nodes);
  }
}

await main();
