/**
 * `dial-peers`: asks a running node to dial peers (unsafe RPC `/dial_peers`).
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { UsageError } from "../config/mod.ts";
import {
  addressArgs,
  printResult,
  RPC_CLIENT_EXIT_HELP,
  RPC_CLIENT_FLAGS_HELP,
  runRpcCommand,
} from "./rpc_cli.ts";

const USAGE =
  `Usage: switchyard dial-peers [--persistent] [--unconditional] [--private] [--node ADDR] [--json] ID@HOST:PORT...

Asks a running node to dial the given peers (RPC /dial_peers; the node needs rpc.unsafe = true).
The node adds them to its address book and dials each after a random 0-3 s delay; the command
returns as soon as dialing started: check the result with net-info.

  --persistent     make these the node's persistent peers (redialed when lost; REPLACES the
                   persistent_peers list of the running node)
  --unconditional  exempt these peer IDs from the inbound/outbound limits
  --private        never gossip these addresses to other peers

${RPC_CLIENT_FLAGS_HELP}

${RPC_CLIENT_EXIT_HELP}`;

/** `dial-peers`: dial peers through a node's RPC. */
export const dialPeersCommand: Command = {
  name: "dial-peers",
  summary: "make a running node dial peers (RPC /dial_peers, needs rpc.unsafe)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runRpcCommand(USAGE, args, async ({ client, json, rest, values }) => {
      const flags = {
        persistent: values.persistent === true,
        unconditional: values.unconditional === true,
        private: values.private === true,
      };
      const peers = addressArgs(rest);
      if (peers.length === 0) throw new UsageError("no peers given (ID@HOST:PORT...)");
      const result = await client.call<{ log: string }>("dial_peers", { peers, ...flags });
      printResult(result, json, (r) => r.log);
      return ExitCode.ok;
    }, {
      persistent: { type: "boolean" },
      unconditional: { type: "boolean" },
      private: { type: "boolean" },
    });
  },
};
