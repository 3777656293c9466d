/**
 * Metrics of a multi-chain node across reloads (issue 15: "every series labelled with
 * `chain_id`, cardinality bounded"): every sample of the one exposition carries `chain_id`,
 * with exactly one value per configured chain; a chain added by reload (with a peer, so its
 * labelled series exist) shows up, and once removed its series are gone. 30 add/remove cycles,
 * each with a new chain name and chain ID: after each removal the exposition is exactly the
 * baseline (same series, same count), so nothing accumulates.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { makePexNode, stopAll, until } from "./util/pex_harness.ts";
import {
  buildMultiNode,
  multiChainConfig,
  seedAddress,
  type TestChain,
  writeConfig,
} from "./util/multi_chain.ts";
import { parsePrometheusText, type Sample } from "./util/prom_text.ts";
import { freePort } from "./interop/cometbft.ts";
import { waitFor } from "./util/daemon.ts";
import { loadConfig } from "../config/mod.ts";
import type { MultiNode } from "../node/multi_node.ts";
import { NetAddress } from "../p2p/netaddress.ts";

const BASE: TestChain[] = [
  { name: "default", chainId: "alpha-1" },
  { name: "beta", chainId: "beta-1" },
  { name: "gamma", chainId: "gamma-1" },
];
const CYCLES = 30;

/** `name{labels}` of every sample, sorted: the set of series. */
function seriesKeys(samples: Sample[]): string[] {
  return samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`)
    .sort();
}

async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  });
  assertEquals(res.status, 200);
  // `process_*` (Go's process collector) describe the one process: no chain_id, by design.
  const samples = parsePrometheusText(await res.text()).samples
    .filter((s) => !s.name.startsWith("process_"));
  for (const s of samples) {
    assert(s.labels.chain_id !== undefined, `a series without chain_id: ${s.name}`);
  }
  return samples;
}

function chainIds(samples: Sample[]): string[] {
  return [...new Set(samples.map((s) => s.labels.chain_id))].sort();
}

async function reloadTo(home: string, node: MultiNode, chains: TestChain[], opts: object) {
  await writeConfig(home, multiChainConfig(chains, { seedMode: false, ...opts }));
  const { config, chains: specs } = await loadConfig({ home });
  return await node.reload(config, specs);
}

Deno.test(`metrics: chain_id on every series, one value per chain; ${CYCLES} add/remove reload cycles leave no series behind`, async () => {
  const metricsPort = freePort();
  const opts = { metricsAddr: `127.0.0.1:${metricsPort}` };
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig(BASE, { seedMode: false, ...opts }));
    const node = await buildMultiNode(home);
    await node.start();
    try {
      const base = await scrape(metricsPort);
      assertEquals(chainIds(base), ["alpha-1", "beta-1", "gamma-1"]);
      const baseline = seriesKeys(base);
      let maxSeries = baseline.length;
      for (let i = 0; i < CYCLES; i++) {
        const extra: TestChain = { name: `d${i}`, chainId: `delta-${i}` };
        const added = await reloadTo(home, node, [...BASE, extra], opts);
        assertEquals(added.added, [extra.name], `cycle ${i}: added`);
        assertEquals(added.failed, []);
        // A peer on the new chain, so its peer and message series carry values.
        const peer = await makePexNode({ network: extra.chainId, name: `p${i}` });
        try {
          await peer.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, extra.name)));
          await until(
            () => node.chain(extra.name)!.node.sw.peers().list().length === 1,
            `cycle ${i}: the peer on ${extra.name}`,
          );
          // The peer's PEX request: the labelled per-channel and per-message counters appear.
          const during = await waitFor(`cycle ${i}: the new chain's message series`, async () => {
            const s = await scrape(metricsPort);
            return s.some((x) =>
                x.name === "cometbft_p2p_message_receive_bytes_total" &&
                x.labels.chain_id === extra.chainId && x.labels.message_type === "p2p_PexRequest"
              )
              ? s
              : undefined;
          });
          const peers = during.find((s) =>
            s.name === "cometbft_p2p_peers" && s.labels.chain_id === extra.chainId
          );
          assertEquals(peers?.value, 1, `cycle ${i}: the new chain's peer gauge`);
          maxSeries = Math.max(maxSeries, during.length);
        } finally {
          await stopAll(peer);
        }
        const removed = await reloadTo(home, node, BASE, opts);
        assertEquals(removed.removed, [extra.name], `cycle ${i}: removed`);
        const after = await scrape(metricsPort);
        assertEquals(seriesKeys(after), baseline, `cycle ${i}: back to the baseline series`);
      }
      console.log(
        `series: baseline ${baseline.length} (3 chains), at most ${maxSeries} with a 4th chain ` +
          `and its peer, ${baseline.length} after ${CYCLES} add/remove cycles`,
      );
    } finally {
      await node.stop();
    }
  }, "sy_metrics_cycles_");
});
