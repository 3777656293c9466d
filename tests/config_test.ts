import { parse } from "smol-toml";
import { withTempDir } from "./util/temp_dir.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./util/assert.ts";
import {
  buildConfig,
  ConfigError,
  defaultConfig,
  DurationError,
  enabledReactors,
  ensureHome,
  ENV_VARS,
  envName,
  formatGoDuration,
  KEYS,
  loadConfig,
  parseConfigArgs,
  parseConfigText,
  parseGoDuration,
  renderConfigToml,
  resolveChainId,
  resolveHome,
  UsageError,
} from "../config/mod.ts";

const HOME = "/srv/sy";

/** A temp dir named like the other config tests' dirs (`sy_config_…`). */
const withConfigDir = (fn: (dir: string) => Promise<void>) => withTempDir(fn, "sy_config_");

/** Loads `text` as the config file of a fresh temp home. */
async function loadText(
  text: string,
  extra: { flags?: Record<string, string>; env?: Record<string, string> } = {},
) {
  let result: Awaited<ReturnType<typeof loadConfig>> | undefined;
  await withConfigDir(async (dir) => {
    const path = `${dir}/config.toml`;
    await Deno.writeTextFile(path, text);
    result = await loadConfig({ home: dir, configPath: path, ...extra });
  });
  return result!;
}

Deno.test("parseGoDuration accepts Go's syntax", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["0s", 0],
    ["100ms", 100e6],
    ["20s", 20e9],
    ["1m30s", 90e9],
    ["1h", 3600e9],
    ["2h45m", 9900e9],
    ["1.5s", 1.5e9],
    [".5s", 0.5e9],
    ["1.s", 1e9],
    ["300us", 300e3],
    ["300\u00b5s", 300e3],
    ["300\u03bcs", 300e3],
    ["42ns", 42],
    ["1h1m1s1ms1us1ns", 3661001001001],
    ["-1s", -1e9],
    ["+5s", 5e9],
  ];
  for (const [text, ns] of cases) assertEquals(parseGoDuration(text), ns, text);
});

Deno.test("parseGoDuration rejects what Go rejects", () => {
  for (
    const text of [
      "",
      "1",
      "10",
      "s",
      "1x",
      "1.5.3s",
      "abc",
      "--1s",
      "1s2",
      ".s",
      "1 s",
      " 1s",
      "1S",
    ]
  ) {
    assertThrows(() => parseGoDuration(text), DurationError, "invalid duration");
  }
  assertThrows(() => parseGoDuration("3000000h"), DurationError, "out of range");
});

Deno.test("formatGoDuration matches Go's Duration.String", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [999, "999ns"],
    [1500, "1.5\u00b5s"],
    [100e6, "100ms"],
    [1.5e6, "1.5ms"],
    [3e9, "3s"],
    [1.5e9, "1.5s"],
    [60e9, "1m0s"],
    [90e9, "1m30s"],
    [1800e9, "30m0s"],
    [28 * 3600e9, "28h0m0s"],
    [3661001000000, "1h1m1.001s"],
    [-2e9, "-2s"],
  ];
  for (const [ns, text] of cases) {
    assertEquals(formatGoDuration(ns), text, String(ns));
    assertEquals(parseGoDuration(text), ns, text);
  }
});

Deno.test("defaults of [p2p] are CometBFT v0.38's (spec §10.1), all 20 keys", () => {
  const doc = parse(renderConfigToml(defaultConfig(HOME))) as Record<
    string,
    Record<string, unknown>
  >;
  const expected: Record<string, unknown> = {
    laddr: "tcp://0.0.0.0:26656",
    external_address: "",
    seeds: "",
    persistent_peers: "",
    addr_book_file: "config/addrbook.json",
    addr_book_strict: true,
    max_num_inbound_peers: 40,
    max_num_outbound_peers: 10,
    unconditional_peer_ids: "",
    persistent_peers_max_dial_period: "0s",
    flush_throttle_timeout: "100ms",
    max_packet_msg_payload_size: 1024,
    send_rate: 5120000,
    recv_rate: 5120000,
    pex: true,
    seed_mode: false,
    private_peer_ids: "",
    allow_duplicate_ip: false,
    handshake_timeout: "20s",
    dial_timeout: "3s",
  };
  for (const [key, value] of Object.entries(expected)) assertEquals(doc.p2p[key], value, key);
  assertEquals(KEYS.filter((k) => k.section === "p2p" && k.cometbft).length, 20);
  assertEquals(doc.rpc.laddr, "tcp://127.0.0.1:26657");
  assertEquals(doc.rpc.unsafe, false);
  assertEquals(doc.rpc.max_body_bytes, 1000000);
  assertEquals(doc.rpc.max_request_batch_size, 10);
  assertEquals({ ...doc.instrumentation }, {
    prometheus: false,
    prometheus_listen_addr: ":26660",
    max_open_connections: 3,
    namespace: "cometbft",
    peer_labels: false,
  });
  assertEquals(doc.log_level as unknown, "info");
  assertEquals(doc.log_format as unknown, "plain");
  assertEquals(doc.node_key_file as unknown, "config/node_key.json");
  assertEquals(doc.node.reactors, ["pex"]);
  assertEquals(doc.node.version, "");
  assertEquals(doc.cometbft_line as unknown, "v0.38");
  assertEquals(doc.node.protocol_block, 11);
});

Deno.test("default config renders and re-parses to the same config, without warnings", async () => {
  await withConfigDir(async (dir) => {
    const def = defaultConfig(dir);
    await Deno.mkdir(`${dir}/config`);
    await Deno.writeTextFile(`${dir}/config/config.toml`, renderConfigToml(def));
    const { config, warnings, fileFound } = await loadConfig({ home: dir });
    assert(fileFound);
    assertEquals(warnings, []);
    assertEquals(config, def);
  });
});

Deno.test("a non-default config round-trips through render and parse", () => {
  const id = "a".repeat(40);
  const flags: Record<string, string> = {
    moniker: "node-1",
    chain_id: "test-chain-x",
    log_level: "p2p:debug,*:error",
    log_format: "json",
    "p2p.seeds": `${id}@127.0.0.1:26656, ${"b".repeat(40)}@seed.example.com:26656`,
    "p2p.persistent_peers": `${id}@[::1]:26656`,
    "p2p.unconditional_peer_ids": id,
    "p2p.flush_throttle_timeout": "10ms",
    "p2p.persistent_peers_max_dial_period": "1m30s",
    "p2p.pex": "false",
    "p2p.deny_list": `10.0.0.0/8,2001:db8::/32,${id}`,
    "p2p.addr_book_file": "/var/lib/book.json",
    "p2p.seed.address_expiry": "1h",
    "rpc.laddr": "unix:///tmp/sy.sock",
    "node.reactors": "pex,chat",
    "node.tx_index": "on",
    "instrumentation.prometheus": "true",
  };
  const c = buildConfig(HOME, [
    new Map(
      Object.entries(flags).map(([k, v]) => [k, { raw: v, source: { kind: "flag", name: k } }]),
    ),
  ]);
  assertEquals(c.p2p.seeds.length, 2);
  assertEquals(c.p2p.addrBookFile, "/var/lib/book.json");
  assertEquals(c.p2p.denyList, ["10.0.0.0/8", "2001:db8::/32", id]);
  const parsed = parseConfigText(renderConfigToml(c), "x.toml");
  assertEquals(parsed.warnings, []);
  const again = buildConfig(HOME, [
    new Map(
      [...parsed.values].map(([k, v]) => [k, { raw: v, source: { kind: "file", path: "x" } }]),
    ),
  ]);
  assertEquals(again, c);
});

/** Each bad value and the exact message it must produce. */
const BAD_VALUES: [string, string][] = [
  [
    "[p2p]\nmax_num_inbound_peers = -1",
    "config error: p2p.max_num_inbound_peers = -1: must be an integer ≥ 0",
  ],
  [
    '[p2p]\nmax_num_outbound_peers = "1.5"',
    'config error: p2p.max_num_outbound_peers = "1.5": must be an integer ≥ 0',
  ],
  ['[p2p]\nsend_rate = "fast"', 'config error: p2p.send_rate = "fast": must be an integer ≥ 0'],
  [
    "[p2p]\nmax_packet_msg_payload_size = 0",
    "config error: p2p.max_packet_msg_payload_size = 0: must be an integer ≥ 1",
  ],
  ['[p2p]\npex = "yes"', 'config error: p2p.pex = "yes": must be a boolean (true or false)'],
  [
    '[p2p]\nflush_throttle_timeout = "100"',
    'config error: p2p.flush_throttle_timeout = "100": must be a duration (Go duration syntax, e.g. "100ms", "20s", "1m30s")',
  ],
  [
    '[p2p]\nflush_throttle_timeout = ["100ms"]',
    'config error: p2p.flush_throttle_timeout = ["100ms"]: must be a duration string (Go duration syntax, e.g. "100ms", "20s", "1m30s")',
  ],
  [
    '[p2p]\npersistent_peers_max_dial_period = "-1s"',
    'config error: p2p.persistent_peers_max_dial_period = "-1s": must be a duration ≥ 0 (Go duration syntax, e.g. "100ms", "20s", "1m30s")',
  ],
  [
    '[p2p]\nping_interval = "0s"',
    'config error: p2p.ping_interval = "0s": must be a duration > 0 (Go duration syntax, e.g. "100ms", "20s", "1m30s")',
  ],
  ['moniker = ""', 'config error: moniker = "": must be non-empty printable ASCII'],
  [
    'moniker = "caf\u00e9"',
    'config error: moniker = "caf\u00e9": must be non-empty printable ASCII',
  ],
  ["moniker = [5]", "config error: moniker = [5]: must be a string"],
  [
    'log_level = "p2p:verbose"',
    'config error: log_level = "p2p:verbose": must be debug, info, error or none, or module:level pairs like "p2p:debug,*:info"',
  ],
  [
    'log_format = "xml"',
    `config error: log_format = "xml": unknown log_format (must be 'plain' or 'json')`,
  ],
  [
    `chain_id = "${"c".repeat(51)}"`,
    `config error: chain_id = "${
      "c".repeat(51)
    }": must be printable ASCII of at most 50 characters, without surrounding spaces`,
  ],
  [
    '[p2p]\nladdr = "udp://0.0.0.0:26656"',
    'config error: p2p.laddr = "udp://0.0.0.0:26656": must be tcp://host:port',
  ],
  [
    '[p2p]\nladdr = "tcp://0.0.0.0"',
    'config error: p2p.laddr = "tcp://0.0.0.0": must be tcp://host:port (missing :port)',
  ],
  [
    '[p2p]\nladdr = "tcp://0.0.0.0:99999"',
    'config error: p2p.laddr = "tcp://0.0.0.0:99999": must be tcp://host:port (port 99999 out of range (0-65535))',
  ],
  [
    '[p2p]\nexternal_address = "1.2.3.4"',
    'config error: p2p.external_address = "1.2.3.4": must be empty or host:port (missing :port)',
  ],
  [
    '[p2p]\nseeds = "abc@1.2.3.4:26656"',
    'config error: p2p.seeds = "abc@1.2.3.4:26656": entry "abc@1.2.3.4:26656": bad node ID: encoding/hex: odd length hex string (expected 40 hex characters) (allowed: id@host:port)',
  ],
  [
    `[p2p]\npersistent_peers = "${"a".repeat(40)}@1.2.3.4"`,
    `config error: p2p.persistent_peers = "${"a".repeat(40)}@1.2.3.4": entry "${
      "a".repeat(40)
    }@1.2.3.4": missing :port (allowed: id@host:port)`,
  ],
  [
    '[p2p]\npersistent_peers = "1.2.3.4:26656"',
    'config error: p2p.persistent_peers = "1.2.3.4:26656": entry "1.2.3.4:26656": missing node ID (expected id@host:port) (allowed: id@host:port)',
  ],
  [
    `[p2p]\nseeds = "${"a".repeat(40)}@1.2.3.999:26656"`,
    `config error: p2p.seeds = "${"a".repeat(40)}@1.2.3.999:26656": entry "${
      "a".repeat(40)
    }@1.2.3.999:26656": "1.2.3.999" is not an IP address or host name (allowed: id@host:port)`,
  ],
  [
    "[p2p]\nseeds = true",
    "config error: p2p.seeds = true: must be a comma separated string or an array of strings",
  ],
  [
    '[p2p]\nprivate_peer_ids = "xyz"',
    'config error: p2p.private_peer_ids = "xyz": entry "xyz": encoding/hex: invalid byte: U+0078 (allowed: 40-hex node IDs)',
  ],
  [
    '[p2p]\ndeny_list = ["10.0.0.0/33"]',
    'config error: p2p.deny_list = ["10.0.0.0/33"]: entry "10.0.0.0/33": "10.0.0.0/33": prefix length must be 0-32 (allowed: IP addresses, CIDR ranges, node IDs)',
  ],
  [
    '[p2p]\ndeny_list = "evil.example.com"',
    'config error: p2p.deny_list = "evil.example.com": entry "evil.example.com": "evil.example.com" is not an IP address, CIDR range or node ID (allowed: IP addresses, CIDR ranges, node IDs)',
  ],
  [
    "[p2p]\nseed_mode = true\npex = false",
    "config error: p2p.seed_mode = true: requires p2p.pex = true",
  ],
  [
    '[p2p]\npong_timeout = "60s"',
    'config error: p2p.pong_timeout = "1m0s": must be less than p2p.ping_interval (1m0s)',
  ],
  [
    "[p2p.seed]\nverify_workers = 0",
    "config error: p2p.seed.verify_workers = 0: must be an integer ≥ 1",
  ],
  [
    '[rpc]\nladdr = "http://127.0.0.1:26657"',
    'config error: rpc.laddr = "http://127.0.0.1:26657": must be tcp://host:port, unix:///path or empty',
  ],
  [
    '[rpc]\nunsafe = "yes"',
    'config error: rpc.unsafe = "yes": must be a boolean (true or false)',
  ],
  [
    '[instrumentation]\nnamespace = "1abc"',
    'config error: instrumentation.namespace = "1abc": must be a Prometheus name: letters, digits and _, not starting with a digit',
  ],
  [
    '[instrumentation]\nprometheus_listen_addr = "26660"',
    'config error: instrumentation.prometheus_listen_addr = "26660": must be host:port, :port or empty (missing :port)',
  ],
  [
    '[node]\nreactors = ["pex", "warp"]',
    'config error: node.reactors = ["pex", "warp"]: unknown reactor "warp" (allowed: pex, consensus_watcher, tx_relay, chat)',
  ],
  ['[node]\ntx_index = "kv"', 'config error: node.tx_index = "kv": must be "on" or "off"'],
  [
    "[node]\nprotocol_block = -11",
    "config error: node.protocol_block = -11: must be an integer ≥ 0",
  ],
  ["p2p = 5", "config error: p2p = 5: must be a table ([p2p])"],
];

Deno.test("every bad value gives a ConfigError naming key, value and what is allowed", async () => {
  for (const [text, message] of BAD_VALUES) {
    const err = await assertRejects(() => loadText(text), ConfigError);
    assertEquals(err.message, message, text);
  }
});

Deno.test("ConfigError carries the key; invalid TOML names the file", async () => {
  const err = await assertRejects(() => loadText("[p2p]\nsend_rate = -5"), ConfigError);
  assertEquals(err.key, "p2p.send_rate");
  assertEquals(err.value, -5);
  const bad = await assertRejects(() => loadText("moniker = "), ConfigError, "invalid TOML");
  assertStringIncludes(bad.message, "config.toml");
});

Deno.test("unknown keys and tables warn and are ignored", async () => {
  const { config, warnings } = await loadText(
    'proxy_app = "kvstore"\n[p2p]\nbogus = 2\nladdr = "tcp://127.0.0.1:1"\n[mempool]\nsize = 5000\n[p2p.seed]\nfoo = 1\n',
  );
  assertEquals(config.p2p.laddr, "tcp://127.0.0.1:1");
  assertEquals(warnings.length, 4);
  assertStringIncludes(warnings.join("\n"), 'unknown key "proxy_app" ignored');
  assertStringIncludes(warnings.join("\n"), 'unknown key "p2p.bogus" ignored');
  assertStringIncludes(warnings.join("\n"), "unknown table [mempool] ignored");
  assertStringIncludes(warnings.join("\n"), 'unknown key "p2p.seed.foo" ignored');
});

Deno.test("precedence: flag > environment > file > default", async () => {
  const file = '[p2p]\nladdr = "tcp://127.0.0.1:1111"\npex = true\nseeds = ""\n';
  const env = { SWITCHYARD_P2P_LADDR: "tcp://127.0.0.1:2222", SWITCHYARD_P2P_PEX: "false" };
  assertEquals((await loadText(file)).config.p2p.laddr, "tcp://127.0.0.1:1111");
  const fromEnv = (await loadText(file, { env })).config;
  assertEquals(fromEnv.p2p.laddr, "tcp://127.0.0.1:2222");
  assertEquals(fromEnv.p2p.pex, false);
  const { flags } = parseConfigArgs(["--p2p.laddr", "tcp://127.0.0.1:3333", "--p2p.pex"]);
  const fromFlag = (await loadText(file, { env, flags })).config;
  assertEquals(fromFlag.p2p.laddr, "tcp://127.0.0.1:3333");
  assertEquals(fromFlag.p2p.pex, true);
  assertEquals((await loadText("")).config.p2p.laddr, "tcp://0.0.0.0:26656");
});

Deno.test("boolean flags: alone, =false, =true; a separate false is not consumed", () => {
  assertEquals(parseConfigArgs(["--p2p.pex=false"]).flags, { "p2p.pex": "false" });
  assertEquals(parseConfigArgs(["--rpc.unsafe"]).flags, { "rpc.unsafe": "true" });
  assertEquals(parseConfigArgs(["--p2p.seed_mode=true"]).flags, { "p2p.seed_mode": "true" });
  const sep = parseConfigArgs(["--p2p.pex", "false"]);
  assertEquals(sep.flags, { "p2p.pex": "true" });
  assertEquals(sep.rest, ["false"]);
  const c = buildConfig(HOME, [
    new Map([["p2p.pex", { raw: "false", source: { kind: "flag", name: "--p2p.pex" } }]]),
  ]);
  assertEquals(c.p2p.pex, false);
  assertEquals(enabledReactors(c), []);
});

Deno.test("parseConfigArgs: CometBFT flag names, --home, --config, rest, missing values", () => {
  const p = parseConfigArgs(
    [
      "--home",
      "/h",
      "--config=/c.toml",
      "--chain-id",
      "net-1",
      "--moniker=m",
      "--log_level",
      "p2p:debug",
      "--p2p.seeds=",
      "--p2p.persistent_peers",
      "x@1.2.3.4:5",
      "--p2p.external_address",
      "1.2.3.4:26656",
      "--rpc.laddr",
      "unix:///s",
      "--force",
      "pos",
      "--",
      "--moniker",
    ],
    { force: { type: "boolean" } },
  );
  assertEquals(p.home, "/h");
  assertEquals(p.configPath, "/c.toml");
  assertEquals(p.flags, {
    chain_id: "net-1",
    moniker: "m",
    log_level: "p2p:debug",
    "p2p.seeds": "",
    "p2p.persistent_peers": "x@1.2.3.4:5",
    "p2p.external_address": "1.2.3.4:26656",
    "rpc.laddr": "unix:///s",
  });
  assertEquals(p.values, { force: true });
  assertEquals(p.rest, ["pos", "--moniker"]);
  assertThrows(() => parseConfigArgs(["--p2p.laddr"]), UsageError, "--p2p.laddr needs a value");
  assertThrows(() => parseConfigArgs(["--home", "--force"]), UsageError, "--home needs a value");
});

Deno.test("a bad flag or env value names its origin", async () => {
  const e1 = await assertRejects(
    () => loadText("", { flags: { "p2p.pex": "maybe" } }),
    ConfigError,
  );
  assertEquals(
    e1.message,
    'config error: p2p.pex = "maybe": must be a boolean (true or false) (from flag --p2p.pex)',
  );
  const e2 = await assertRejects(
    () => loadText("", { env: { SWITCHYARD_P2P_MAX_NUM_INBOUND_PEERS: "-3" } }),
    ConfigError,
  );
  assertEquals(
    e2.message,
    'config error: p2p.max_num_inbound_peers = "-3": must be an integer ≥ 0 (from environment variable SWITCHYARD_P2P_MAX_NUM_INBOUND_PEERS)',
  );
  const e3 = await assertRejects(() => loadText("", { flags: { chain_id: " x" } }), ConfigError);
  assertStringIncludes(e3.message, "(from flag --chain-id)");
});

Deno.test("environment variable names: SWITCHYARD_<SECTION>_<KEY>, unique; unknown ones warn", async () => {
  assertEquals(envName(KEYS.find((k) => k.path === "p2p.laddr")!), "SWITCHYARD_P2P_LADDR");
  assertEquals(envName(KEYS.find((k) => k.path === "moniker")!), "SWITCHYARD_MONIKER");
  assertEquals(
    envName(KEYS.find((k) => k.path === "p2p.seed.crawl_period")!),
    "SWITCHYARD_P2P_SEED_CRAWL_PERIOD",
  );
  assertEquals(new Set(ENV_VARS).size, ENV_VARS.length);
  const { config, warnings } = await loadText("", {
    env: { SWITCHYARD_MONIKER: "env-node", SWITCHYARD_P2P_SEEDZ: "x", PATH: "/bin" },
  });
  assertEquals(config.moniker, "env-node");
  assertEquals(warnings, ["unknown environment variable SWITCHYARD_P2P_SEEDZ ignored"]);
});

Deno.test("list values: comma strings trimmed, arrays accepted, empties dropped", async () => {
  const id = "c".repeat(40);
  const { config } = await loadText(
    `[p2p]\nseeds = " ${id}@10.0.0.1:26656 ,, ${id}@10.0.0.2:26656 "\npersistent_peers = ["${id}@h:1"]\ndeny_list = "1.2.3.4, ::1"\n`,
  );
  assertEquals(config.p2p.seeds, [`${id}@10.0.0.1:26656`, `${id}@10.0.0.2:26656`]);
  assertEquals(config.p2p.persistentPeers, [`${id}@h:1`]);
  assertEquals(config.p2p.denyList, ["1.2.3.4", "::1"]);
});

Deno.test("relative paths resolve against home; absolute paths stay", async () => {
  await withConfigDir(async (dir) => {
    const path = `${dir}/c.toml`;
    await Deno.writeTextFile(
      path,
      'node_key_file = "keys/k.json"\n[p2p]\naddr_book_file = "/abs/book.json"\n',
    );
    const { config } = await loadConfig({ home: dir, configPath: path });
    assertEquals(config.home, dir);
    assertEquals(config.nodeKeyFile, `${dir}/keys/k.json`);
    assertEquals(config.p2p.addrBookFile, "/abs/book.json");
    assertEquals(config.genesisFile, `${dir}/config/genesis.json`);
  });
});

Deno.test("a missing --config file is an error; a missing default file means defaults", async () => {
  await withConfigDir(async (dir) => {
    await assertRejects(
      () => loadConfig({ home: dir, configPath: `${dir}/nope.toml` }),
      ConfigError,
      `config file ${dir}/nope.toml does not exist`,
    );
    const res = await loadConfig({ home: dir });
    assertEquals(res.fileFound, false);
    assertEquals(res.config, defaultConfig(dir));
  });
});

Deno.test("resolveHome: --home > SWITCHYARD_HOME > $HOME/.switchyard", () => {
  assertEquals(resolveHome("/a", { SWITCHYARD_HOME: "/b", HOME: "/c" }), "/a");
  assertEquals(resolveHome(undefined, { SWITCHYARD_HOME: "/b", HOME: "/c" }), "/b");
  assertEquals(resolveHome(undefined, { HOME: "/c" }), "/c/.switchyard");
  assertEquals(resolveHome("rel", {}), `${Deno.cwd()}/rel`);
  assertThrows(() => resolveHome(undefined, {}), ConfigError, "--home");
});

Deno.test("resolveChainId: chain_id wins, else genesis_file, else a message naming both", async () => {
  await withConfigDir(async (dir) => {
    const base = defaultConfig(dir);
    assertEquals(await resolveChainId({ ...base, chainId: "direct" }), "direct");
    await assertRejects(
      () => resolveChainId(base),
      ConfigError,
      `genesis file ${dir}/config/genesis.json does not exist: set chain_id (or --chain-id) or genesis_file`,
    );
    await assertRejects(
      () => resolveChainId({ ...base, genesisFile: "" }),
      ConfigError,
      "chain_id and genesis_file are both empty",
    );
    await Deno.mkdir(`${dir}/config`);
    await Deno.writeTextFile(base.genesisFile, '{"chain_id":"from-genesis","initial_height":"1"}');
    assertEquals(await resolveChainId(base), "from-genesis");
    await Deno.writeTextFile(base.genesisFile, "{not json");
    await assertRejects(() => resolveChainId(base), ConfigError, "is not valid JSON");
    await Deno.writeTextFile(base.genesisFile, '{"chain_id":""}');
    await assertRejects(
      () => resolveChainId(base),
      ConfigError,
      '"chain_id" must be a non-empty string',
    );
  });
});

Deno.test("ensureHome creates config and key once and never overwrites", async () => {
  await withConfigDir(async (dir) => {
    const created = await ensureHome(dir);
    assertEquals(created, [`${dir}/config/config.toml`, `${dir}/config/node_key.json`]);
    assertEquals((await Deno.stat(`${dir}/data`)).isDirectory, true);
    const { config, warnings } = await loadConfig({ home: dir });
    assertEquals(warnings, []);
    assertEquals(config.chainId, "switchyard-local");
    const before = await Deno.readTextFile(`${dir}/config/node_key.json`);
    assertEquals(await ensureHome(dir), []);
    assertEquals(await Deno.readTextFile(`${dir}/config/node_key.json`), before);
  });
});

Deno.test("enabledReactors: p2p.pex decides pex, node.reactors the rest", () => {
  const on = buildConfig(HOME, [
    new Map([["node.reactors", { raw: ["chat"], source: { kind: "file", path: "x" } }]]),
  ]);
  assertEquals(enabledReactors(on), ["pex", "chat"]);
  const off = { ...on, p2p: { ...on.p2p, pex: false } };
  assertEquals(enabledReactors(off), ["chat"]);
});
