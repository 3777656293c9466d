/**
 * One switchyard process seeding three CometBFT v0.38 chains (the daemon as users run it, one
 * config.toml with `[chains.NAME]` tables), with two real cometbft v0.38.25 nodes per chain on
 * their own 127.0.0.x addresses, each knowing only our seed for its chain:
 * 1. each chain's nodes mesh (the second finds the first through our seed) within 30 s;
 * 2. a client of each chain's seed is answered with that chain's nodes only;
 * 3. `SIGHUP` after editing the config adds a chain and removes another (their RPC routes
 *    follow), the remaining chains keep their Go peers' entries, and a bad config is refused.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type CometbftNode, freePort, interopTest, startCometbft } from "./interop/cometbft.ts";
import { type Daemon, spawnDaemon, waitFor } from "./util/daemon.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";
import { multiChainConfig, type TestChain, writeConfig } from "./util/multi_chain.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { ChainInfo } from "../node/chain_routes.ts";

/** The bound for a chain's nodes to find each other through our seed. */
const MESH_TIMEOUT_MS = 30_000;
/** Bound for a seed to verify a node it heard of (an end to a broken test only). */
const VERIFY_TIMEOUT_MS = 30_000;

interface TestNet {
  chain: TestChain;
  /** Our seed's host for this chain. */
  host: string;
  port: number;
  /** Loopback hosts of the chain's two Go nodes. */
  goHosts: [string, string];
  go: CometbftNode[];
}

function nets(): TestNet[] {
  const spec: [string, string, number][] = [["default", "alpha-1", 2], ["beta", "beta-1", 3], [
    "gamma",
    "gamma-1",
    4,
  ]];
  return spec.map(([name, chainId, i]) => {
    const host = `127.0.0.${i}`;
    const port = freePort();
    return {
      chain: { name, chainId, laddr: `tcp://${host}:${port}` },
      host,
      port,
      goHosts: [`127.0.0.${10 * i + 1}`, `127.0.0.${10 * i + 2}`],
      go: [],
    };
  });
}

async function chainsOf(d: Daemon): Promise<ChainInfo[]> {
  const res = await fetch(`http://127.0.0.1:${d.rpcPort}/chains`, {
    signal: AbortSignal.timeout(5_000),
  });
  return ((await res.json()).result as { chains: ChainInfo[] }).chains;
}

/** Starts a Go node of `net` on its `i`-th host, seeded only by our seed for that chain. */
function startGo(net: TestNet, seedId: string, i: 0 | 1): Promise<CometbftNode> {
  const host = net.goHosts[i];
  const p2pPort = freePort();
  const first = net.go[0];
  return startCometbft({
    chainId: net.chain.chainId,
    moniker: `${net.chain.name}-go${i}`,
    logLevel: "p2p:debug,pex:debug,*:info",
    seeds: [`${seedId}@${net.host}:${net.port}`],
    externalAddress: `${host}:${p2pPort}`,
    p2pPort,
    config: {
      "p2p.laddr": `tcp://${host}:${p2pPort}`,
      // The second node follows the first's genesis (one validator per chain).
      ...(i === 1 ? { genesis_file: `${first.home}/config/genesis.json` } : {}),
    },
  });
}

async function goPeers(n: CometbftNode): Promise<string[]> {
  const r = await n.rpc<{ peers: { node_info: { id: string } }[] }>("net_info");
  return r.peers.map((p) => p.node_info.id);
}

/** IDs our seed for `net` hands a fresh client of that chain. */
async function askSeed(net: TestNet, seedId: string): Promise<string[]> {
  const client: PexTestNode = await makePexNode({
    script: true,
    network: net.chain.chainId,
    name: `ask-${net.chain.name}`,
  });
  try {
    await client.sw.dialPeerWithAddress(
      await NetAddress.parse(`${seedId}@${net.host}:${net.port}`),
    );
    const peer = client.sw.peers().list()[0];
    await client.script!.request(peer);
    await until(() => client.script!.of("pex_addrs").length > 0, `${net.chain.name} answers`);
    // The seed may already have verified the asker itself (it dials back at once): not news.
    return client.script!.of("pex_addrs")[0].addrs.map((a) => a.id).filter((id) =>
      id !== client.key.id
    );
  } finally {
    await stopAll(client);
  }
}

interopTest(
  "one process seeds three cometbft chains; each meshes through it and hears only its own addresses; SIGHUP adds and removes a chain",
  async () => {
    await withTempDir(async (home) => {
      const ns = nets();
      await writeConfig(home, multiChainConfig(ns.map((n) => n.chain)));
      const d = await spawnDaemon(home, {
        flags: ["--p2p.laddr", ns[0].chain.laddr!, "--log_level", "info"],
      });
      try {
        const seeds = await chainsOf(d);
        assertEquals(
          seeds.map((c) => [c.name, c.chain_id]),
          ns.map((n) => [
            n.chain.name,
            n.chain.chainId,
          ]),
        );
        assertEquals(seeds.map((c) => c.listen_addr), ns.map((n) => n.chain.laddr));
        const seedId = (i: number) => seeds[i].node_id;
        // One log for all: each chain's lines carry its name.
        for (const n of ns) {
          await d.waitForLine(new RegExp(`P2P Node ID .*chain=${n.chain.name}\\b`));
        }

        // First Go node of every chain; wait until each seed verified its own.
        const firsts = await Promise.all(ns.map((n, i) => startGo(n, seedId(i), 0)));
        ns.forEach((n, i) => n.go.push(firsts[i]));
        await waitFor("every seed verified its chain's first node", async () => {
          const cs = await chainsOf(d);
          return cs.every((c) => c.verified >= 1) || undefined;
        }, VERIFY_TIMEOUT_MS);

        // Second node of every chain: it hears of the first from our seed and connects.
        const started = performance.now();
        const seconds = await Promise.all(ns.map((n, i) => startGo(n, seedId(i), 1)));
        ns.forEach((n, i) => n.go.push(seconds[i]));
        await waitFor("every chain's two Go nodes connected", async () => {
          for (const n of ns) {
            if (!(await goPeers(n.go[1])).includes(n.go[0].id)) return undefined;
          }
          return true;
        }, MESH_TIMEOUT_MS);
        console.log(
          `three chains meshed ${Math.round(performance.now() - started)} ms after start`,
        );

        // Each seed answers with its own chain's nodes only.
        const allGo = new Set(ns.flatMap((n) => n.go.map((g) => g.id)));
        for (const [i, n] of ns.entries()) {
          const own = new Set(n.go.map((g) => g.id));
          await waitFor(`${n.chain.name} verified both nodes`, async () => {
            const c = (await chainsOf(d))[i];
            return c.verified >= 2 || undefined;
          }, VERIFY_TIMEOUT_MS);
          const answer = await askSeed(n, seedId(i));
          assert(answer.length >= 2, `${n.chain.name} answered ${answer}`);
          for (const id of answer) {
            assert(own.has(id) || !allGo.has(id), `${n.chain.name} served another chain's ${id}`);
            assert(own.has(id), `${n.chain.name} served an unknown ${id}`);
          }
        }

        // Reload: remove gamma, add delta; beta and the default chain are unchanged.
        const gammaPort = ns[2].port;
        const delta: TestChain = {
          name: "delta",
          chainId: "delta-1",
          laddr: `tcp://127.0.0.5:${freePort()}`,
        };
        await writeConfig(home, multiChainConfig([ns[0].chain, ns[1].chain, delta]));
        d.child.kill("SIGHUP");
        await d.waitForLine(/Config reloaded/);
        const after = await chainsOf(d);
        assertEquals(after.map((c) => c.name), ["default", "beta", "delta"]);
        assertEquals(after[0].node_id, seedId(0));
        assertEquals(after[1].node_id, seedId(1));
        assert(after[1].book_size >= 2, "beta kept its book");
        let refused = true;
        try {
          const c = await Deno.connect({ hostname: ns[2].host, port: gammaPort });
          c.close();
          refused = false;
        } catch { /* closed, as it should be */ }
        assert(refused, "gamma's port still open after its removal");
        await Deno.stat(`${home}/config/chains/gamma/addrbook.json`);

        // A bad config (delta on beta's address) is refused; nothing changes.
        await writeConfig(
          home,
          multiChainConfig([ns[0].chain, ns[1].chain, { ...delta, laddr: ns[1].chain.laddr }]),
        );
        d.child.kill("SIGHUP");
        await d.waitForLine(/Config reload refused.*chains\.delta\.p2p\.laddr/);
        assertEquals((await chainsOf(d)).map((c) => c.name), ["default", "beta", "delta"]);
      } finally {
        for (const n of ns.slice().reverse()) {
          for (const g of n.go.slice().reverse()) await g.stop();
        }
        assertEquals(await d.stop(), 0);
      }
    }, "sy_multi_interop_");
  },
);
