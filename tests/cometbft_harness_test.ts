import assert from "node:assert/strict";
import { interopTest, setTomlKey, startCometbft } from "./interop/cometbft.ts";

const assertEquals: <T>(a: unknown, b: T) => void = (a, b) => assert.deepStrictEqual(a, b);

Deno.test("setTomlKey rewrites the key inside the right section only", () => {
  const text = [
    'moniker = "a"',
    "",
    "[rpc]",
    'laddr = "tcp://127.0.0.1:26657"',
    "",
    "[p2p]",
    'laddr = "tcp://0.0.0.0:26656"',
    "pex = true",
    "",
  ].join("\n");
  let out = setTomlKey(text, "p2p.laddr", "tcp://127.0.0.1:1");
  out = setTomlKey(out, "p2p.pex", false);
  out = setTomlKey(out, "moniker", "b");
  out = setTomlKey(out, "rpc.unsafe", true);
  out = setTomlKey(out, "mempool.type", "nop");
  assertEquals(
    out,
    [
      'moniker = "b"',
      "",
      "[rpc]",
      'laddr = "tcp://127.0.0.1:26657"',
      "unsafe = true",
      "",
      "[p2p]",
      'laddr = "tcp://127.0.0.1:1"',
      "pex = false",
      "",
      "[mempool]",
      'type = "nop"',
      "",
    ].join("\n"),
  );
});

interopTest(
  "cometbft harness: node starts, reports our chain id, makes blocks, stops",
  async () => {
    const node = await startCometbft({ chainId: "harness-chain", moniker: "harness" });
    try {
      const st = await node.status();
      assertEquals(st.node_info.network, "harness-chain");
      assertEquals(st.node_info.id, node.id);
      assertEquals(st.node_info.moniker, "harness");
      assertEquals(st.node_info.listen_addr, `tcp://127.0.0.1:${node.p2pPort}`);
      assert.match(node.id, /^[0-9a-f]{40}$/);
      const h0 = Number(st.sync_info.latest_block_height);
      await node.waitForLog(new RegExp(`height=${h0 + 2}\\b`), 20_000);
      const h1 = Number((await node.status()).sync_info.latest_block_height);
      assert(h1 > h0, `height did not grow: ${h0} -> ${h1}`);
      const ni = await node.netInfo();
      assertEquals(ni.listening, true);
      assertEquals(ni.n_peers, "0");
      await node.waitForLog(/P2P Node ID/);
    } finally {
      await node.stop();
    }
  },
);
