/**
 * The daemon's node assembly (`node/node.ts`, what `switchyard node` runs) keeps the reactor
 * grammar by node ID: three in-process nodes built from a default config, every built-in reactor
 * on (PEX, consensus watcher, tx relay, chat) and wrapped in a grammar recorder through the
 * registry, connect, chat, disconnect and reconnect one pair, and stop.
 */
import { assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { waitFor } from "./util/p2p_harness.ts";
import { defaultConfig } from "../config/mod.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { Node } from "../node/node.ts";
import { REACTOR_REGISTRY, type ReactorEntry } from "../reactors/registry.ts";
import { checkSwitchGrammar, type NamedTrace, recordReactor } from "./util/reactor_grammar.ts";

const CHAIN = "grammar-test";

/** Builds a node in `home` whose every reactor is recorded into `traces`. */
async function recordedNode(home: string, traces: NamedTrace[]): Promise<Node> {
  const config = defaultConfig(home);
  config.p2p.laddr = "tcp://127.0.0.1:0";
  config.p2p.allowDuplicateIp = true;
  config.p2p.pex = true;
  config.rpc.laddr = "";
  config.instrumentation.prometheus = false;
  config.node.reactors = ["consensus_watcher", "tx_relay", "chat"];
  const registry: ReactorEntry[] = REACTOR_REGISTRY.map((e) => ({
    ...e,
    create: async (ctx) => {
      const built = await e.create(ctx);
      const rec = recordReactor(built.reactor);
      traces.push({ name: e.switchName, events: rec.events });
      return { ...built, reactor: rec };
    },
  }));
  return await Node.create({ config, chainId: CHAIN, nodeKey: NodeKey.generate(), registry });
}

function addrOf(n: Node): NetAddress {
  const a = n.p2pAddr!;
  return NetAddress.fromIPPort(a.hostname, a.port, n.nodeKey.id);
}

Deno.test("node: the daemon's reactors keep the grammar by node ID through connects, a reconnect and stop", async () => {
  await withTempDir(async (dir) => {
    const traces: NamedTrace[][] = [[], [], []];
    const nodes: Node[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        await Deno.mkdir(`${dir}/n${i}/config`, { recursive: true });
        await Deno.mkdir(`${dir}/n${i}/data`, { recursive: true });
        nodes.push(await recordedNode(`${dir}/n${i}`, traces[i]));
      }
      for (const n of nodes) await n.start();
      const [a, b, c] = nodes;
      await a.sw.dialPeerWithAddress(addrOf(b));
      await b.sw.dialPeerWithAddress(addrOf(c));
      // A cross-dial between a and c, both at once.
      await Promise.allSettled([
        a.sw.dialPeerWithAddress(addrOf(c)),
        c.sw.dialPeerWithAddress(addrOf(a)),
      ]);
      await waitFor(() => nodes.every((n) => n.sw.peers().size === 2), "full mesh");
      // b hangs up on a, then a redials.
      await b.sw.stopPeerGracefully(b.sw.peers().get(a.nodeKey.id)!);
      await waitFor(() => !a.sw.peers().has(b.nodeKey.id), "a sees b leave");
      await a.sw.dialPeerWithAddress(addrOf(b));
      await waitFor(() => b.sw.peers().has(a.nodeKey.id), "b has a again");
    } finally {
      for (const n of nodes) await n.stop();
    }
    traces.forEach((t, i) => {
      assertEquals(t.length, 4, "every built-in reactor recorded");
      assertEquals(checkSwitchGrammar(t), [], `grammar of node ${i}`);
    });
  });
});
