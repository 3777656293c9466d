/**
 * The daemon's node through mod.ts: `loadConfig` + `resolveChainId` + `Node.create/start/stop`
 * on loopback, advertising the configured line, with `SWITCHYARD_VERSION` and the config types
 * exported beside it.
 */
import { assert, assertEquals } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import {
  type Config,
  KNOWN_REACTORS,
  loadConfig,
  Node,
  resolveChainId,
  SWITCHYARD_VERSION,
} from "../mod.ts";
import { SWITCHYARD_VERSION as VERSION_TS } from "../version.ts";

Deno.test("mod.ts: a Node built from loadConfig starts on loopback and stops", async () => {
  assertEquals(SWITCHYARD_VERSION, VERSION_TS);
  assert(KNOWN_REACTORS.includes("pex"));
  await withTempDir(async (home) => {
    const { config } = await loadConfig({
      home,
      flags: {
        chain_id: "lib-chain",
        cometbft_line: "v1.0",
        moniker: "lib-node",
        "p2p.laddr": "tcp://127.0.0.1:0",
        "rpc.laddr": "",
      },
    });
    const typed: Config = config;
    const node = await Node.create({ config: typed, chainId: await resolveChainId(config) });
    await node.start();
    try {
      assertEquals(node.state.code, "running");
      assertEquals(node.chainId, "lib-chain");
      assertEquals(node.nodeInfo.network, "lib-chain");
      assertEquals(node.nodeInfo.moniker, "lib-node");
      assertEquals(node.nodeInfo.id, node.nodeKey.id);
      assertEquals(node.nodeInfo.protocolVersion.p2p, 9);
      assertEquals(node.nodeInfo.version, "1.0.1");
      assertEquals(node.p2pAddr?.hostname, "127.0.0.1");
      assert((node.p2pAddr?.port ?? 0) > 0, "listening on a real port");
    } finally {
      await node.stop();
    }
    assertEquals(node.state.code, "stopped");
  });
});
