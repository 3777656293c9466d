/**
 * CLI entry: `deno task cli <subcommand> [flags]`. Each subcommand lives in `cmd/`.
 * @module
 */
import type { Command } from "./cmd/command.ts";
import { ExitCode } from "./cmd/command.ts";
import { versionCommand } from "./cmd/version.ts";
import { initCommand } from "./cmd/init.ts";
import { showNodeIdCommand } from "./cmd/show_node_id.ts";
import { dialCommand } from "./cmd/dial.ts";
import { nodeCommand } from "./cmd/node.ts";
import { statusCommand } from "./cmd/status.ts";
import { netInfoCommand } from "./cmd/net_info.ts";
import { dialPeersCommand } from "./cmd/dial_peers.ts";
import { dialSeedsCommand } from "./cmd/dial_seeds.ts";
import { broadcastTxCommand } from "./cmd/broadcast_tx.ts";
import { sayCommand } from "./cmd/say.ts";
import { crawlCommand } from "./cmd/crawl.ts";

/** Every subcommand, in the order `--help` lists them. Add new ones here. */
const COMMANDS: Command[] = [
  nodeCommand,
  initCommand,
  showNodeIdCommand,
  dialCommand,
  statusCommand,
  netInfoCommand,
  dialPeersCommand,
  dialSeedsCommand,
  versionCommand,
  broadcastTxCommand,
  sayCommand,
  crawlCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "switchyard: a CometBFT-compatible p2p node",
    "",
    "Usage: deno task cli <subcommand> [flags]   (deno task node = deno task cli node)",
    "",
    "Subcommands:",
    ...lines,
    "",
    "Run `deno task cli <subcommand> --help` for the flags of each.",
  ].join("\n");
}

/** Dispatches to a subcommand; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`error: unknown subcommand "${name}"\n\n${usage()}`);
    return ExitCode.usage;
  }
  return await cmd.run(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
