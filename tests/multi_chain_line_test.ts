/**
 * `cometbft_line` per chain: `[chains.NAME] cometbft_line = "v1.0"` is accepted, a chain that does
 * not set it inherits the top level's, each chain's NodeInfo (as a peer reads it on the wire) and
 * reactors follow its own line, a bad value names `chains.NAME.cometbft_line`, and changing one
 * chain's line restarts that chain only on reload.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { lineMessageName, lineProfile } from "../p2p/cometbft_line.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { planReload } from "../node/reload.ts";
import type { MultiNode } from "../node/multi_node.ts";
import { makePexNode, stopAll } from "./util/pex_harness.ts";
import { buildMultiNode, multiChainConfig, seedAddress, writeConfig } from "./util/multi_chain.ts";

/** Three chains on three lines; `inh` sets none, so it takes the top level's. */
function threeLines(topLine?: string): string {
  return multiChainConfig([
    {
      name: "default",
      chainId: "main-1",
      top: [
        ...(topLine ? [`cometbft_line = "${topLine}"`] : []),
        `[node]`,
        `reactors = ["pex", "consensus_watcher"]`,
      ],
    },
    { name: "old", chainId: "old-1", top: [`cometbft_line = "v0.37"`] },
    { name: "new", chainId: "new-1", top: [`cometbft_line = "v1.0"`] },
    { name: "inh", chainId: "inh-1" },
  ]);
}

async function load(text: string, env: Record<string, string> = {}) {
  return await withTempDir(async (home) => {
    const path = await writeConfig(home, text);
    return await loadConfig({ home, configPath: path, env });
  }, "sy_chain_line_");
}

Deno.test("chain line: [chains.NAME] cometbft_line is the chain's own; unset, the top level's", async () => {
  const lines = (r: Awaited<ReturnType<typeof load>>) => [
    r.config.cometbftLine,
    ...r.chains.map((c) => `${c.name}=${c.config.cometbftLine}`),
  ];
  const def = await load(threeLines());
  assertEquals(def.warnings, []);
  assertEquals(lines(def), ["v0.38", "old=v0.37", "new=v1.0", "inh=v0.38"]);
  assertEquals(lines(await load(threeLines("v0.39"))), [
    "v0.39",
    "old=v0.37",
    "new=v1.0",
    "inh=v0.39",
  ]);
  // The environment sets the top level, so what chains inherit; a chain's own value still wins.
  assertEquals(lines(await load(threeLines(), { SWITCHYARD_COMETBFT_LINE: "auto" })), [
    "auto",
    "old=v0.37",
    "new=v1.0",
    "inh=auto",
  ]);
});

Deno.test("chain line: a bad value names chains.NAME.cometbft_line and the allowed values", async () => {
  const text = multiChainConfig([
    { name: "default", chainId: "main-1" },
    { name: "b", chainId: "b-1", top: [`cometbft_line = "v0.38.25"`] },
  ]);
  const err = await assertRejects(() => load(text), ConfigError);
  assertEquals(err.key, "chains.b.cometbft_line");
  assertStringIncludes(err.message, 'config error: chains.b.cometbft_line = "v0.38.25"');
  assertStringIncludes(err.message, "allowed: v0.34, v0.37, v0.38, v0.39, v0.40, v1.0, auto");
  // A wrong type too.
  const typed = multiChainConfig([
    { name: "default", chainId: "main-1" },
    { name: "b", chainId: "b-1", top: [`cometbft_line = 1.0`] },
  ]);
  const e2 = await assertRejects(() => load(typed), ConfigError);
  assertEquals(e2.key, "chains.b.cometbft_line");
});

/** The NodeInfo a client of `chain` reads in the handshake. */
async function nodeInfoOnWire(node: MultiNode, chain: string) {
  const c = node.chain(chain)!;
  const client = await makePexNode({ script: true, network: c.chainId, name: `ask-${chain}` });
  try {
    await client.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, chain)));
    // Recorded at addPeer: a seed may hang up soon after the handshake.
    return client.script!.added[0].nodeInfo;
  } finally {
    await stopAll(client);
  }
}

Deno.test("chain line: one process, each chain's NodeInfo and reactors on its own line", async () => {
  await withTempDir(async (home) => {
    await writeConfig(home, threeLines());
    const node = await buildMultiNode(home);
    try {
      await node.start();
      const expect: [string, string, number, string][] = [
        ["default", "v0.38", 8, "0.38.25"],
        ["old", "v0.37", 8, "0.37.18"],
        ["new", "v1.0", 9, "1.0.1"],
        ["inh", "v0.38", 8, "0.38.25"],
      ];
      const listed = new Map(node.chainInfos().map((c) => [c.name, c.cometbft_line]));
      for (const [name, line, p2p, version] of expect) {
        assertEquals(listed.get(name), line, "the chains route shows the chain's line");
        const ni = await nodeInfoOnWire(node, name);
        assertEquals(ni.network, node.chain(name)!.chainId);
        assertEquals([ni.protocolVersion.p2p, ni.protocolVersion.block], [p2p, 11], name);
        assertEquals(ni.version, version, name);
        const sw = node.chain(name)!.node.sw;
        const consensus = sw.reactor("CONSENSUS")!.getChannels()[0].messageType.fullName;
        assertEquals(consensus, `.${lineMessageName(lineProfile(line as "v1.0"), 0x20)}`, name);
      }
      // v1.0's consensus envelope is not v0.37's: the tables really differ per chain.
      const of = (n: string) =>
        node.chain(n)!.node.sw.reactor("CONSENSUS")!.getChannels()[0].messageType.fullName;
      assertEquals(of("old"), ".tendermint.consensus.Message");
      assertEquals(of("new"), ".cometbft.consensus.v1.Message");
    } finally {
      await node.stop();
    }
  }, "sy_chain_line_");
});

Deno.test("chain line: changing one chain's line restarts that chain only", async () => {
  await withTempDir(async (home) => {
    // One home for both configs: file paths (keys, books) must not differ for another reason.
    const loadAt = async (text: string) => {
      const r = await loadConfig({ home, configPath: await writeConfig(home, text) });
      return [
        { name: "default", config: r.config, chainId: r.config.chainId },
        ...r.chains.map((c) => ({ ...c, chainId: c.config.chainId })),
      ];
    };
    const before = await loadAt(threeLines());
    const after = await loadAt(
      threeLines().replace(`cometbft_line = "v0.37"`, `cometbft_line = "v0.34"`),
    );
    const plan = planReload(before, after);
    assertEquals(plan.restart.map((c) => c.name), ["old"]);
    assertEquals(plan.keep.map((c) => c.name), ["default", "new", "inh"]);
    assertEquals([plan.add, plan.remove], [[], []]);
    // The top level's line is inherited: changing it restarts the default chain and `inh`.
    const top = planReload(before, await loadAt(threeLines("v0.40")));
    assertEquals(top.restart.map((c) => c.name), ["default", "inh"]);
  }, "sy_chain_line_");
});
