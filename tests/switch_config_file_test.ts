/**
 * `loadSwitchConfig` (exported by mod.ts): a switchyard home's config.toml, node key and chain
 * ID become createSwitch options, with the daemon's precedence (flags over file).
 */
import { assertEquals, assertRejects } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { createSwitch, loadSwitchConfig, NodeKey } from "../mod.ts";
import { bytesChannel, TestReactor } from "./util/p2p_harness.ts";

Deno.test("loadSwitchConfig: config.toml, node key and flags become a running switch's settings", async () => {
  await withTempDir(async (home) => {
    await Deno.mkdir(`${home}/config`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/config/config.toml`,
      [
        'chain_id = "from-file"',
        'moniker = "embedded"',
        "[p2p]",
        'laddr = "tcp://127.0.0.1:1"',
        "max_num_inbound_peers = 7",
        "max_waiting_sends_per_peer = 9",
        'persistent_peers = ""',
      ].join("\n") + "\n",
    );
    const key = NodeKey.generate();
    await key.save(`${home}/config/node_key.json`);
    const loaded = await loadSwitchConfig({ home, flags: { "p2p.laddr": "tcp://127.0.0.1:0" } });
    assertEquals(loaded.fileFound, true);
    assertEquals(loaded.options.network, "from-file");
    assertEquals(loaded.options.moniker, "embedded");
    assertEquals(loaded.options.key?.id, key.id);
    assertEquals(loaded.options.listen, { hostname: "127.0.0.1", port: 0 });
    assertEquals(loaded.options.config?.maxNumInboundPeers, 7);
    assertEquals(loaded.options.config?.maxWaitingSends, 9);
    const node = await createSwitch({
      ...loaded.options,
      reactors: [["t", new TestReactor("t", [bytesChannel(0x20)])]],
    });
    try {
      assertEquals(node.sw.state, "running");
      assertEquals(node.nodeInfo.network, "from-file");
      assertEquals(node.addr?.id, key.id);
    } finally {
      await node.stop();
    }
  });
});

Deno.test("loadSwitchConfig: a unix p2p.laddr is refused naming the key", async () => {
  await withTempDir(async (home) => {
    await assertRejects(
      () =>
        loadSwitchConfig({
          home,
          loadNodeKey: false,
          flags: { "p2p.laddr": "unix:///tmp/x.sock", "chain_id": "c" },
        }),
      Error,
      "p2p.laddr",
    );
  });
});
