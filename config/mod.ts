/**
 * Configuration entry point: {@link loadConfig} (file + environment + flags → typed config and
 * warnings), {@link loadConfigForArgs}, {@link resolveChainId}, and re-exports of the config
 * modules.
 *
 * ```ts
 * const { flags, home, configPath } = parseConfigArgs(Deno.args, { force: { type: "boolean" } });
 * const { config, warnings } = await loadConfig({ home, configPath, flags, env: readEnv() });
 * ```
 * @module
 */
import { buildConfig, type RawValue } from "./build.ts";
import {
  buildChainConfigs,
  type ChainSpec,
  checkDistinctChains,
  DEFAULT_CHAIN_NAME,
} from "./chains.ts";
import { homePaths, resolveHome } from "./home.ts";
import { envOverrides, readEnv } from "./overrides.ts";
import { type ConfigArgs, flagName } from "./flags.ts";
import { type Config, MAX_CHAIN_ID_LENGTH } from "./schema.ts";
import { parseConfigText } from "./toml.ts";
import { ConfigError } from "./validate.ts";

export * from "./schema.ts";
export { KEYS, KEYS_BY_PATH } from "./keys.ts";
export { DurationError, formatGoDuration, formatMs, parseGoDuration } from "./duration.ts";
export { buildConfig, defaultConfig, defaultMoniker, type RawValue } from "./build.ts";
export {
  checkHostPort,
  checkPeerAddress,
  ConfigError,
  enabledReactors,
  splitList,
  validateConfig,
  type ValueSource,
} from "./validate.ts";
export { parseConfigText, renderConfigToml } from "./toml.ts";
export * from "./chains.ts";
export {
  CMT_ENV_PREFIX,
  CMT_HOME_ENV,
  cmtEnvName,
  CONFIG_FLAG_NAMES,
  CONFIG_FLAGS_HELP,
  ENV_PREFIX,
  ENV_VARS,
  envName,
  envOverrides,
  HOME_ENV,
  readEnv,
} from "./overrides.ts";
export {
  type CommandOption,
  type CommandOptions,
  type ConfigArgs,
  flagName,
  hoistGlobalFlags,
  IGNORED_COMETBFT_FLAGS,
  parseConfigArgs,
  suggestFlag,
  unknownFlagError,
  UsageError,
} from "./flags.ts";
export {
  CONFIG_FILE,
  DEFAULT_HOME_DIR,
  ensureHome,
  type HomePaths,
  homePaths,
  initHome,
  type InitOptions,
  type InitResult,
  resolveHome,
} from "./home.ts";

/** Inputs of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** `--home`; else `env.SWITCHYARD_HOME`; else `env.CMTHOME`; else `$HOME/.switchyard`. */
  home?: string;
  /** `--config`; else `<home>/config/config.toml`. An explicit file must exist. */
  configPath?: string;
  /** Key path → flag text, e.g. from {@link parseConfigArgs}. */
  flags?: Record<string, string>;
  /** Environment (e.g. from {@link readEnv}); `SWITCHYARD_*`, `CMT_*`, `CMTHOME`, `HOME`. */
  env?: Record<string, string | undefined>;
}

/** Output of {@link loadConfig}. */
export interface LoadConfigResult {
  /** The effective configuration (of the top level when `chains` is not empty). */
  config: Config;
  /** Unknown keys, tables and environment variables (ignored, not fatal). */
  warnings: string[];
  /** The config file that was (or would have been) read. */
  configPath: string;
  /** Whether that file existed; if not, the config is defaults + env + flags. */
  fileFound: boolean;
  /** The `[chains.NAME]` tables, each a full config (empty for a single-chain config). */
  chains: ChainSpec[];
}

/**
 * Loads the config: defaults < config file < `SWITCHYARD_*` environment < flags. A missing default
 * config file is not an error (the caller may {@link ensureHome} first); a missing `--config`
 * file is.
 * @throws ConfigError naming the key, the value and what is allowed.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadConfigResult> {
  const env = opts.env ?? {};
  const home = resolveHome(opts.home, env);
  const configPath = opts.configPath ?? homePaths(home).configFile;
  const warnings: string[] = [];
  const fileLayer = new Map<string, RawValue>();
  let fileFound = false;
  let text: string | undefined;
  let chainTables: unknown;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (err) {
    const missing = err instanceof Deno.errors.NotFound;
    if (!missing || opts.configPath !== undefined) {
      const why = missing ? "does not exist" : `cannot be read (${(err as Error).message})`;
      throw new ConfigError(`config error: config file ${configPath} ${why}`, {}, { cause: err });
    }
  }
  if (text !== undefined) {
    fileFound = true;
    const parsed = parseConfigText(text, configPath);
    warnings.push(...parsed.warnings);
    chainTables = parsed.chains;
    for (const [path, raw] of parsed.values) {
      fileLayer.set(path, { raw, source: { kind: "file", path: configPath } });
    }
  }
  const envLayer = new Map<string, RawValue>();
  const fromEnv = envOverrides(env);
  warnings.push(...fromEnv.warnings);
  for (const [path, { text, name }] of fromEnv.values) {
    envLayer.set(path, { raw: text, source: { kind: "env", name } });
  }
  const flagLayer = new Map<string, RawValue>();
  for (const [path, text] of Object.entries(opts.flags ?? {})) {
    flagLayer.set(path, { raw: text, source: { kind: "flag", name: flagName(path) } });
  }
  const config = buildConfig(home, [fileLayer, envLayer, flagLayer]);
  const extra = buildChainConfigs({
    home,
    chains: chainTables,
    configPath,
    layers: [fileLayer, envLayer, flagLayer],
  });
  warnings.push(...extra.warnings);
  const all = [{ name: DEFAULT_CHAIN_NAME, config }, ...extra.chains];
  checkDistinctChains(all.map((c) => ({ ...c, chainId: c.config.chainId })));
  return { config, warnings, configPath, fileFound, chains: extra.chains };
}

/**
 * {@link loadConfig} with what a command line named ({@link parseConfigArgs}: `--home`,
 * `--config`, config flags) and the process environment ({@link readEnv}).
 * @throws ConfigError as {@link loadConfig}.
 */
export function loadConfigForArgs(parsed: ConfigArgs): Promise<LoadConfigResult> {
  return loadConfig({
    home: parsed.home,
    configPath: parsed.configPath,
    flags: parsed.flags,
    env: readEnv(),
  });
}

/**
 * The chain ID to advertise as NodeInfo `network`: `chain_id`, else the `chain_id` of
 * `genesis_file`.
 * @throws ConfigError when neither yields one, naming the file and the two keys.
 */
export async function resolveChainId(config: Config): Promise<string> {
  if (config.chainId !== "") return config.chainId;
  const hint = "set chain_id (or --chain-id) or genesis_file in config.toml";
  if (config.genesisFile === "") {
    throw new ConfigError(`config error: chain_id and genesis_file are both empty: ${hint}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(await Deno.readTextFile(config.genesisFile));
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "does not exist"
      : err instanceof SyntaxError
      ? `is not valid JSON (${err.message})`
      : `cannot be read (${(err as Error).message})`;
    throw new ConfigError(
      `config error: chain_id is empty and genesis file ${config.genesisFile} ${why}: ${hint}`,
      { key: "chain_id" },
      { cause: err },
    );
  }
  const id = (doc as { chain_id?: unknown } | null)?.chain_id;
  if (typeof id !== "string" || id === "" || id.length > MAX_CHAIN_ID_LENGTH) {
    throw new ConfigError(
      `config error: genesis file ${config.genesisFile}: "chain_id" must be a non-empty string ` +
        `of at most ${MAX_CHAIN_ID_LENGTH} characters: ${hint}`,
      { key: "chain_id", value: id },
    );
  }
  return id;
}
