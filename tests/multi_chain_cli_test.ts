/**
 * The `node` command with `[chains.NAME]` tables, as an operator meets it: a clashing config
 * exits 2 naming both keys, an extra chain that cannot bind exits 1 naming the chain, unknown
 * keys in a chain table are warned about on stderr, and nothing is left listening.
 */
import { assertEquals, assertStringIncludes } from "./util/assert.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { runCli } from "./util/daemon.ts";
import { multiChainConfig, writeConfig } from "./util/multi_chain.ts";

/** Bounds a run that should exit at start-up (only a broken daemon reaches it). */
const RUN_TIMEOUT_MS = 30_000;

Deno.test("node: chains sharing a listen address exit 2 naming both keys", async () => {
  await withTempDir(async (home) => {
    await writeConfig(
      home,
      multiChainConfig([
        { name: "default", chainId: "a-1", laddr: "tcp://127.0.0.1:7" },
        { name: "beta", chainId: "b-1", laddr: "tcp://0.0.0.0:7" },
      ]),
    );
    const r = await runCli(["node", "--home", home], { timeoutMs: RUN_TIMEOUT_MS });
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(
      r.stderr,
      'error: config error: chains.beta.p2p.laddr = "tcp://0.0.0.0:7" clashes with p2p.laddr',
    );
  }, "sy_multi_cli_");
});

Deno.test("node: an extra chain that cannot bind exits 1 naming the chain; chain-table typos warn", async () => {
  await withTempDir(async (home) => {
    const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (squatter.addr as Deno.NetAddr).port;
      await writeConfig(
        home,
        multiChainConfig([
          { name: "default", chainId: "a-1" },
          { name: "beta", chainId: "b-1", laddr: `tcp://127.0.0.1:${port}`, p2p: ["lader = 1"] },
        ]),
      );
      const r = await runCli(["node", "--home", home], { timeoutMs: RUN_TIMEOUT_MS });
      assertEquals(r.code, 1, r.stderr);
      // Unknown keys are one log line listing them ("Config keys switchyard does not use").
      assertStringIncludes(r.stdout + r.stderr, "does not use, ignored");
      assertStringIncludes(r.stdout + r.stderr, "chains.beta.p2p.lader");
      assertStringIncludes(r.stderr, `error: chain beta: p2p.laddr tcp://127.0.0.1:${port}:`);
      // The key of the chain that got as far as loading it was generated on first start.
      await Deno.stat(`${home}/config/chains/beta/node_key.json`);
    } finally {
      squatter.close();
    }
  }, "sy_multi_cli_");
});
