/**
 * A 30-node switchyard network in one process, bootstrapped from one switchyard seed: every
 * node knows only the seed, has max_num_outbound_peers = 4 and a 1 s ensure-peers period. All
 * must reach exactly 4 outbound peers (never more). The elapsed time is printed, not asserted.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";

const NODES = 30;
const MAX_OUTBOUND = 4;
const ENSURE_PEERS_PERIOD_MS = 1_000;

Deno.test({
  name: `network: ${NODES} nodes from one seed all reach ${MAX_OUTBOUND} outbound peers`,
  async fn() {
    const seed = await makePexNode({
      name: "seed",
      pex: {
        seedMode: true,
        seed: {
          disconnectWaitMs: 200,
          crawlPeriodMs: 2_000,
          verifyScanIntervalMs: 100,
          verifyRate: 0,
          verifyWorkers: 16,
        },
      },
      // The seed's own dials count on nobody's budget; inbound room for every node.
      config: { maxNumInboundPeers: 200 },
    });
    const nodes: PexTestNode[] = [];
    const t0 = performance.now();
    try {
      for (let i = 0; i < NODES; i++) {
        nodes.push(
          await makePexNode({
            name: `n${i}`,
            config: { maxNumOutboundPeers: MAX_OUTBOUND, maxNumInboundPeers: 40 },
            pex: { seeds: [seed.addr.toString()], ensurePeersPeriodMs: ENSURE_PEERS_PERIOD_MS },
          }),
        );
      }
      let maxSeen = 0;
      await until(
        () => {
          let done = 0;
          for (const n of nodes) {
            const { outbound } = n.sw.numPeers();
            maxSeen = Math.max(maxSeen, outbound);
            if (outbound === MAX_OUTBOUND) done++;
          }
          return done === NODES;
        },
        `every node at ${MAX_OUTBOUND} outbound peers`,
        120_000,
      );
      const elapsed = performance.now() - t0;
      console.log(
        `pex network: ${NODES} nodes reached ${MAX_OUTBOUND} outbound peers in ${
          (elapsed / 1000).toFixed(2)
        } s`,
      );
      assert(maxSeen <= MAX_OUTBOUND, `a node exceeded the outbound cap: ${maxSeen}`);
      for (const n of nodes) assertEquals(n.sw.numPeers().outbound, MAX_OUTBOUND);
      // The seed served only addresses it verified.
      assert(seed.pex!.verifier!.liveCount > 0);
    } finally {
      await stopAll(...nodes);
      await seed.stop();
    }
  },
});
