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
  INIT_CHAIN_ID,
  initHome,
  parseConfigArgs,
  readEnv,
  resolveHome,
  UsageError,
} from "../config/mod.ts";

const USAGE =
  `Usage: switchyard init [--home DIR] [--force] [--chain-id ID] [--moniker NAME] [config flags]

Writes a default config.toml (with chain_id = "${INIT_CHAIN_ID}" unless --chain-id is given) and a
new node key into DIR/config/, and creates DIR/data/. Any config flag given (e.g.
--p2p.laddr tcp://127.0.0.1:26656) is written into the new config.toml. As \`cometbft init\`,
files that already exist are kept and reported ("Found ..."), and it exits 0: running it on a
home made by cometbft (or twice) changes nothing.

  --force, -f   overwrite an existing config.toml and node_key.json (the node gets a NEW
                identity)

${CONFIG_FLAGS_HELP}

Exit codes: 0 written or found; 1 unexpected error (e.g. the directory is not writable, or an
existing node key is unreadable); 2 bad flag or value.`;

/** `init`: write a default config and node key. */
export const initCommand: Command = {
  name: "init",
  summary: "write a default config and node key into the home directory",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runCliCommand(USAGE, args, async () => {
      const parsed = parseConfigArgs(args, { force: { type: "boolean", short: "f" } });
      if (parsed.rest.length > 0) throw new UsageError(`unexpected argument "${parsed.rest[0]}"`);
      if (parsed.configPath !== undefined) {
        throw new UsageError(
          "--config is not supported by init (it writes <home>/config/config.toml)",
        );
      }
      const force = parsed.values.force === true;
      const home = resolveHome(parsed.home, readEnv());
      const res = await initHome(home, { force, flags: parsed.flags });
      for (const p of res.found) {
        console.log(`Found ${p === res.paths.configFile ? "config file" : "node key"} ${p} (kept)`);
      }
      for (const p of res.overwritten) console.log(`Overwrote ${p}`);
      for (const p of res.written) {
        console.log(
          `${p === res.paths.configFile ? "Wrote config file" : "Generated node key"} ${p}`,
        );
      }
      if (res.found.includes(res.paths.configFile) && Object.keys(parsed.flags).length > 0) {
        console.error(
          `warning: ${res.paths.configFile} exists, so the flags given were not written into it ` +
            "(edit it, or pass --force to rewrite it and make a new node key)",
        );
      }
      console.log(`Node ID ${res.nodeId}`);
      return ExitCode.ok;
    });
  },
};
