/**
 * `init` and `show-node-id` run as subprocesses with the cli task's permissions
 * (`tests/util/daemon.ts`): files, modes, messages and exit codes.
 */
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "./util/assert.ts";
import { loadConfig } from "../config/mod.ts";
import { NodeKey } from "../p2p/key.ts";
import { withTempDir } from "./util/temp_dir.ts";
import { cli } from "./util/daemon.ts";

/** A not-yet-existing home inside a fresh temp dir (so `init` creates it). */
function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  return withTempDir((dir) => fn(`${dir}/home`), "sy_cli_");
}

Deno.test("init writes config.toml, a 0600 node key and data/; show-node-id prints its ID", async () => {
  await withHome(async (home) => {
    const r = await cli("init", "--home", home);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `${home}/config/config.toml`);
    const keyPath = `${home}/config/node_key.json`;
    assertEquals((await Deno.stat(keyPath)).mode! & 0o777, 0o600);
    assert((await Deno.stat(`${home}/data`)).isDirectory);
    const key = await NodeKey.load(keyPath);
    assertStringIncludes(r.stdout, `Node ID ${key.id}`);
    const { config, warnings, fileFound } = await loadConfig({ home });
    assert(fileFound);
    assertEquals(warnings, []);
    assertEquals(config.chainId, "switchyard-local");
    const show = await cli("show-node-id", "--home", home);
    assertEquals(show.code, 0, show.stderr);
    assertEquals(show.stdout, `${key.id}\n`);
  });
});

Deno.test("init on an existing home keeps its files, says so, exits 0; --force makes a new key", async () => {
  await withHome(async (home) => {
    assertEquals((await cli("init", "--home", home)).code, 0);
    const first = (await NodeKey.load(`${home}/config/node_key.json`)).id;
    const configBefore = await Deno.readTextFile(`${home}/config/config.toml`);
    const again = await cli("init", "--home", home, "--moniker", "other");
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stdout, `Found config file ${home}/config/config.toml (kept)`);
    assertStringIncludes(again.stdout, `Found node key ${home}/config/node_key.json (kept)`);
    assertStringIncludes(again.stdout, `Node ID ${first}`);
    assertStringIncludes(again.stderr, "flags given were not written");
    assertEquals((await NodeKey.load(`${home}/config/node_key.json`)).id, first);
    assertEquals(await Deno.readTextFile(`${home}/config/config.toml`), configBefore);
    // A missing key next to a kept config is generated, as cometbft init does.
    await Deno.remove(`${home}/config/node_key.json`);
    const partial = await cli("init", "--home", home);
    assertEquals(partial.code, 0, partial.stderr);
    assertStringIncludes(partial.stdout, "Generated node key");
    assertStringIncludes(partial.stdout, "Found config file");
    const second = (await NodeKey.load(`${home}/config/node_key.json`)).id;
    const forced = await cli("init", "--home", home, "-f");
    assertEquals(forced.code, 0, forced.stderr);
    assertStringIncludes(forced.stdout, "Overwrote");
    assertNotEquals((await NodeKey.load(`${home}/config/node_key.json`)).id, second);
  });
});

Deno.test("init writes --chain-id, --moniker and other config flags into config.toml", async () => {
  await withHome(async (home) => {
    const r = await cli(
      "init",
      "--home",
      home,
      "--chain-id",
      "my-net",
      "--moniker=alice",
      "--p2p.laddr",
      "tcp://127.0.0.1:0",
      "--p2p.pex=false",
    );
    assertEquals(r.code, 0, r.stderr);
    const text = await Deno.readTextFile(`${home}/config/config.toml`);
    assertStringIncludes(text, 'chain_id = "my-net"');
    const { config } = await loadConfig({ home });
    assertEquals(config.chainId, "my-net");
    assertEquals(config.moniker, "alice");
    assertEquals(config.p2p.laddr, "tcp://127.0.0.1:0");
    assertEquals(config.p2p.pex, false);
  });
});

Deno.test("init with a bad flag value exits 2 with the config message and writes nothing", async () => {
  await withHome(async (home) => {
    const r = await cli("init", "--home", home, "--moniker", "caf\u00e9");
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      'config error: moniker = "caf\u00e9": must be non-empty printable ASCII (from flag --moniker)',
    );
    const missing = await Deno.stat(`${home}/config/config.toml`).then(() => false, () => true);
    assert(missing, "config.toml must not be written");
    const bad = await cli("init", "--home", home, "--bogus");
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.stderr, "unknown flag --bogus");
  });
});

Deno.test("show-node-id without a key exits 1 naming the path and init; creates nothing", async () => {
  await withHome(async (home) => {
    const r = await cli("show-node-id", "--home", home);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, `${home}/config/node_key.json`);
    assertStringIncludes(r.stderr, "does not exist");
    assertStringIncludes(r.stderr, `init --home ${home}`);
    const created = await Deno.stat(home).then(() => true, () => false);
    assertEquals(created, false);
  });
});

Deno.test("show-node-id follows node_key_file and reports config errors with exit 2", async () => {
  await withHome(async (home) => {
    await Deno.mkdir(`${home}/config`, { recursive: true });
    const key = NodeKey.generate();
    await key.save(`${home}/elsewhere/key.json`);
    await Deno.writeTextFile(
      `${home}/config/config.toml`,
      'node_key_file = "elsewhere/key.json"\n',
    );
    const r = await cli("show-node-id", "--home", home);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), key.id);
    await Deno.writeTextFile(`${home}/config/config.toml`, "[p2p]\nmax_num_inbound_peers = -1\n");
    const bad = await cli("show-node-id", "--home", home);
    assertEquals(bad.code, 2);
    assertStringIncludes(
      bad.stderr,
      "config error: p2p.max_num_inbound_peers = -1: must be an integer ≥ 0",
    );
  });
});

Deno.test("--help of init, show-node-id and the CLI exits 0 with usage", async () => {
  for (const cmd of ["init", "show-node-id"]) {
    const r = await cli(cmd, "--help");
    assertEquals(r.code, 0);
    assertStringIncludes(r.stdout, `Usage: switchyard ${cmd}`);
    assertStringIncludes(r.stdout, "Exit codes");
  }
  const top = await cli("--help");
  assertEquals(top.code, 0);
  assertStringIncludes(top.stdout, "init");
  assertStringIncludes(top.stdout, "show-node-id");
});
