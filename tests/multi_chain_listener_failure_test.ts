/**
 * A chain whose p2p listener fails for good (an accept error retrying cannot fix) beside other
 * chains: that chain alone is restarted with its config and listens again, another chain's peer
 * keeps its very connection, and the process-wide `fatal` does not fire. Alone in a process the
 * same failure resolves `fatal` (the daemon exits 1, as a Go node's switch panics).
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { makePexNode, type PexTestNode, stopAll, until } from "./util/pex_harness.ts";
import { buildMultiNode, multiChainConfig, seedAddress, writeConfig } from "./util/multi_chain.ts";
import { NetAddress } from "../p2p/netaddress.ts";

/** An accept error no retry fixes (the accept loop classifies EINVAL as fatal). */
function einval(): Error {
  return Object.assign(new Error("accept failed: Invalid argument (os error 22)"), {
    code: "EINVAL",
  });
}

/**
 * Wraps `Deno.listen` while `fn` runs so that the listener bound to a port in `doomed` can be
 * made to fail its next accept by calling the returned trigger.
 */
async function withFailingListeners<T>(
  fn: (fail: (port: number) => void) => Promise<T>,
): Promise<T> {
  const real = Deno.listen;
  const failers = new Map<number, () => void>();
  // deno-lint-ignore no-explicit-any
  (Deno as any).listen = (opts: Deno.TcpListenOptions) => {
    const l = real(opts) as Deno.TcpListener;
    const port = (l.addr as Deno.NetAddr).port;
    let failNow: (() => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      failNow = () => reject(einval());
    });
    failed.catch(() => {});
    failers.set(port, failNow!);
    const accept = l.accept.bind(l);
    l.accept = () => Promise.race([accept(), failed]);
    return l;
  };
  try {
    return await fn((port) => failers.get(port)?.());
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).listen = real;
  }
}

Deno.test("a chain whose listener fails for good is restarted alone; the other chain's peer stays", async () => {
  await withTempDir(async (home) => {
    await writeConfig(
      home,
      multiChainConfig([
        { name: "default", chainId: "alpha-1" },
        { name: "beta", chainId: "beta-1" },
      ]),
    );
    const clients: PexTestNode[] = [];
    await withFailingListeners(async (fail) => {
      const node = await buildMultiNode(home);
      await node.start();
      let fatal: Error | undefined;
      node.fatal.then((e) => fatal = e);
      try {
        const onAlpha = await makePexNode({ script: true, network: "alpha-1", name: "steady" });
        clients.push(onAlpha);
        await onAlpha.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, "default")));
        const steady = onAlpha.sw.peers().list()[0];
        assert(steady !== undefined, "peer on alpha connected");

        const oldBeta = node.chain("beta")!.node;
        const betaPort = oldBeta.p2pAddr!.port;
        fail(betaPort);
        await until(() => node.chain("beta")!.node !== oldBeta, "beta restarted", 10_000);
        const newBeta = node.chain("beta")!.node;
        assertEquals(newBeta.state.code, "running");
        // The test config asks for port 0, so the restarted chain listens on a new free port.
        assert(newBeta.p2pAddr !== undefined && betaPort > 0, "beta listens again");
        assertEquals(newBeta.nodeKey.id, oldBeta.nodeKey.id, "same node key");

        // Beta admits a newcomer again; alpha's peer is the very same connection.
        const onBeta = await makePexNode({ script: true, network: "beta-1", name: "newcomer" });
        clients.push(onBeta);
        await onBeta.sw.dialPeerWithAddress(await NetAddress.parse(seedAddress(node, "beta")));
        assertEquals(onBeta.sw.peers().size, 1, "newcomer admitted by the restarted beta");
        assert(onAlpha.sw.peers().list()[0] === steady, "alpha's peer kept its connection");
        assertEquals(fatal, undefined, "no process-wide fatal");
      } finally {
        await stopAll(...clients);
        await node.stop();
      }
    });
  }, "sy_chain_fail_");
});

Deno.test("a lone chain whose listener fails for good resolves fatal (the daemon exits 1)", async () => {
  await withTempDir(async (home) => {
    await writeConfig(home, multiChainConfig([{ name: "default", chainId: "alpha-1" }]));
    await withFailingListeners(async (fail) => {
      const node = await buildMultiNode(home);
      await node.start();
      try {
        fail(node.chain("default")!.node.p2pAddr!.port);
        const err = await node.fatal;
        assert(err instanceof Error, String(err));
      } finally {
        await node.stop();
      }
    });
  }, "sy_chain_fail1_");
});
