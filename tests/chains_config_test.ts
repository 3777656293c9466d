/**
 * `[chains.NAME]` tables (config/chains.ts): each chain's effective config is the top level
 * overlaid with its table, identity keys are never inherited, unknown keys warn as at the top
 * level, and clashes between chains (listen address, chain ID, key file, address book) are
 * refused naming both keys.
 */
import { withTempDir } from "./util/temp_dir.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./util/assert.ts";
import {
  CHAIN_KEYS,
  CHAIN_OWN_KEYS,
  ConfigError,
  KEYS,
  laddrsClash,
  loadConfig,
} from "../config/mod.ts";

async function loadText(text: string, flags: Record<string, string> = {}) {
  return await withTempDir(async (dir) => {
    const path = `${dir}/config.toml`;
    await Deno.writeTextFile(path, text);
    return { dir, res: await loadConfig({ home: dir, configPath: path, flags }) };
  }, "sy_chains_");
}

const BASE = `
chain_id = "main-1"
moniker = "seed"
[p2p]
laddr = "tcp://127.0.0.1:26001"
seeds = "${"a".repeat(40)}@127.0.0.1:1"
max_num_inbound_peers = 77
seed_mode = true
deny_list = ["10.0.0.0/8"]
[p2p.seed]
crawl_period = "5s"
`;

Deno.test("a single-chain config has no extra chains and no warnings about them", async () => {
  const { res } = await loadText(BASE);
  assertEquals(res.chains, []);
  assertEquals(res.warnings, []);
  assertEquals(res.config.chainId, "main-1");
});

Deno.test("a chain inherits the top level except its identity keys", async () => {
  const { dir, res } = await loadText(
    BASE + `
[chains.osmo]
chain_id = "osmo-1"
[chains.osmo.p2p]
laddr = "tcp://127.0.0.2:26002"
max_num_inbound_peers = 5
[chains.osmo.p2p.seed]
verify_workers = 3
`,
  );
  assertEquals(res.warnings, []);
  assertEquals(res.chains.length, 1);
  const { name, config } = res.chains[0];
  assertEquals(name, "osmo");
  assertEquals(config.chainId, "osmo-1");
  assertEquals(config.moniker, "seed"); // inherited
  assertEquals(config.p2p.seedMode, true); // inherited
  assertEquals(config.p2p.denyList, ["10.0.0.0/8"]); // inherited, the chain may override
  assertEquals(config.p2p.seed.crawlPeriodMs, 5000); // inherited
  assertEquals(config.p2p.seed.verifyWorkers, 3); // own
  assertEquals(config.p2p.maxNumInboundPeers, 5); // own
  assertEquals(config.p2p.laddr, "tcp://127.0.0.2:26002");
  assertEquals(config.p2p.seeds, []); // identity: not the top level's seeds
  assertEquals(config.nodeKeyFile, `${dir}/config/chains/osmo/node_key.json`);
  assertEquals(config.p2p.addrBookFile, `${dir}/config/chains/osmo/addrbook.json`);
  // The top level is untouched.
  assertEquals(res.config.p2p.maxNumInboundPeers, 77);
});

Deno.test("chain keys derive from the key table: every [p2p] key, and no process-wide key", () => {
  for (const spec of KEYS) {
    const expected = spec.section === "p2p" || spec.section === "p2p.seed" ||
      spec.section === "node" ||
      (spec.section === "" && spec.path !== "log_level" && spec.path !== "log_format");
    assertEquals(CHAIN_KEYS.has(spec.path), expected, spec.path);
  }
  for (const k of CHAIN_OWN_KEYS) assert(CHAIN_KEYS.has(k), k);
  assert(CHAIN_KEYS.has("moniker") && CHAIN_KEYS.has("node_key_file"));
});

Deno.test("unknown and process-wide keys in a chain table are warned about, not fatal", async () => {
  const { res } = await loadText(
    BASE + `
[chains.b]
chain_id = "b-1"
bogus = 1
log_level = "debug"
[chains.b.p2p]
laddr = "tcp://127.0.0.3:26003"
frobnicate = true
[chains.b.rpc]
laddr = "tcp://127.0.0.1:1"
[chains.b.weird]
x = 1
`,
  );
  assertEquals(res.chains.length, 1);
  const w = res.warnings.join("\n");
  assertStringIncludes(w, 'unknown key "chains.b.bogus" ignored');
  assertStringIncludes(w, 'unknown key "chains.b.p2p.frobnicate" ignored');
  assertStringIncludes(w, '"chains.b.log_level" ignored: log_level is process-wide');
  assertStringIncludes(w, '"chains.b.rpc" ignored: rpc is process-wide');
  assertStringIncludes(w, "unknown table [chains.b.weird] ignored");
});

Deno.test("bad values and missing keys in a chain table name chains.NAME.<key>", async () => {
  const cases: [string, string][] = [
    [
      `[chains.b]\nchain_id = "b"\n[chains.b.p2p]\nladdr = "udp://x"`,
      "config error: chains.b.p2p.laddr",
    ],
    [
      `[chains.b]\nchain_id = "b"\n[chains.b.p2p]\nladdr = "tcp://127.0.0.1:5"\nmax_num_inbound_peers = -1`,
      "config error: chains.b.p2p.max_num_inbound_peers = -1",
    ],
    [
      `[chains.b]\nchain_id = "b"\n[chains.b.p2p]\nladdr = "tcp://127.0.0.1:5"\nseed_mode = true\npex = false`,
      "config error: chains.b.p2p.seed_mode",
    ],
    [`[chains.b]\nchain_id = "b"`, "chains.b.p2p.laddr is not set"],
    [`[chains.b.p2p]\nladdr = "tcp://127.0.0.1:5"`, "chains.b.chain_id is not set"],
    [`[chains.default]\nchain_id = "x"`, '"default" names the top-level chain'],
    [`[chains."a b"]\nchain_id = "x"`, "a chain name must be"],
    [`[chains]\nb = 3`, "config error: chains.b = 3: must be a table"],
    [`[chains.b]\np2p = 3`, "config error: chains.b.p2p = 3: must be a table"],
  ];
  for (const [text, msg] of cases) {
    await assertRejects(() => loadText(BASE + text), ConfigError, msg);
  }
});

Deno.test("clashes between chains are refused naming both keys", async () => {
  const chain = (name: string, body: string) => `\n[chains.${name}]\n${body}\n`;
  const p2p = (name: string, laddr: string, extra = "") =>
    `[chains.${name}.p2p]\nladdr = "${laddr}"\n${extra}`;
  const cases: [string, string][] = [
    [
      chain("b", 'chain_id = "b-1"') + p2p("b", "tcp://127.0.0.1:26001"),
      'chains.b.p2p.laddr = "tcp://127.0.0.1:26001" clashes with p2p.laddr',
    ],
    [
      chain("b", 'chain_id = "b-1"') + p2p("b", "tcp://0.0.0.0:26001"),
      "chains.b.p2p.laddr",
    ],
    [
      chain("b", 'chain_id = "main-1"') + p2p("b", "tcp://127.0.0.1:26002"),
      'chains.b.chain_id = "main-1" clashes with chain_id',
    ],
    [
      chain("b", 'chain_id = "b-1"\nnode_key_file = "config/node_key.json"') +
      p2p("b", "tcp://127.0.0.1:26002"),
      "chains.b.node_key_file",
    ],
    [
      chain("b", 'chain_id = "b-1"') + p2p("b", "tcp://127.0.0.1:26002") +
      chain("c", 'chain_id = "c-1"') +
      p2p("c", "tcp://127.0.0.1:26003", 'addr_book_file = "config/chains/b/addrbook.json"'),
      "chains.c.p2p.addr_book_file",
    ],
  ];
  for (const [text, msg] of cases) {
    const err = await assertRejects(() => loadText(BASE + text), ConfigError, msg);
    assertStringIncludes(err.message, "(set a different");
  }
  // Port 0 never clashes; different hosts on one port do not either.
  assert(!laddrsClash("tcp://127.0.0.1:0", "tcp://127.0.0.1:0"));
  assert(!laddrsClash("tcp://127.0.0.1:5", "tcp://127.0.0.2:5"));
  assert(laddrsClash("tcp://[::]:5", "tcp://127.0.0.2:5"));
});

Deno.test("flags override the top level, and chains inherit what they do not set", async () => {
  const { res } = await loadText(
    BASE + `[chains.b]\nchain_id = "b-1"\n[chains.b.p2p]\nladdr = "tcp://127.0.0.1:26002"\n`,
    { "p2p.max_num_outbound_peers": "3", "p2p.laddr": "tcp://127.0.0.1:26009" },
  );
  assertEquals(res.config.p2p.maxNumOutboundPeers, 3);
  assertEquals(res.chains[0].config.p2p.maxNumOutboundPeers, 3);
  assertEquals(res.config.p2p.laddr, "tcp://127.0.0.1:26009");
  assertEquals(res.chains[0].config.p2p.laddr, "tcp://127.0.0.1:26002");
});
