/**
 * Reloading a multi-chain node (MultiNode.reload, node/reload.ts): a chain added starts, a
 * removed one stops with its book saved, a changed one restarts, an unchanged one keeps its
 * peers (the very same connection); a bad config is refused and nothing changes.
 */
import { assert, assertEquals, assertRejects } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";
import {
  buildMultiNode,
  getJson,
  multiChainConfig,
  rpcBase,
  seedAddress,
  type TestChain,
  writeConfig,
} from "./util/multi_chain.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { planReload } from "../node/reload.ts";
import { rawConnect } from "./util/hostile.ts";
import { freePort } from "./interop/cometbft.ts";

const ALPHA: TestChain = { name: "default", chainId: "alpha-1" };
const BETA: TestChain = { name: "beta", chainId: "beta-1" };
const GAMMA: TestChain = { name: "gamma", chainId: "gamma-1" };
/** A per-chain key (not inherited by the other chains), so changing it changes one chain. */
const PRIVATE_ID = "c".repeat(40);

Deno.test("planReload sorts chains into add, remove, restart and keep", async () => {
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig([ALPHA, BETA, GAMMA]));
    const a = await loadConfig({ home });
    const running = [{ name: "default", config: a.config, chainId: "alpha-1" }].concat(
      a.chains.map((c) => ({ ...c, chainId: c.config.chainId })),
    );
    await writeConfig(
      home,
      multiChainConfig([ALPHA, { ...BETA, p2p: ["max_num_inbound_peers = 3"] }, {
        name: "delta",
        chainId: "delta-1",
      }], { rpcLaddr: "tcp://127.0.0.1:1" }),
    );
    const b = await loadConfig({ home });
    const next = [{ name: "default", config: b.config, chainId: "alpha-1" }].concat(
      b.chains.map((c) => ({ ...c, chainId: c.config.chainId })),
    );
    const plan = planReload(running, next);
    // The RPC address is process-wide: it does not restart the default chain.
    assertEquals(plan.keep.map((c) => c.name), ["default"]);
    assertEquals(plan.restart.map((c) => c.name), ["beta"]);
    assertEquals(plan.remove.map((c) => c.name), ["gamma"]);
    assertEquals(plan.add.map((c) => c.name), ["delta"]);
  }, "sy_reload_");
});

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
async function listening(port: number): Promise<boolean> {
  try {
    (await rawConnect(port)).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("reload: added chain starts, removed stops with its book saved, changed restarts, unchanged keeps its peer", async () => {
  const metricsPort = freePort();
  const opts = { metricsAddr: `127.0.0.1:${metricsPort}` };
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig([ALPHA, BETA, GAMMA], opts));
    const node = await buildMultiNode(home);
    await node.start();
    const clients: PexTestNode[] = [];
    try {
      // A peer on beta (unchanged) and one on the default chain (changed).
      const onBeta = await makePexNode({ script: true, network: "beta-1", name: "b" });
      const onAlpha = await makePexNode({ script: true, network: "alpha-1", name: "a" });
      clients.push(onBeta, onAlpha);
      await onBeta.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, "beta")));
      await onAlpha.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, "default")));
      const betaPeer = onBeta.sw.peers().list()[0];
      const betaNode = node.chain("beta")!.node;
      const gammaPort = node.chain("gamma")!.node.p2pAddr!.port;
      const alphaBefore = node.chain("default")!.node;
      const alphaId = alphaBefore.nodeKey.id;

      await writeConfig(
        home,
        multiChainConfig([{ ...ALPHA, p2p: [`private_peer_ids = "${PRIVATE_ID}"`] }, BETA, {
          name: "delta",
          chainId: "delta-1",
        }], opts),
      );
      const next = await loadConfig({ home });
      const report = await node.reload(next.config, next.chains);
      assertEquals(report, {
        added: ["delta"],
        removed: ["gamma"],
        restarted: ["default"],
        unchanged: ["beta"],
        failed: [],
      });
      assertEquals(node.chains.map((c) => c.name), ["default", "beta", "delta"]);
      // Beta: the same Node, the same peer connection, never removed.
      assert(node.chain("beta")!.node === betaNode);
      assert(betaPeer.isRunning);
      assertEquals(onBeta.script!.removed.length, 0);
      assertEquals(betaNode.sw.peers().list().map((p) => p.id), [onBeta.key.id]);
      // The default chain restarted: same key, new setting, its old peer dropped.
      const alpha = node.chain("default")!.node;
      assert(alpha !== alphaBefore);
      assertEquals(alpha.nodeKey.id, alphaId);
      assertEquals(alpha.config.p2p.privatePeerIds, [PRIVATE_ID]);
      await until(
        () => onAlpha.script!.removed.length >= 1,
        "the default chain's peer dropped",
      );
      // Gamma stopped (port closed, book saved); delta runs, with its own key file.
      assertEquals(await listening(gammaPort), false);
      await Deno.stat(`${home}/config/chains/gamma/addrbook.json`);
      await Deno.stat(`${home}/config/chains/delta/node_key.json`);
      const base = rpcBase(node);
      const delta = await getJson(base, "/chains/delta/status");
      assertEquals(
        (delta.result as { node_info: { network: string } }).node_info.network,
        "delta-1",
      );
      const gone = await fetch(`${base}/chains/gamma/status`);
      await gone.body?.cancel();
      assertEquals(gone.status, 404); // the removed chain's routes are gone
      // Metrics follow: the removed chain's series are gone, the added chain's are there.
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const ids = new Set([...text.matchAll(/chain_id="([^"]*)"/g)].map((m) => m[1]));
      assertEquals([...ids].sort(), ["alpha-1", "beta-1", "delta-1"]);
      const listed = (await getJson(base, "/chains")).result as { chains: { name: string }[] };
      assertEquals(listed.chains.map((c) => c.name), ["default", "beta", "delta"]);

      // A bad config (two chains on one address) is refused; nothing changes.
      const deltaPort = node.chain("delta")!.node.p2pAddr!.port;
      await writeConfig(
        home,
        multiChainConfig([ALPHA, { ...BETA, laddr: `tcp://127.0.0.1:${deltaPort}` }, {
          name: "delta",
          chainId: "delta-1",
          laddr: `tcp://127.0.0.1:${deltaPort}`,
        }], opts),
      );
      await assertRejects(
        async () => {
          const bad = await loadConfig({ home });
          await node.reload(bad.config, bad.chains);
        },
        ConfigError,
        "chains.delta.p2p.laddr",
      );
      assertEquals(node.chains.map((c) => c.name), ["default", "beta", "delta"]);
      assert(node.chain("beta")!.node === betaNode && betaPeer.isRunning);
      assertEquals(await listening(deltaPort), true);
    } finally {
      await stopAll(...clients);
      await node.stop();
    }
  }, "sy_reload_");
});

Deno.test("reload: a chain that cannot start is reported and the others keep running", async () => {
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig([ALPHA, BETA]));
    const node = await buildMultiNode(home);
    await node.start();
    // Something else holds the port the new chain wants.
    const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (squatter.addr as Deno.NetAddr).port;
      const betaNode = node.chain("beta")!.node;
      await writeConfig(
        home,
        multiChainConfig([ALPHA, BETA, { ...GAMMA, laddr: `tcp://127.0.0.1:${port}` }]),
      );
      const next = await loadConfig({ home });
      const report = await node.reload(next.config, next.chains);
      assertEquals(report.added, ["gamma"]);
      assertEquals(report.failed.map((f) => f.name), ["gamma"]);
      assert(report.failed[0].error.startsWith("chain gamma: p2p.laddr"), report.failed[0].error);
      assertEquals(node.chains.map((c) => c.name), ["default", "beta"]);
      assert(node.chain("beta")!.node === betaNode);
      assertEquals(betaNode.state.code, "running");
    } finally {
      squatter.close();
      await node.stop();
    }
  }, "sy_reload_");
});

Deno.test("reload after stop is refused and starts nothing", async () => {
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig([ALPHA, BETA]));
    const node = await buildMultiNode(home);
    await node.start();
    await node.stop();
    await writeConfig(home, multiChainConfig([ALPHA, BETA, GAMMA]));
    const next = await loadConfig({ home });
    await assertRejects(() => node.reload(next.config, next.chains), Error, "stopping");
    assertEquals(node.chains.map((c) => c.name), ["default", "beta"]);
    assertEquals(node.chains.map((c) => c.node.state.code), ["stopped", "stopped"]);
  }, "sy_reload_");
});
