/**
 * One switchyard process seeding three chains on three CometBFT lines (the daemon as users run it,
 * one config.toml with `[chains.NAME]` tables, each chain with its own `cometbft_line`): a v0.38
 * chain (the top level), a v0.37 chain and a v1.0 chain, with two real cometbft nodes of that
 * line per chain (v0.38.25, v0.37.18, v1.0.1; binaries from `tests/interop/lines.ts`) on their own
 * 127.0.0.x addresses, each knowing only our seed for its chain:
 * 1. each chain's nodes mesh (the second finds the first through our seed) within 30 s;
 * 2. a client of each chain's seed reads that chain's line in the seed's NodeInfo and is answered
 *    with that chain's nodes only;
 * 3. `SIGHUP` after editing the config adds a chain (on v1.0) and removes another (their RPC
 *    routes follow), the remaining chains keep their Go peers' entries, and a bad config is
 *    refused.
 *
 * Skip semantics follow `lineTest`: a missing binary skips locally and fails under `CI=true`.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { type CometbftNode, freePort, startCometbft } from "./interop/cometbft.ts";
import {
  LINE_BINARIES,
  type LineBinary,
  lineBinaryPath,
  missingLineMessage,
} from "./interop/lines.ts";
import { type Daemon, spawnDaemon, waitFor } from "./util/daemon.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";
import { multiChainConfig, type TestChain, writeConfig } from "./util/multi_chain.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { NodeInfo } from "../p2p/node_info.ts";
import { type CometbftLine, lineProfile } from "../p2p/cometbft_line.ts";
import type { ChainInfo } from "../node/chain_routes.ts";

/** The issue's bound for a chain's nodes to find each other through our seed. */
const MESH_TIMEOUT_MS = 30_000;
/** Bound for a seed to verify a node it heard of (an end to a broken test only). */
const VERIFY_TIMEOUT_MS = 30_000;
/** Start attempts of a Go node whose freshly picked port was taken meanwhile. */
const START_ATTEMPTS = 3;

/** The chains: name, chain ID, line, last octet of our seed's host. */
const SPEC: readonly [string, string, CometbftLine, number][] = [
  ["default", "alpha-1", "v0.38", 2],
  ["beta", "beta-1", "v0.37", 3],
  ["gamma", "gamma-1", "v1.0", 4],
];

interface TestNet {
  chain: TestChain;
  line: LineBinary;
  /** The line's cometbft binary (null when missing; the test then fails or is skipped). */
  bin: string | null;
  /** Our seed's host for this chain. */
  host: string;
  port: number;
  /** Loopback hosts of the chain's two Go nodes. */
  goHosts: [string, string];
  go: CometbftNode[];
}

function lineOf(line: CometbftLine): LineBinary {
  const b = LINE_BINARIES.find((x) => x.line === line);
  if (!b) throw new Error(`no reference release for ${line}`);
  return b;
}

function nets(): TestNet[] {
  return SPEC.map(([name, chainId, line, i]) => {
    const host = `127.0.0.${i}`;
    const port = freePort();
    const b = lineOf(line);
    return {
      chain: { name, chainId, laddr: `tcp://${host}:${port}`, top: [`cometbft_line = "${line}"`] },
      line: b,
      bin: lineBinaryPath(b),
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

/** Starts a Go node of `net` (its line's binary) on its `i`-th host, seeded only by our seed. */
async function startGo(net: TestNet, seedId: string, i: 0 | 1): Promise<CometbftNode> {
  const host = net.goHosts[i];
  const first = net.go[0];
  for (let attempt = 1;; attempt++) {
    const p2pPort = freePort();
    try {
      return await startCometbft({
        bin: net.bin!,
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
    } catch (e) {
      // freePort() closes its probe socket before cometbft binds: another process on this
      // shared machine may take the port in between. Fresh ports, bounded retries.
      if (attempt >= START_ATTEMPTS || !String(e).includes("address already in use")) throw e;
    }
  }
}

async function goPeers(n: CometbftNode): Promise<string[]> {
  const r = await n.rpc<{ peers: { node_info: { id: string } }[] }>("net_info");
  return r.peers.map((p) => p.node_info.id);
}

/** What a fresh client of a chain reads from our seed: its NodeInfo and the IDs it hands out. */
async function askSeed(
  chainId: string,
  seed: string,
  name: string,
): Promise<{ info: NodeInfo; ids: string[] }> {
  const client: PexTestNode = await makePexNode({ script: true, network: chainId, name });
  try {
    await client.sw.dialPeerWithAddress(await NetAddress.parse(seed));
    // Recorded at addPeer: a seed may hang up soon after answering.
    const peer = client.script!.added[0];
    await client.script!.request(peer);
    await until(() => client.script!.of("pex_addrs").length > 0, `${name} answered`);
    // The seed may already have verified the asker itself (it dials back at once): not news.
    const ids = client.script!.of("pex_addrs")[0].addrs.map((a) => a.id).filter((id) =>
      id !== client.key.id
    );
    return { info: peer.nodeInfo, ids };
  } finally {
    await stopAll(client);
  }
}

/** Asserts `info` advertises `line` (p2p protocol version and default software version). */
function assertLine(info: NodeInfo, line: CometbftLine, what: string): void {
  const p = lineProfile(line);
  assertEquals(
    [info.protocolVersion.p2p, info.protocolVersion.block, info.version],
    [p.p2pProtocol, p.blockProtocol, p.version],
    `${what} advertises ${line}`,
  );
}

const NETS = nets();
const MISSING = NETS.filter((n) => n.bin === null);
const CI = Deno.env.get("CI") === "true";
const NAME =
  "one process seeds chains on cometbft v0.37, v0.38 and v1.0; each meshes through it and hears only its own addresses; SIGHUP adds and removes a chain";
if (MISSING.length > 0 && !CI) {
  console.error(`skipping ${NAME}: ${MISSING.map((n) => missingLineMessage(n.line)).join("; ")}`);
}

Deno.test({ name: NAME, ignore: MISSING.length > 0 && !CI }, async () => {
  if (MISSING.length > 0) {
    throw new Error(MISSING.map((n) => missingLineMessage(n.line)).join("; "));
  }
  const ns = NETS;
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig(ns.map((n) => n.chain)));
    const d = await spawnDaemon(home, {
      flags: ["--p2p.laddr", ns[0].chain.laddr!, "--log_level", "info"],
    });
    try {
      const seeds = await chainsOf(d);
      assertEquals(
        seeds.map((c) => [c.name, c.chain_id, c.cometbft_line]),
        ns.map((n) => [n.chain.name, n.chain.chainId, n.line.line]),
      );
      assertEquals(seeds.map((c) => c.listen_addr), ns.map((n) => n.chain.laddr));
      const seedId = (i: number) => seeds[i].node_id;
      const seedAddr = (i: number) => `${seedId(i)}@${ns[i].host}:${ns[i].port}`;
      // One log for all: the extra chains' lines carry their name.
      for (const n of ns.slice(1)) {
        await d.waitForLine(new RegExp(`P2P Node ID .*chain=${n.chain.name}\\b`));
      }

      // First Go node of every chain; each runs its line's release; each seed verifies its own.
      const firsts = await Promise.all(ns.map((n, i) => startGo(n, seedId(i), 0)));
      ns.forEach((n, i) => n.go.push(firsts[i]));
      for (const n of ns) {
        const st = await n.go[0].rpc<{ node_info: { version: string; network: string } }>(
          "status",
        );
        assertEquals(st.node_info.version, n.line.reported, `${n.chain.name}'s Go node`);
        assertEquals(st.node_info.network, n.chain.chainId);
      }
      await waitFor("every seed verified its chain's first node", async () => {
        const cs = await chainsOf(d);
        return cs.every((c) => c.verified >= 1) || undefined;
      }, VERIFY_TIMEOUT_MS);

      // Second node of every chain: it hears of the first from our seed and connects.
      const started = performance.now();
      const seconds = await Promise.all(ns.map((n, i) => startGo(n, seedId(i), 1)));
      ns.forEach((n, i) => n.go.push(seconds[i]));
      const meshedAt = new Map<string, number>();
      await waitFor("every chain's two Go nodes connected", async () => {
        for (const n of ns) {
          if (meshedAt.has(n.chain.name)) continue;
          if ((await goPeers(n.go[1])).includes(n.go[0].id)) {
            meshedAt.set(n.chain.name, Math.round(performance.now() - started));
          }
        }
        return meshedAt.size === ns.length || undefined;
      }, MESH_TIMEOUT_MS);
      console.log(
        `meshed after the second nodes started (ms): ${
          ns.map((n) => `${n.chain.name} (${n.line.line}) ${meshedAt.get(n.chain.name)}`).join(
            ", ",
          )
        }`,
      );

      // Each seed speaks its chain's line and answers with its own chain's nodes only.
      const allGo = new Set(ns.flatMap((n) => n.go.map((g) => g.id)));
      for (const [i, n] of ns.entries()) {
        const own = new Set(n.go.map((g) => g.id));
        await waitFor(`${n.chain.name} verified both nodes`, async () => {
          const c = (await chainsOf(d))[i];
          return c.verified >= 2 || undefined;
        }, VERIFY_TIMEOUT_MS);
        const { info, ids } = await askSeed(n.chain.chainId, seedAddr(i), `ask-${n.chain.name}`);
        assertEquals(info.id, seedId(i));
        assertEquals(info.network, n.chain.chainId);
        assertLine(info, n.line.line, `${n.chain.name}'s seed`);
        assert(ids.length >= 2, `${n.chain.name} answered ${ids}`);
        for (const id of ids) {
          assert(own.has(id) || !allGo.has(id), `${n.chain.name} served another chain's ${id}`);
          assert(own.has(id), `${n.chain.name} served an unknown ${id}`);
        }
      }

      // Reload: remove gamma (v1.0), add delta (v1.0); beta and the default chain are unchanged.
      const gammaPort = ns[2].port;
      const deltaPort = freePort();
      const delta: TestChain = {
        name: "delta",
        chainId: "delta-1",
        laddr: `tcp://127.0.0.5:${deltaPort}`,
        top: [`cometbft_line = "v1.0"`],
      };
      await writeConfig(home, multiChainConfig([ns[0].chain, ns[1].chain, delta]));
      d.child.kill("SIGHUP");
      await d.waitForLine(/Config reloaded/);
      const after = await chainsOf(d);
      assertEquals(after.map((c) => [c.name, c.cometbft_line]), [
        ["default", "v0.38"],
        ["beta", "v0.37"],
        ["delta", "v1.0"],
      ]);
      assertEquals(after[0].node_id, seedId(0));
      assertEquals(after[1].node_id, seedId(1));
      assert(after[0].book_size >= 2, "the default chain kept its book");
      assert(after[1].book_size >= 2, "beta kept its book");
      let refused = true;
      try {
        const c = await Deno.connect({ hostname: ns[2].host, port: gammaPort });
        c.close();
        refused = false;
      } catch { /* closed, as it should be */ }
      assert(refused, "gamma's port still open after its removal");
      await Deno.stat(`${home}/config/chains/gamma/addrbook.json`);
      // The added chain speaks its own line and knows none of the other chains' nodes.
      const added = await askSeed("delta-1", `${after[2].node_id}@127.0.0.5:${deltaPort}`, "ask-d");
      assertLine(added.info, "v1.0", "delta's seed");
      for (const id of added.ids) assert(!allGo.has(id), `delta served another chain's ${id}`);

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
});
