/**
 * `show-node-id`: prints the node ID of the home's node key (generates nothing).
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { ConfigError, loadConfig, parseConfigArgs, readEnv, UsageError } from "../config/mod.ts";
import { KeyFileError, NodeKey } from "../p2p/key.ts";

const USAGE = `Usage: deno task cli show-node-id [--home DIR] [--config FILE]

Prints the node ID (40 hex characters) of the node key named by node_key_file in the config
(default DIR/config/node_key.json). Never creates a key: run \`init\` first.

  --home DIR     home directory (default $SWITCHYARD_HOME, else ~/.switchyard)
  --config FILE  config file (default DIR/config/config.toml)

Exit codes: 0 printed; 1 the key file is missing or unreadable; 2 bad flag or config value.`;

/** `show-node-id`: print this node's ID. */
export const showNodeIdCommand: Command = {
  name: "show-node-id",
  summary: "print this node's ID (from its node key)",
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    if (args.includes("--help") || args.includes("-h")) {
      console.log(USAGE);
      return ExitCode.ok;
    }
    let home: string | undefined;
    try {
      const parsed = parseConfigArgs(args);
      if (parsed.rest.length > 0) throw new UsageError(`unexpected argument "${parsed.rest[0]}"`);
      const { config } = await loadConfig({
        home: parsed.home,
        configPath: parsed.configPath,
        flags: parsed.flags,
        env: readEnv(),
      });
      home = config.home;
      const key = await NodeKey.load(config.nodeKeyFile);
      console.log(key.id);
      return ExitCode.ok;
    } catch (err) {
      if (err instanceof UsageError) {
        console.error(`error: ${err.message}\n\n${USAGE}`);
        return ExitCode.usage;
      }
      if (err instanceof ConfigError) {
        console.error(`error: ${err.message}`);
        return ExitCode.usage;
      }
      if (err instanceof KeyFileError) {
        const missing = err.cause instanceof Deno.errors.NotFound;
        const hint = missing ? `; create it with: deno task cli init --home ${home}` : "";
        console.error(`error: ${err.message}${hint}`);
        return ExitCode.failure;
      }
      console.error(`error: ${(err as Error).message}`);
      return ExitCode.failure;
    }
  },
};
