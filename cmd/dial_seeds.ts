/**
 * `dial-seeds`: asks a running node to dial seed nodes (unsafe RPC `/dial_seeds`).
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

const USAGE = `Usage: switchyard dial-seeds [--node ADDR] [--json] ID@HOST:PORT...

Asks a running node to dial the given seed nodes (RPC /dial_seeds; the node needs
rpc.unsafe = true). They are added to its address book and dialed after a random 0-3 s delay;
the command returns as soon as dialing started: check the result with net-info.

${RPC_CLIENT_FLAGS_HELP}

${RPC_CLIENT_EXIT_HELP}`;

/** `dial-seeds`: dial seeds through a node's RPC. */
export const dialSeedsCommand: Command = {
  name: "dial-seeds",
  summary: "make a running node dial seed nodes (RPC /dial_seeds, needs rpc.unsafe)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runRpcCommand(USAGE, args, async ({ client, json, rest }) => {
      const seeds = addressArgs(rest);
      if (seeds.length === 0) throw new UsageError("no seeds given (ID@HOST:PORT...)");
      const result = await client.call<{ log: string }>("dial_seeds", { seeds });
      printResult(result, json, (r) => r.log);
      return ExitCode.ok;
    });
  },
};
