/**
 * `net-info`: prints a running node's `/net_info` (listening state and connected peers).
 * @module
 */
import type { Command } from "./command.ts";
import { formatNs, RPC_CLIENT_EXIT_HELP, RPC_CLIENT_FLAGS_HELP, runRpcQuery } from "./rpc_cli.ts";
import type { NetInfoResult } from "../node/rpc_routes.ts";

const USAGE = `Usage: switchyard net-info [--node tcp://HOST:PORT] [--json]

Asks a running node for /net_info and prints one line per connected peer: node ID, direction
(out = we dialed), remote IP, moniker, chain ID and connection age. --json prints the raw
result, e.g. for: net-info --json | jq -r '.peers[].node_info.id'. Works against CometBFT
nodes too.

${RPC_CLIENT_FLAGS_HELP}

${RPC_CLIENT_EXIT_HELP}`;

/** Human rendering of a `/net_info` result. */
export function formatNetInfo(r: NetInfoResult): string {
  const lines = [
    `Listening: ${r.listening}  Listeners: ${r.listeners.join(", ")}  Peers: ${r.n_peers}`,
  ];
  for (const p of r.peers) {
    const dir = p.is_outbound ? "out" : "in ";
    const age = p.connection_status?.Duration ? formatNs(p.connection_status.Duration) : "?";
    lines.push(
      `  ${p.node_info.id}  ${dir}  ${p.remote_ip.padEnd(15)}  ${p.node_info.moniker}  ` +
        `${p.node_info.network}  up ${age}`,
    );
  }
  return lines.join("\n");
}

/** `net-info`: print a node's peers. */
export const netInfoCommand: Command = {
  name: "net-info",
  summary: "list a running node's peers (RPC /net_info)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runRpcQuery(USAGE, args, "net_info", formatNetInfo);
  },
};
