/**
 * `show-node-id`: prints the node ID of the home's node key (generates nothing).
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { runCliCommand } from "./cli_run.ts";
import { loadConfigForArgs, parseConfigArgs, UsageError } from "../config/mod.ts";
import { KeyFileError, NodeKey } from "../p2p/key.ts";

const USAGE = `Usage: switchyard show-node-id [--home DIR] [--config FILE]

Prints the node ID (40 hex characters) of the node key named by node_key_file in the config
(default DIR/config/node_key.json). Never creates a key: run \`init\` first.

  --home DIR     home directory (default $SWITCHYARD_HOME, else $CMTHOME, else ~/.switchyard)
  --config FILE  config file (default DIR/config/config.toml)

Exit codes: 0 printed; 1 the key file is missing or unreadable; 2 bad flag or config value.`;

/** `show-node-id`: print this node's ID. */
export const showNodeIdCommand: Command = {
  name: "show-node-id",
  summary: "print this node's ID (from its node key)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    let home: string | undefined;
    return runCliCommand(USAGE, args, async () => {
      const parsed = parseConfigArgs(args);
      if (parsed.rest.length > 0) throw new UsageError(`unexpected argument "${parsed.rest[0]}"`);
      const { config } = await loadConfigForArgs(parsed);
      home = config.home;
      const key = await NodeKey.load(config.nodeKeyFile);
      console.log(key.id);
      return ExitCode.ok;
    }, (err) => {
      if (!(err instanceof KeyFileError)) return undefined;
      const missing = err.cause instanceof Deno.errors.NotFound;
      const hint = missing ? `; create it with: switchyard init --home ${home}` : "";
      console.error(`error: ${err.message}${hint}`);
      return ExitCode.failure;
    });
  },
};
