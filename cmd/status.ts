/**
 * `status`: prints a running node's `/status` (its NodeInfo, as peers see it).
 * @module
 */
import type { Command } from "./command.ts";
import { RPC_CLIENT_EXIT_HELP, RPC_CLIENT_FLAGS_HELP, runRpcQuery } from "./rpc_cli.ts";
import type { StatusResult } from "../node/rpc_routes.ts";

const USAGE = `Usage: switchyard status [--node tcp://HOST:PORT] [--json]

Asks a running node for /status and prints its identity: node ID, moniker, chain ID (network),
listen address, software and protocol versions, channels and RPC address. Works against
CometBFT nodes too.

${RPC_CLIENT_FLAGS_HELP}

${RPC_CLIENT_EXIT_HELP}`;

/** Human rendering of a `/status` result. */
export function formatStatus(s: StatusResult): string {
  const ni = s.node_info;
  const pv = ni.protocol_version;
  return [
    `Node ID:      ${ni.id}`,
    `Moniker:      ${ni.moniker}`,
    `Network:      ${ni.network}`,
    `Listen addr:  ${ni.listen_addr}`,
    `Version:      ${ni.version} (p2p ${pv.p2p}, block ${pv.block}, app ${pv.app})`,
    `Channels:     ${ni.channels}`,
    `RPC address:  ${ni.other.rpc_address}`,
    `Latest block: ${s.sync_info.latest_block_height}`,
  ].join("\n");
}

/** `status`: print a node's /status. */
export const statusCommand: Command = {
  name: "status",
  summary: "show a running node's identity (RPC /status)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runRpcQuery(USAGE, args, "status", formatStatus);
  },
};
