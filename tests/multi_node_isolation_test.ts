/**
 * Fault isolation between chains of one process: on the default chain a reactor throws, hostile
 * clients send garbage, a malformed PEX packet, a ping flood and half-open handshakes, and
 * finally its listener dies; a peer on chain beta stays connected through all of it (the very
 * same connection), beta still accepts a new peer and answers, and the RPC keeps serving.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";
import { bytesChannel, TestReactor } from "./util/p2p_harness.ts";
import {
  handshakePeer,
  packetMsg,
  pings,
  randomBytes,
  rawConnect,
  secretOnly,
  waitClosed,
  writeQuietly,
} from "./util/hostile.ts";
import {
  buildMultiNode,
  getJson,
  multiChainConfig,
  rpcBase,
  seedAddress,
  writeConfig,
} from "./util/multi_chain.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { REACTOR_REGISTRY, type ReactorEntry } from "../reactors/registry.ts";

/** The test reactor's channel. */
const THROW_CHANNEL = 0x77;

/** The registry with "chat" replaced by a reactor that throws on every message. */
function throwingRegistry(thrown: TestReactor[]): ReactorEntry[] {
  return REACTOR_REGISTRY.map((e) =>
    e.name !== "chat" ? e : {
      name: "chat",
      switchName: "THROWER",
      create: () => {
        const r = new TestReactor("THROWER", [bytesChannel(THROW_CHANNEL)]);
        r.throwOn = () => true;
        thrown.push(r);
        return { reactor: r };
      },
    }
  );
}

Deno.test("a throwing reactor, hostile peers and a dead listener on one chain leave another chain's peer alone", async () => {
  await withTempDir(async (home) => {
    await writeConfig(
      home,
      multiChainConfig([
        { name: "default", chainId: "alpha-1", top: ["[node]", 'reactors = ["pex", "chat"]'] },
        // Beta would inherit node.reactors from the top level: it runs PEX only.
        { name: "beta", chainId: "beta-1", top: ["[chains.beta.node]", 'reactors = ["pex"]'] },
      ]),
    );
    const throwers: TestReactor[] = [];
    const node = await buildMultiNode(home, { registry: throwingRegistry(throwers) });
    await node.start();
    const clients: PexTestNode[] = [];
    try {
      assertEquals(throwers.length, 1, "only the default chain runs the throwing reactor");
      const alpha = node.chain("default")!.node;
      const beta = node.chain("beta")!.node;
      const alphaPort = alpha.p2pAddr!.port;
      const onBeta = await makePexNode({ script: true, network: "beta-1", name: "steady" });
      clients.push(onBeta);
      await onBeta.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, "beta")));
      const steady = onBeta.sw.peers().list()[0];

      // 1. A reactor throws: that peer is stopped, nothing else.
      const p1 = await handshakePeer(alphaPort, {
        network: "alpha-1",
        channels: [0x00, THROW_CHANNEL],
      });
      await p1.send(packetMsg(THROW_CHANNEL, true, new Uint8Array()));
      await p1.closed();
      p1.close();
      assertEquals(throwers[0].removed.length, 1);

      // 2. Garbage before the handshake, garbage after it, a malformed PEX packet, a ping flood.
      const raw = await rawConnect(alphaPort);
      await writeQuietly(raw, randomBytes(4096));
      await waitClosed(raw);
      const p2 = await secretOnly(alphaPort);
      await p2.send(randomBytes(2048));
      await p2.closed();
      p2.close();
      const p3 = await handshakePeer(alphaPort, { network: "alpha-1" });
      await p3.send(packetMsg(0x00, true, randomBytes(64)));
      await p3.closed();
      p3.close();
      const p4 = await handshakePeer(alphaPort, { network: "alpha-1" });
      await p4.send(pings(1500));
      await p4.closed();
      p4.close();
      // 3. Half-open connections that never speak, then the listener dies.
      const half = await Promise.all([1, 2, 3, 4, 5].map(() => rawConnect(alphaPort)));
      await alpha.transport.close();
      for (const c of half) await waitClosed(c);

      // Beta: the same connection, still running, never removed.
      assert(steady.isRunning);
      assertEquals(onBeta.script!.removed.length, 0);
      assertEquals(beta.sw.peers().list().map((p) => p.id), [onBeta.key.id]);
      // Beta still accepts a newcomer and answers it; the RPC still serves both chains.
      const newcomer = await makePexNode({ script: true, network: "beta-1", name: "new" });
      clients.push(newcomer);
      await newcomer.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, "beta")));
      const np = newcomer.sw.peers().list()[0];
      await newcomer.script!.request(np);
      await until(() => newcomer.script!.of("pex_addrs").length === 1, "beta answers");
      const listed = (await getJson(rpcBase(node), "/chains")).result as {
        chains: { name: string; peers: { inbound: number } }[];
      };
      assertEquals(listed.chains.map((c) => c.name), ["default", "beta"]);
      assert(listed.chains[1].peers.inbound >= 1);
    } finally {
      await stopAll(...clients);
      await node.stop();
    }
  }, "sy_isolation_");
});
