/**
 * The home directory: where it is (`--home` > `$SWITCHYARD_HOME` > `~/.switchyard`), its layout
 * (CometBFT's: `config/config.toml`, `config/node_key.json`, `config/addrbook.json`, `data/`), and
 * creating it (`init`, and the first run of `node`).
 * @module
 */
import { join, resolve } from "node:path";
import { NodeKey } from "../p2p/key.ts";
import { buildConfig, type RawValue } from "./build.ts";
import { CMT_HOME_ENV, flagName, HOME_ENV } from "./overrides.ts";
import { DEFAULT_ADDR_BOOK_FILE, DEFAULT_NODE_KEY_FILE, INIT_CHAIN_ID } from "./schema.ts";
import { renderConfigToml } from "./toml.ts";
import { ConfigError } from "./validate.ts";
import { writeFileAtomic } from "../libs/tempfile.ts";

/** Home directory name under `$HOME` when neither `--home` nor `$SWITCHYARD_HOME` is given. */
export const DEFAULT_HOME_DIR = ".switchyard";
/** Config file, relative to the home directory. */
export const CONFIG_FILE = "config/config.toml";
/** Mode of directories we create (CometBFT's `DefaultDirPerm`). */
export const DIR_MODE = 0o700;
/** Mode of `config.toml` (CometBFT writes 0644). */
export const CONFIG_FILE_MODE = 0o644;

/** Where things live in a home directory. */
export interface HomePaths {
  home: string;
  configDir: string;
  configFile: string;
  nodeKeyFile: string;
  addrBookFile: string;
  dataDir: string;
}

/**
 * The home directory, absolute: `flagHome`, else `$SWITCHYARD_HOME`, else CometBFT's `$CMTHOME`,
 * else `$HOME/.switchyard`. (cometbft lets `CMTHOME` win over `--home`; here the flag wins, as
 * for every other key.)
 * @throws ConfigError when none is available.
 */
export function resolveHome(
  flagHome: string | undefined,
  env: Record<string, string | undefined>,
): string {
  const chosen = flagHome || env[HOME_ENV] || env[CMT_HOME_ENV] ||
    (env.HOME ? join(env.HOME, DEFAULT_HOME_DIR) : "");
  if (!chosen) {
    throw new ConfigError(
      `config error: no home directory: pass --home DIR or set ${HOME_ENV} (or ${CMT_HOME_ENV})`,
    );
  }
  return resolve(chosen);
}

/** The default layout of `home`. */
export function homePaths(home: string): HomePaths {
  const abs = resolve(home);
  return {
    home: abs,
    configDir: join(abs, "config"),
    configFile: join(abs, CONFIG_FILE),
    nodeKeyFile: join(abs, DEFAULT_NODE_KEY_FILE),
    addrBookFile: join(abs, DEFAULT_ADDR_BOOK_FILE),
    dataDir: join(abs, "data"),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Options of {@link initHome} and {@link ensureHome}. */
export interface InitOptions {
  /** Overwrite an existing config and node key. */
  force?: boolean;
  /** Config key overrides to write into the new file (key path → flag text), e.g. from flags. */
  flags?: Record<string, string>;
}

/** What {@link initHome} did. */
export interface InitResult {
  paths: HomePaths;
  nodeId: string;
  /** Files written (new, or replaced with `force`). */
  written: string[];
  /** Files that existed and were kept (without `force`). */
  found: string[];
  /** Files that existed and were replaced (only with `force`). */
  overwritten: string[];
}

function initialConfigText(home: string, flags: Record<string, string>): string {
  const layer = new Map<string, RawValue>([
    ["chain_id", { raw: INIT_CHAIN_ID, source: { kind: "default" } }],
  ]);
  for (const [path, text] of Object.entries(flags)) {
    layer.set(path, { raw: text, source: { kind: "flag", name: flagName(path) } });
  }
  return renderConfigToml(buildConfig(home, [layer]));
}

/**
 * Creates a home as `cometbft init` does: `config/config.toml` (defaults,
 * `chain_id = "switchyard-local"`, plus `flags`), `config/node_key.json` (mode 0600) and `data/`,
 * each only when missing; existing files are kept (and reported in `found`) unless `force`.
 * @throws ConfigError when a flag value is invalid (nothing is written then).
 * @throws KeyFileError when a kept node key cannot be read.
 */
export async function initHome(home: string, opts: InitOptions = {}): Promise<InitResult> {
  const paths = homePaths(home);
  const text = initialConfigText(paths.home, opts.flags ?? {});
  const res: InitResult = { paths, nodeId: "", written: [], found: [], overwritten: [] };
  await Deno.mkdir(paths.configDir, { recursive: true, mode: DIR_MODE });
  await Deno.mkdir(paths.dataDir, { recursive: true, mode: DIR_MODE });
  const configExists = await exists(paths.configFile);
  if (configExists && !opts.force) res.found.push(paths.configFile);
  else {
    if (configExists) res.overwritten.push(paths.configFile);
    await writeFileAtomic(paths.configFile, new TextEncoder().encode(text), CONFIG_FILE_MODE);
    res.written.push(paths.configFile);
  }
  const keyExists = await exists(paths.nodeKeyFile);
  if (keyExists && !opts.force) {
    res.found.push(paths.nodeKeyFile);
    res.nodeId = (await NodeKey.load(paths.nodeKeyFile)).id;
  } else {
    if (keyExists) res.overwritten.push(paths.nodeKeyFile);
    const key = NodeKey.generate();
    await key.save(paths.nodeKeyFile);
    res.written.push(paths.nodeKeyFile);
    res.nodeId = key.id;
  }
  return res;
}

/**
 * First-run setup for `node`: creates the directories, and when `config/config.toml` is missing
 * writes the default config and (if missing) the default node key. Never overwrites anything.
 * @returns the files it created.
 */
export async function ensureHome(
  home: string,
  opts: Omit<InitOptions, "force"> = {},
): Promise<string[]> {
  const paths = homePaths(home);
  const created: string[] = [];
  await Deno.mkdir(paths.configDir, { recursive: true, mode: DIR_MODE });
  await Deno.mkdir(paths.dataDir, { recursive: true, mode: DIR_MODE });
  if (await exists(paths.configFile)) return created;
  try {
    await Deno.writeTextFile(paths.configFile, initialConfigText(paths.home, opts.flags ?? {}), {
      createNew: true,
      mode: CONFIG_FILE_MODE,
    });
    created.push(paths.configFile);
  } catch (err) {
    // Another process created it between the check and the write: theirs stands.
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    return created;
  }
  if (!(await exists(paths.nodeKeyFile))) {
    await NodeKey.generate().save(paths.nodeKeyFile);
    created.push(paths.nodeKeyFile);
  }
  return created;
}
