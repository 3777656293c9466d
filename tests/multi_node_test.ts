/**
 * Several chains in one process (node/multi_node.ts), in process on loopback: each chain has its
 * own key, book and listener; one RPC selects a chain by parameter or path prefix and lists them
 * (`chains`); one metrics endpoint labels every series with `chain_id`; an address learnt on one
 * chain is never served on another, and a ban on one chain is not a ban on another.
 */
import { assert, assertEquals, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";
import {
  buildMultiNode,
  getJson,
  multiChainConfig,
  postJson,
  rpcBase,
  seedAddress,
  type TestChain,
  writeConfig,
} from "./util/multi_chain.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { ChainInfo } from "../node/chain_routes.ts";
import type { MultiNode } from "../node/multi_node.ts";
import { freePort } from "./interop/cometbft.ts";

const THREE: TestChain[] = [
  { name: "default", chainId: "alpha-1" },
  { name: "beta", chainId: "beta-1" },
  { name: "gamma", chainId: "gamma-1" },
];

async function withMulti(
  chains: TestChain[],
  fn: (node: MultiNode, home: string) => Promise<void>,
  opts: { metricsAddr?: string } = {},
): Promise<void> {
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig(chains, opts));
    const node = await buildMultiNode(home);
    await node.start();
    try {
      await fn(node, home);
    } finally {
      await node.stop();
    }
  }, "sy_multi_");
}

Deno.test("three chains: own keys and books, RPC by chain parameter and path prefix, chains route, labelled metrics", async () => {
  const metricsPort = freePort();
  await withMulti(THREE, async (node, home) => {
    const base = rpcBase(node);
    const ids = node.chains.map((c) => c.node.nodeKey.id);
    assertEquals(new Set(ids).size, 3, "one key per chain");
    for (const name of ["beta", "gamma"]) {
      await Deno.stat(`${home}/config/chains/${name}/node_key.json`); // generated on first start
    }
    await Deno.stat(`${home}/config/node_key.json`);

    // Existing routes answer for the default chain as before.
    const status = await getJson(base, "/status");
    const ni = (s: Record<string, unknown>) =>
      (s.result as { node_info: { network: string; id: string } }).node_info;
    assertEquals(ni(status).network, "alpha-1");
    assertEquals(ni(status).id, ids[0]);
    // By name, by chain ID, by path prefix, by JSON-RPC param (object and positional).
    assertEquals(ni(await getJson(base, '/status?chain="beta"')).network, "beta-1");
    assertEquals(ni(await getJson(base, '/status?chain="gamma-1"')).network, "gamma-1");
    assertEquals(ni(await getJson(base, "/chains/gamma/status")).id, ids[2]);
    const rpcBeta = await postJson(base, {
      jsonrpc: "2.0",
      id: 1,
      method: "status",
      params: { chain: "beta" },
    });
    assertEquals(ni(rpcBeta).network, "beta-1");
    const positional = await postJson(base, {
      jsonrpc: "2.0",
      id: 2,
      method: "net_info",
      params: ["gamma"],
    });
    assertEquals((positional.result as { n_peers: string }).n_peers, "0");
    // dial_seeds keeps its one positional parameter (chain is optional).
    const dial = await postJson(base, {
      jsonrpc: "2.0",
      id: 3,
      method: "dial_seeds",
      params: [[]],
    });
    assertStringIncludes(JSON.stringify(dial.error), "no seeds provided");
    const unknown = await getJson(base, '/status?chain="nope"');
    assertStringIncludes(
      JSON.stringify(unknown.error),
      'unknown chain \\"nope\\" (configured: default, beta, gamma)',
    );

    // The chains route, URI and JSON-RPC.
    const listed = (await getJson(base, "/chains")).result as { chains: ChainInfo[] };
    assertEquals(listed.chains.map((c) => [c.name, c.chain_id, c.node_id]), [
      ["default", "alpha-1", ids[0]],
      ["beta", "beta-1", ids[1]],
      ["gamma", "gamma-1", ids[2]],
    ]);
    for (const c of listed.chains) {
      assertEquals(c.state, "running");
      assertEquals(c.peers, { inbound: 0, outbound: 0 });
      assertEquals(c.book_size, 0);
      assert(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/.test(c.listen_addr), c.listen_addr);
    }
    assertEquals(new Set(listed.chains.map((c) => c.listen_addr)).size, 3);
    const viaRpc = await postJson(base, { jsonrpc: "2.0", id: 4, method: "chains" });
    assertEquals((viaRpc.result as { chains: ChainInfo[] }).chains.length, 3);

    // One metrics endpoint; each family once, one series per chain_id.
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assertEquals(text.split("\n").filter((l) => l === "# TYPE cometbft_p2p_peers gauge").length, 1);
    for (const id of ["alpha-1", "beta-1", "gamma-1"]) {
      assertStringIncludes(text, `cometbft_p2p_peers{chain_id="${id}"} 0`);
    }
    const chainIds = new Set([...text.matchAll(/chain_id="([^"]*)"/g)].map((m) => m[1]));
    assertEquals([...chainIds].sort(), ["alpha-1", "beta-1", "gamma-1"]);
  }, { metricsAddr: `127.0.0.1:${metricsPort}` });
});

/** A script peer (a real switch that answers pings, sends only what the test says). */
async function scriptPeer(network: string, key?: PexTestNode["key"]): Promise<PexTestNode> {
  return await makePexNode({ script: true, network, name: `script-${network}`, key });
}

/** Dials `addr` from `peer` and returns the connected Peer. */
async function connect(peer: PexTestNode, addr: string) {
  await peer.sw.dialPeerWithAddress(await NetAddress.parse(addr));
  const id = addr.split("@")[0];
  const p = peer.sw.peers().list().find((x) => x.id === id);
  if (!p) throw new Error(`not connected to ${addr}`);
  return p;
}

/** Asks a seed for addresses through `peer` and returns the answer's IDs. */
async function askSeed(peer: PexTestNode, seed: string): Promise<string[]> {
  const p = await connect(peer, seed);
  const before = peer.script!.of("pex_addrs").length;
  await peer.script!.request(p);
  await until(() => peer.script!.of("pex_addrs").length > before, "a PexAddrs answer");
  return peer.script!.of("pex_addrs")[before].addrs.map((a) => a.id);
}

Deno.test("an address learnt on one chain is served on that chain only", async () => {
  await withMulti(THREE.slice(0, 2), async (node) => {
    const seedA = seedAddress(node, "default");
    const seedB = seedAddress(node, "beta");
    const pa = await makePexNode({
      name: "pa",
      network: "alpha-1",
      pex: { seeds: [seedA], ensurePeersPeriodMs: 500 },
    });
    const pb = await makePexNode({
      name: "pb",
      network: "beta-1",
      pex: { seeds: [seedB], ensurePeersPeriodMs: 500 },
    });
    const askers: PexTestNode[] = [];
    try {
      const alpha = node.chain("default")!;
      const beta = node.chain("beta")!;
      const verified = (c: typeof alpha) => node.chainInfos().find((i) => i.name === c.name)!;
      await until(
        () => verified(alpha).verified >= 1 && verified(beta).verified >= 1,
        "both seeds verified their node",
        20_000,
      );
      assert(alpha.node.addrBook.knownAddress(pa.key.id) !== undefined);
      assertEquals(alpha.node.addrBook.knownAddress(pb.key.id), undefined);
      assertEquals(beta.node.addrBook.knownAddress(pa.key.id), undefined);

      const sa = await scriptPeer("alpha-1");
      const sb = await scriptPeer("beta-1");
      askers.push(sa, sb);
      const fromA = await askSeed(sa, seedA);
      const fromB = await askSeed(sb, seedB);
      assert(fromA.includes(pa.key.id), `alpha served ${fromA}`);
      assert(!fromA.includes(pb.key.id), "alpha served beta's node");
      assert(fromB.includes(pb.key.id), `beta served ${fromB}`);
      assert(!fromB.includes(pa.key.id), "beta served alpha's node");
    } finally {
      await stopAll(pa, pb, ...askers);
    }
  });
});

Deno.test("a ban on one chain is not a ban on another", async () => {
  await withMulti(THREE.slice(0, 2), async (node) => {
    const seedA = seedAddress(node, "default");
    const seedB = seedAddress(node, "beta");
    const onA = await scriptPeer("alpha-1");
    const onB = await scriptPeer("beta-1", onA.key); // the same identity on beta
    try {
      const alpha = node.chain("default")!.node;
      const beta = node.chain("beta")!.node;
      // Unsolicited addresses: the alpha seed bans the sender.
      const p = await connect(onA, seedA);
      await onA.script!.addrs(p, [{ id: "b".repeat(40), ip: "127.0.0.9", port: 9 }]);
      await until(() => alpha.addrBook.banInfo(onA.key.id) !== undefined, "alpha bans the peer");
      assertEquals(alpha.addrBook.banInfo(onA.key.id)!.reason, "unsolicited_addrs");
      await until(() => onA.sw.peers().list().length === 0, "alpha drops the peer");

      // Beta knows nothing of it: it connects, is answered, and its address is kept.
      const answer = await askSeed(onB, seedB);
      assert(Array.isArray(answer));
      assertEquals(beta.addrBook.banInfo(onB.key.id), undefined);
      await until(() => beta.addrBook.knownAddress(onB.key.id) !== undefined, "beta learns it");
      assertEquals(beta.addrBook.isBanned(onB.addr), false);
      assertEquals(alpha.addrBook.isBanned(onA.addr), true);
    } finally {
      await stopAll(onA, onB);
    }
  });
});
