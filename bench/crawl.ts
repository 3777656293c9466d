/**
 * Crawl throughput: nodes crawled per second at concurrency 1, 16 and 64 against a loopback
 * network of in-process switchyard nodes (bench/util/crawl_net_child.ts, default 200 nodes, one
 * 127.1.x.y host each, in a separate process). Each level is one full crawl (fresh key, no rate
 * limit, unbounded depth) from node 0: handshake + one PexRequest per node. Reports wall time,
 * nodes/s, the crawler's CPU per node and share, its RSS, and the network process's CPU.
 *
 * 200 separate daemons (one Deno process each, ~60 MiB RSS apiece) do not fit the 2-core test
 * machine next to the other work on it; the network's nodes are the same Switch + Transport +
 * PEX reactor a daemon runs, sharing one process.
 *
 * Run: deno task bench crawl   (or: deno run --allow-all bench/crawl.ts [nodes=200])
 * @module
 */
import { NetAddress } from "../p2p/netaddress.ts";
import { crawl } from "../crawler/crawl.ts";
import { mib, readProcCpuMs, readProcMemory, spawnReadyChild } from "./util/proc.ts";

const NETWORK = "crawl-bench";
const LEVELS = [1, 16, 64];
const NODES = Number(Deno.args[0] ?? 200);

async function main(): Promise<void> {
  const child = await spawnReadyChild("crawl network", Deno.execPath(), [
    "run",
    "--allow-all",
    new URL("./util/crawl_net_child.ts", import.meta.url).pathname,
    String(NODES),
    NETWORK,
  ], { readyTimeoutMs: 120_000, inheritStderr: true });
  try {
    const seed = NetAddress.parseNoLookup(String(child.ready.seed));
    console.log(
      `network: ${child.ready.nodes} nodes, pid ${child.pid}, RSS ${
        mib(readProcMemory(child.pid).rssKiB)
      } MiB`,
    );
    for (const level of LEVELS) {
      const self0 = readProcCpuMs(Deno.pid), net0 = readProcCpuMs(child.pid);
      const t0 = performance.now();
      const r = await crawl({
        seeds: [seed],
        chainId: NETWORK,
        concurrency: level,
        ratePerSec: 0,
        maxDepth: 1_000,
        maxTimeMs: 300_000,
      });
      const ms = performance.now() - t0;
      const self = readProcCpuMs(Deno.pid) - self0, net = readProcCpuMs(child.pid) - net0;
      const reached = r.nodes.filter((n) => n.reachable).length;
      console.log(
        `crawl concurrency ${level}: ${reached}/${r.nodes.length} nodes reached in ${
          (ms / 1000).toFixed(2)
        } s = ${(reached / (ms / 1000)).toFixed(1)} nodes/s, ${r.edges.length} edges; ` +
          `crawler CPU ${(self / Math.max(1, reached)).toFixed(2)} ms/node (${
            (100 * self / ms).toFixed(0)
          }%), crawler RSS ${mib(readProcMemory(Deno.pid).rssKiB)} MiB; network CPU ${
            (100 * net / ms).toFixed(0)
          }%`,
      );
      if (reached !== NODES) console.log(`  (expected ${NODES} reached: ${r.end})`);
      await new Promise((res) => setTimeout(res, 500)); // let the network drop the last peers
    }
    console.log(`crawler peak RSS ${mib(readProcMemory(Deno.pid).hwmKiB)} MiB`);
  } finally {
    await child.stop();
  }
}

await main();
