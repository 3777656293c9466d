/**
 * `say`: writes a chat line as a running node (RPC `say` of the `chat` reactor); every node of
 * the network prints it once with this node's moniker.
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import {
  printJson,
  RPC_CLIENT_EXIT_HELP,
  RPC_CLIENT_FLAGS_HELP,
  runRpcCommand,
} from "./rpc_cli.ts";
import { UsageError } from "../config/mod.ts";

const USAGE = `Usage: switchyard say [--node tcp://HOST:PORT] "<text>"

Sends one chat line from the node (its moniker is shown as the author). The node must run the
chat reactor (node.reactors includes "chat"). Several words are joined with spaces. Text: 1 to
1000 bytes, no control characters.

${RPC_CLIENT_FLAGS_HELP}

${RPC_CLIENT_EXIT_HELP}`;

/** The `say` route's result. */
export interface SayResult {
  id: string;
  moniker: string;
  /** Peers the line was handed to (decimal string). */
  peers: string;
}

/** `say`: send a chat line via RPC. */
export const sayCommand: Command = {
  name: "say",
  summary: "send a chat line from a node (RPC say, chat reactor)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runRpcCommand(USAGE, args, async ({ client, json, rest }) => {
      const flag = rest.find((a) => a.startsWith("--") && a.length > 2);
      if (flag !== undefined) throw new UsageError(`unknown flag ${flag}`);
      const text = rest.join(" ");
      if (text === "") throw new UsageError("missing <text>");
      const result = await client.call<SayResult>("say", { text });
      if (json) printJson(result);
      else console.log(`sent as ${result.moniker} to ${result.peers} peer(s)`);
      return ExitCode.ok;
    });
  },
};
