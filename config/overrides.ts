/**
 * Overrides of config keys from the command line and the environment. Precedence:
 * flag > environment variable > config file > default.
 *
 * Flags use CometBFT's names: `--<section>.<key>` for every known key (`--p2p.laddr`,
 * `--p2p.seeds`, `--p2p.persistent_peers`, `--p2p.pex`, `--p2p.seed_mode`,
 * `--p2p.external_address`, `--rpc.laddr`, `--rpc.unsafe`, …), top-level keys without a section
 * (`--moniker`, `--log_level`), plus `--chain-id` (also `--chain_id`), `--home DIR` and
 * `--config FILE`. Values go as `--flag value` or `--flag=value`; booleans alone mean true and
 * take a value only with `=` (`--p2p.pex=false`), as in CometBFT's CLI.
 *
 * Environment variables are `SWITCHYARD_<SECTION>_<KEY>` upper-cased, dots becoming underscores:
 * `SWITCHYARD_P2P_LADDR`, `SWITCHYARD_MONIKER`, `SWITCHYARD_P2P_SEED_CRAWL_PERIOD`;
 * `SWITCHYARD_HOME` selects the home directory. Booleans accept true/false/1/0, lists a
 * comma-separated string.
 * @module
 */
import type { KeySpec } from "./schema.ts";
import { KEYS, KEYS_BY_PATH } from "./keys.ts";

/** Environment variable naming the home directory. */
export const HOME_ENV = "SWITCHYARD_HOME";
/** Prefix of every environment variable switchyard reads. */
export const ENV_PREFIX = "SWITCHYARD_";

/** A malformed command line (missing flag value). The CLI exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The environment variable overriding `spec`. */
export function envName(spec: KeySpec): string {
  return ENV_PREFIX + spec.path.replaceAll(".", "_").toUpperCase();
}

/** Root keys whose canonical flag uses dashes (`--chain-id`); the underscore form also works. */
const DASHED_FLAGS: Record<string, string> = {
  chain_id: "--chain-id",
  cometbft_line: "--cometbft-line",
};

/** The canonical flag for a key path (`--chain-id` for `chain_id`, else `--<path>`). */
export function flagName(path: string): string {
  return DASHED_FLAGS[path] ?? `--${path}`;
}

/** Every environment variable switchyard reads (for scoping `--allow-env`). */
export const ENV_VARS: readonly string[] = [HOME_ENV, ...KEYS.map(envName)];

const FLAG_ALIASES: Record<string, string> = {
  "chain-id": "chain_id",
  "cometbft-line": "cometbft_line",
};

/** Config-related parts of a command line. */
export interface ConfigArgs {
  /** Key path → flag text (booleans given alone are "true"). */
  flags: Record<string, string>;
  /** `--home`. */
  home?: string;
  /** `--config`. */
  configPath?: string;
  /** Everything else, in order, for the command to interpret. */
  rest: string[];
}

/**
 * Extracts config flags, `--home` and `--config` from `args`; leaves the rest (command flags,
 * positional arguments, unknown flags) in `rest`. Stops at `--`.
 * @throws UsageError when a flag needing a value has none.
 */
export function parseConfigArgs(args: string[]): ConfigArgs {
  const out: ConfigArgs = { flags: {}, rest: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.rest.push(...args.slice(i));
      break;
    }
    if (!arg.startsWith("--")) {
      out.rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const path = FLAG_ALIASES[name] ?? name;
    const spec = KEYS_BY_PATH.get(path);
    const isHomeOrConfig = name === "home" || name === "config";
    if (!spec && !isHomeOrConfig) {
      out.rest.push(arg);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (spec?.kind === "bool") {
        value = "true";
      } else {
        if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
          throw new UsageError(`flag --${name} needs a value (--${name} VALUE or --${name}=VALUE)`);
        }
        value = args[++i];
      }
    }
    if (name === "home") out.home = value;
    else if (name === "config") out.configPath = value;
    else out.flags[path] = value;
  }
  return out;
}

/** Overrides read from the environment. */
export interface EnvOverrides {
  /** Key path → { text, variable name }. */
  values: Map<string, { text: string; name: string }>;
  /** Unknown `SWITCHYARD_*` variables. */
  warnings: string[];
}

/** Picks the config overrides out of an environment map. */
export function envOverrides(env: Record<string, string | undefined>): EnvOverrides {
  const values = new Map<string, { text: string; name: string }>();
  const known = new Set(ENV_VARS);
  for (const spec of KEYS) {
    const name = envName(spec);
    const text = env[name];
    if (text !== undefined) values.set(spec.path, { text, name });
  }
  const warnings = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX) && !known.has(n))
    .sort()
    .map((n) => `unknown environment variable ${n} ignored`);
  return { values, warnings };
}

/**
 * Reads the variables switchyard uses (plus `HOME`) from the process environment. Works with a
 * scoped `--allow-env`: variables not granted are skipped rather than prompting.
 */
export function readEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  let all: Record<string, string> | undefined;
  try {
    if (Deno.permissions.querySync({ name: "env" }).state === "granted") all = Deno.env.toObject();
  } catch {
    all = undefined;
  }
  if (all) {
    for (const [k, v] of Object.entries(all)) {
      if (k.startsWith(ENV_PREFIX) || k === "HOME") env[k] = v;
    }
    return env;
  }
  for (const name of ["HOME", ...ENV_VARS]) {
    try {
      if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") continue;
      const v = Deno.env.get(name);
      if (v !== undefined) env[name] = v;
    } catch {
      // not readable: as if unset
    }
  }
  return env;
}

/** Help text describing the override flags, for the commands' `--help`. */
export const CONFIG_FLAGS_HELP = [
  "Config flags (override config.toml and SWITCHYARD_* environment variables):",
  "  --home DIR                     home directory (default $SWITCHYARD_HOME, else ~/.switchyard)",
  "  --config FILE                  config file (default <home>/config/config.toml)",
  "  --moniker NAME                 node name",
  "  --chain-id ID                  chain ID (NodeInfo network)",
  "  --cometbft-line LINE           v0.34, v0.37, v0.38 (default), v0.39, v0.40, v1.0 or auto",
  "  --log_level LEVEL              e.g. info or p2p:debug,*:info",
  "  --p2p.laddr tcp://HOST:PORT    p2p listen address",
  "  --p2p.external_address H:P     address advertised to peers",
  "  --p2p.seeds ID@H:P,...         seed nodes",
  "  --p2p.persistent_peers ID@H:P,...",
  "  --p2p.pex[=false]              peer exchange",
  "  --p2p.seed_mode[=true]         seed (crawler) mode",
  "  --rpc.laddr tcp://H:P|unix://P RPC listen address",
  "  --rpc.unsafe[=true]            enable /dial_seeds and /dial_peers",
  "  --<section>.<key> VALUE        any other config.toml key, e.g. --p2p.max_num_inbound_peers 80",
  "Environment: SWITCHYARD_<SECTION>_<KEY>, e.g. SWITCHYARD_P2P_LADDR, SWITCHYARD_MONIKER.",
].join("\n");
