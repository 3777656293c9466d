/**
 * Overrides of config keys from the environment (flags are parsed in `flags.ts`). Precedence:
 * flag > environment variable > config file > default.
 *
 * Environment variables are `SWITCHYARD_<SECTION>_<KEY>` upper-cased, dots becoming underscores:
 * `SWITCHYARD_P2P_LADDR`, `SWITCHYARD_MONIKER`, `SWITCHYARD_P2P_SEED_CRAWL_PERIOD`. CometBFT's
 * own names work too, as its viper setup maps them (prefix `CMT`, `.` and `-` → `_`):
 * `CMT_P2P_LADDR`, `CMT_P2P_EXTERNAL_ADDRESS`; a `SWITCHYARD_*` variable wins over its `CMT_*`
 * twin. The home directory is `SWITCHYARD_HOME`, else CometBFT's `CMTHOME`. Booleans, integers
 * and durations are read as CometBFT reads them (`validate.ts`), lists as a comma-separated
 * string.
 * @module
 */
import type { KeySpec } from "./schema.ts";
import { KEYS } from "./keys.ts";
import { configFlagNames, flagName, UsageError } from "./flags.ts";

export { flagName, UsageError };

/** Environment variable naming the home directory. */
export const HOME_ENV = "SWITCHYARD_HOME";
/** CometBFT's home variable, read when {@link HOME_ENV} is unset. */
export const CMT_HOME_ENV = "CMTHOME";
/** Prefix of every environment variable switchyard reads. */
export const ENV_PREFIX = "SWITCHYARD_";
/** Prefix of CometBFT's environment variables (viper `SetEnvPrefix("CMT")`). */
export const CMT_ENV_PREFIX = "CMT_";

/** The environment variable overriding `spec`. */
export function envName(spec: KeySpec): string {
  return ENV_PREFIX + spec.path.replace(/[.-]/g, "_").toUpperCase();
}

/** CometBFT's environment variable for `spec` (`CMT_P2P_LADDR`). */
export function cmtEnvName(spec: KeySpec): string {
  return CMT_ENV_PREFIX + spec.path.replace(/[.-]/g, "_").toUpperCase();
}

/** Every environment variable switchyard reads (for scoping `--allow-env`). */
export const ENV_VARS: readonly string[] = [
  HOME_ENV,
  CMT_HOME_ENV,
  ...KEYS.map(envName),
  ...KEYS.map(cmtEnvName),
];

/** Overrides read from the environment. */
export interface EnvOverrides {
  /** Key path → { text, variable name }. */
  values: Map<string, { text: string; name: string }>;
  /** Unknown `SWITCHYARD_*` variables. */
  warnings: string[];
}

/** Picks the config overrides out of an environment map (`SWITCHYARD_*` before `CMT_*`). */
export function envOverrides(env: Record<string, string | undefined>): EnvOverrides {
  const values = new Map<string, { text: string; name: string }>();
  const known = new Set(ENV_VARS);
  for (const spec of KEYS) {
    for (const name of [envName(spec), cmtEnvName(spec)]) {
      const text = env[name];
      if (text !== undefined) {
        values.set(spec.path, { text, name });
        break;
      }
    }
  }
  const warnings = Object.keys(env)
    .filter((n) => (n.startsWith(ENV_PREFIX) || n.startsWith(CMT_ENV_PREFIX)) && !known.has(n))
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
      if (k.startsWith(ENV_PREFIX) || k.startsWith(CMT_ENV_PREFIX) || k === "HOME") env[k] = v;
      if (k === CMT_HOME_ENV) env[k] = v;
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
  "Config flags (override config.toml and the environment; CometBFT's spellings work too):",
  "  --home DIR                     home directory (default $SWITCHYARD_HOME, else $CMTHOME,",
  "                                 else ~/.switchyard); may also come before the subcommand",
  "  --config FILE                  config file (default <home>/config/config.toml)",
  "  --moniker NAME                 node name",
  "  --chain-id ID                  chain ID (NodeInfo network)",
  "  --cometbft-line LINE           v0.34, v0.37, v0.38 (default), v0.39, v0.40, v1.0 or auto",
  "  --log_level LEVEL              e.g. info or p2p:debug,*:info",
  "  --p2p.laddr tcp://HOST:PORT    p2p listen address",
  "  --p2p.external-address H:P     address advertised to peers (also --p2p.external_address)",
  "  --p2p.seeds ID@H:P,...         seed nodes",
  "  --p2p.persistent_peers ID@H:P,...",
  "  --p2p.pex[=false]              peer exchange",
  "  --p2p.seed_mode[=true]         seed (crawler) mode",
  "  --rpc.laddr tcp://H:P|unix://P RPC listen address",
  "  --rpc.unsafe[=true]            enable /dial_seeds and /dial_peers",
  "  --<section>.<key> VALUE        any other config.toml key, e.g. --p2p.max_num_inbound_peers 80",
  "                                 (- and _ are interchangeable in key names)",
  "  --proxy_app, --abci, --db_backend, ... (cometbft start's other flags): accepted, ignored",
  "Environment: SWITCHYARD_<SECTION>_<KEY> (e.g. SWITCHYARD_P2P_LADDR) or CometBFT's",
  "CMT_<SECTION>_<KEY> (e.g. CMT_P2P_LADDR); SWITCHYARD_* wins.",
].join("\n");

/** Every flag spelling of the config flags (for completion scripts). */
export const CONFIG_FLAG_NAMES: readonly string[] = configFlagNames();
