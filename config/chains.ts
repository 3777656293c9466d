/**
 * Extra chains of one process: the `[chains.NAME]` tables of `config.toml`, each turned into a
 * full {@link Config} so every per-chain setting flows through the same code as the top level.
 *
 * A chain table accepts the chain-specific keys of the top level (every top-level key except the
 * process-wide `log_level` / `log_format`: `chain_id`, `moniker`, `node_key_file`,
 * `genesis_file`, `cometbft_line`, ...) and the `[chains.NAME.p2p]`, `[chains.NAME.p2p.seed]` and
 * `[chains.NAME.node]` tables with the keys of `[p2p]`, `[p2p.seed]` and `[node]`. The list is
 * derived from the key table (`keys.ts`), so a key added there is accepted here too.
 *
 * A chain's effective config is the top level (file, environment, flags) overlaid with its table,
 * except the keys that identify a chain ({@link CHAIN_OWN_KEYS}: chain ID, key and book files,
 * addresses, peers), which are never inherited: they take the chain's own defaults
 * (`config/chains/NAME/node_key.json`, `config/chains/NAME/addrbook.json`). `[rpc]` and
 * `[instrumentation]` are process-wide (one RPC server, one metrics server) and stay top-level.
 * @module
 */
import { buildConfig, type RawValue } from "./build.ts";
import { KEYS } from "./keys.ts";
import type { Config, KeySpec, Section } from "./schema.ts";
import { ConfigError, type ValueSource } from "./validate.ts";

/** The root table holding the extra chains (`[chains.NAME]`). */
export const CHAINS_TABLE = "chains";
/** Name of the top-level chain (RPC `chain=default`, log field `chain=default`). */
export const DEFAULT_CHAIN_NAME = "default";
/** A chain name: used in RPC paths (`/chains/NAME/status`), logs and file names. */
export const CHAIN_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Sections a chain table may hold (`""` = the chain table itself). */
export const CHAIN_SECTIONS: ReadonlySet<Section> = new Set<Section>([
  "",
  "p2p",
  "p2p.seed",
  "node",
]);
/** Top-level keys that are process-wide, so not accepted in a chain table. */
export const PROCESS_WIDE_KEYS: ReadonlySet<string> = new Set(["log_level", "log_format"]);

/** Keys a chain table accepts, by dotted path relative to the table (derived from `KEYS`). */
export const CHAIN_KEYS: ReadonlyMap<string, KeySpec> = new Map(
  KEYS.filter((s) => CHAIN_SECTIONS.has(s.section) && !PROCESS_WIDE_KEYS.has(s.path)).map(
    (s) => [s.path, s],
  ),
);

/**
 * Keys that identify a chain: never inherited from the top level (another chain's ID, key,
 * book, addresses or peers would be wrong or clash); unset, they take the key's default or the
 * chain's own default ({@link chainDefaults}).
 */
export const CHAIN_OWN_KEYS: ReadonlySet<string> = new Set([
  "chain_id",
  "genesis_file",
  "node_key_file",
  "p2p.laddr",
  "p2p.external_address",
  "p2p.seeds",
  "p2p.persistent_peers",
  "p2p.addr_book_file",
  "p2p.unconditional_peer_ids",
  "p2p.private_peer_ids",
]);

/** One chain of the process: its name and effective config. */
export interface ChainSpec {
  /** {@link DEFAULT_CHAIN_NAME} for the top level, else the table's NAME. */
  readonly name: string;
  /** The chain's effective configuration (its table over the top level's). */
  readonly config: Config;
}

/** The dotted key as the operator wrote it: `p2p.laddr` or `chains.NAME.p2p.laddr`. */
export function chainKey(chain: string, path: string): string {
  return chain === DEFAULT_CHAIN_NAME ? path : `${CHAINS_TABLE}.${chain}.${path}`;
}

/** Per-chain defaults of the own keys with a file (so two chains never share a key or book). */
export function chainDefaults(name: string): Record<string, string> {
  return {
    node_key_file: `config/chains/${name}/node_key.json`,
    "p2p.addr_book_file": `config/chains/${name}/addrbook.json`,
    genesis_file: "",
  };
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Known keys of one chain table, and warnings for the rest. */
function walkChainTable(
  name: string,
  table: Record<string, unknown>,
  source: ValueSource,
  warnings: string[],
  where: string,
): Map<string, RawValue> {
  const values = new Map<string, RawValue>();
  const walk = (t: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(t)) {
      const rel = prefix === "" ? key : `${prefix}.${key}`;
      const full = chainKey(name, rel);
      if (CHAIN_KEYS.has(rel)) {
        values.set(rel, { raw: value, source });
      } else if (CHAIN_SECTIONS.has(rel as Section)) {
        if (!isTable(value)) throw ConfigError.forValue(full, value, `must be a table ([${full}])`);
        walk(value, rel);
      } else if (PROCESS_WIDE_KEYS.has(rel) || rel === "rpc" || rel === "instrumentation") {
        warnings.push(
          `${where}: "${full}" ignored: ${rel} is process-wide (set it at the top level)`,
        );
      } else if (isTable(value)) {
        warnings.push(`${where}: unknown table [${full}] ignored`);
      } else {
        warnings.push(`${where}: unknown key "${full}" ignored`);
      }
    }
  };
  walk(table, "");
  return values;
}

/** Rewrites a ConfigError about key `p2p.laddr` to name `chains.NAME.p2p.laddr`. */
function inChain(name: string, err: ConfigError): ConfigError {
  if (err.key === undefined) {
    return new ConfigError(
      err.message.replace(/^config error: /, `config error: chains.${name}: `),
      {
        value: err.value,
        allowed: err.allowed,
      },
      { cause: err },
    );
  }
  const key = chainKey(name, err.key);
  return new ConfigError(
    err.message.replace(`config error: ${err.key}`, `config error: ${key}`),
    { key, value: err.value, allowed: err.allowed },
    { cause: err },
  );
}

/** Inputs of {@link buildChainConfigs}. */
export interface ChainBuildInput {
  home: string;
  /** The raw `chains` value of the parsed file (undefined = none). */
  chains: unknown;
  /** The file, for warnings and value sources. */
  configPath: string;
  /** The top level's layers (file < env < flags): inherited except {@link CHAIN_OWN_KEYS}. */
  layers: readonly ReadonlyMap<string, RawValue>[];
}

/**
 * Builds every `[chains.NAME]` table into a full config.
 * @throws ConfigError naming `chains.NAME.<key>`, for a bad name, table or value.
 */
export function buildChainConfigs(
  input: ChainBuildInput,
): { chains: ChainSpec[]; warnings: string[] } {
  const warnings: string[] = [];
  const chains: ChainSpec[] = [];
  if (input.chains === undefined) return { chains, warnings };
  if (!isTable(input.chains)) {
    throw ConfigError.forValue(
      CHAINS_TABLE,
      input.chains,
      "must be a table of chain tables ([chains.NAME])",
    );
  }
  const source: ValueSource = { kind: "file", path: input.configPath };
  const inherited = input.layers.map((layer) =>
    new Map([...layer].filter(([path]) => !CHAIN_OWN_KEYS.has(path)))
  );
  for (const [name, table] of Object.entries(input.chains)) {
    const where = `${CHAINS_TABLE}.${name}`;
    if (!CHAIN_NAME_RE.test(name)) {
      throw new ConfigError(
        `config error: [${where}]: a chain name must be 1-64 letters, digits, "_" or "-"`,
        { key: where },
      );
    }
    if (name === DEFAULT_CHAIN_NAME) {
      throw new ConfigError(
        `config error: [${where}]: "${DEFAULT_CHAIN_NAME}" names the top-level chain; pick another name`,
        { key: where },
      );
    }
    if (!isTable(table)) throw ConfigError.forValue(where, table, `must be a table ([${where}])`);
    const own = walkChainTable(name, table, source, warnings, input.configPath);
    const defaults = new Map<string, RawValue>(
      Object.entries(chainDefaults(name)).map((
        [p, raw],
      ) => [p, { raw, source: { kind: "default" } }]),
    );
    let config: Config;
    try {
      config = buildConfig(input.home, [defaults, ...inherited, own]);
    } catch (e) {
      throw e instanceof ConfigError ? inChain(name, e) : e;
    }
    if (!own.has("p2p.laddr")) {
      throw new ConfigError(
        `config error: ${where}.p2p.laddr is not set: every chain listens on its own address ` +
          `(e.g. [${where}.p2p] laddr = "tcp://0.0.0.0:26666")`,
        { key: `${where}.p2p.laddr` },
      );
    }
    if (config.chainId === "" && config.genesisFile === "") {
      throw new ConfigError(
        `config error: ${where}.chain_id is not set: set chain_id (or genesis_file) in [${where}]`,
        { key: `${where}.chain_id` },
      );
    }
    chains.push({ name, config });
  }
  return { chains, warnings };
}

/** `host:port` of a `tcp://` listen address, or undefined when unparseable. */
function hostPort(laddr: string): { host: string; port: number } | undefined {
  const m = /^(?:tcp:\/\/)?(\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(laddr);
  if (!m) return undefined;
  const host = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
  return { host, port: Number(m[2]) };
}

const WILDCARD_HOSTS: ReadonlySet<string> = new Set(["", "0.0.0.0", "::"]);

/** Whether two listen addresses would take the same socket (port 0 never clashes). */
export function laddrsClash(a: string, b: string): boolean {
  const x = hostPort(a);
  const y = hostPort(b);
  if (!x || !y || x.port === 0 || x.port !== y.port) return false;
  return x.host === y.host || WILDCARD_HOSTS.has(x.host) || WILDCARD_HOSTS.has(y.host);
}

/** A chain and the chain ID it will advertise ("" when it comes from its genesis file). */
export interface ChainIdentity {
  readonly name: string;
  readonly config: Config;
  readonly chainId: string;
}

/**
 * Refuses two chains sharing a listen address, chain ID, node key file or address book file.
 * @throws ConfigError naming both keys and the fix.
 */
export function checkDistinctChains(chains: readonly ChainIdentity[]): void {
  const rules: {
    path: string;
    value(c: ChainIdentity): string;
    same(a: string, b: string): boolean;
    why: string;
  }[] = [
    {
      path: "p2p.laddr",
      value: (c) => c.config.p2p.laddr,
      same: laddrsClash,
      why: "every chain needs its own listen address",
    },
    {
      path: "chain_id",
      value: (c) => c.chainId,
      same: (a, b) => a !== "" && a === b,
      why: "one chain is configured once",
    },
    {
      path: "node_key_file",
      value: (c) => c.config.nodeKeyFile,
      same: (a, b) => a === b,
      why: "every chain needs its own node key",
    },
    {
      path: "p2p.addr_book_file",
      value: (c) => c.config.p2p.addrBookFile,
      same: (a, b) => a === b,
      why: "an address book holds one chain's addresses",
    },
  ];
  for (const rule of rules) {
    for (let i = 0; i < chains.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = rule.value(chains[j]);
        const b = rule.value(chains[i]);
        if (!rule.same(a, b)) continue;
        const first = chainKey(chains[j].name, rule.path);
        const second = chainKey(chains[i].name, rule.path);
        throw new ConfigError(
          `config error: ${second} = ${JSON.stringify(b)} clashes with ${first} = ` +
            `${JSON.stringify(a)}: ${rule.why} (set a different ${second})`,
          { key: second, value: b },
        );
      }
    }
  }
}
