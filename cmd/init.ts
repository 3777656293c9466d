/**
 * `init`: creates a home directory with a default `config/config.toml`, a fresh
 * `config/node_key.json` (mode 0600) and `data/`, as `cometbft init` does.
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { runCliCommand } from "./cli_run.ts";
import {
  CONFIG_FLAGS_HELP,
  HomeExistsError,
  INIT_CHAIN_ID,
  initHome,
  parseConfigArgs,
  readEnv,
  resolveHome,
  UsageError,
} from "../config/mod.ts";

const USAGE =
  `Usage: deno task cli init [--home DIR] [--force] [--chain-id ID] [--moniker NAME] [config flags]

Writes a default config.toml (with chain_id = "${INIT_CHAIN_ID}" unless --chain-id is given) and a
new node key into DIR/config/, and creates DIR/data/. Any config flag given (e.g.
--p2p.laddr tcp://127.0.0.1:26656) is written into the new config.toml.

  --force   overwrite an existing config.toml and node_key.json (the node gets a NEW identity)

${CONFIG_FLAGS_HELP}

Exit codes: 0 written; 1 unexpected error (e.g. the directory is not writable);
2 bad flag or value, or the files exist and --force was not given.`;

/** `init`: write a default config and node key. */
export const initCommand: Command = {
  name: "init",
  summary: "write a default config and node key into the home directory",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runCliCommand(USAGE, args, async () => {
      let force = false;
      const parsed = parseConfigArgs(args);
      for (const a of parsed.rest) {
        if (a === "--force" || a === "-f") force = true;
        else throw new UsageError(`unexpected argument "${a}"`);
      }
      if (parsed.configPath !== undefined) {
        throw new UsageError(
          "--config is not supported by init (it writes <home>/config/config.toml)",
        );
      }
      const home = resolveHome(parsed.home, readEnv());
      const res = await initHome(home, { force, flags: parsed.flags });
      for (const p of res.overwritten) console.log(`Overwrote ${p}`);
      console.log(`Wrote config file ${res.paths.configFile}`);
      console.log(`Generated node key ${res.paths.nodeKeyFile}`);
      console.log(`Node ID ${res.nodeId}`);
      return ExitCode.ok;
    }, (err) => {
      if (!(err instanceof HomeExistsError)) return undefined;
      console.error(`error: ${err.message}`);
      return ExitCode.usage;
    });
  },
};
