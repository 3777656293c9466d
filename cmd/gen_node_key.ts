/**
 * `gen-node-key` (also `gen_node_key`): writes a new node key where the config's
 * `node_key_file` points and prints its ID, as `cometbft gen-node-key`; refuses to replace an
 * existing key (a node's identity is its key).
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { runCliCommand } from "./cli_run.ts";
import { loadConfigForArgs, parseConfigArgs, UsageError } from "../config/mod.ts";
import { NodeKey } from "../p2p/key.ts";

const USAGE = `Usage: switchyard gen-node-key [--home DIR] [--config FILE]

Generates a node key (ed25519) at node_key_file of the config (default
DIR/config/node_key.json, mode 0600) and prints its node ID. Refuses when the file exists:
the key is the node's identity (back it up; see docs/operating.md).

Exit codes: 0 written; 1 the key file exists or cannot be written; 2 bad flag or config value.`;

/** The key file exists: the node already has an identity. */
export class NodeKeyExistsError extends Error {
  constructor(readonly path: string) {
    super(`node key at ${path} already exists (remove it first to make a new identity)`);
    this.name = "NodeKeyExistsError";
  }
}

/** `gen-node-key`: make a node key. */
export const genNodeKeyCommand: Command = {
  name: "gen-node-key",
  aliases: ["gen_node_key"],
  summary: "generate the node key and print its ID (refuses to overwrite one)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runCliCommand(USAGE, args, async () => {
      const parsed = parseConfigArgs(args);
      if (parsed.rest.length > 0) throw new UsageError(`unexpected argument "${parsed.rest[0]}"`);
      const { config } = await loadConfigForArgs(parsed);
      const path = config.nodeKeyFile;
      const exists = await Deno.lstat(path).then(() => true, (err) => {
        if (err instanceof Deno.errors.NotFound) return false;
        throw err;
      });
      if (exists) throw new NodeKeyExistsError(path);
      const key = NodeKey.generate();
      await key.save(path);
      console.log(key.id);
      return ExitCode.ok;
    }, (err) => {
      if (!(err instanceof NodeKeyExistsError)) return undefined;
      console.error(`error: ${err.message}`);
      return ExitCode.failure;
    });
  },
};
