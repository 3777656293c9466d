/**
 * CLI entry: `switchyard <subcommand> [flags]` (`deno task cli` in a checkout). Each subcommand
 * lives in `cmd/`. Config flags may also come before the subcommand (`switchyard --home /h
 * start`), as cometbft's persistent flags do.
 * @module
 */
import type { Command } from "./cmd/command.ts";
import { ExitCode } from "./cmd/command.ts";
import { versionCommand } from "./cmd/version.ts";
import { initCommand } from "./cmd/init.ts";
import { showNodeIdCommand } from "./cmd/show_node_id.ts";
import { genNodeKeyCommand } from "./cmd/gen_node_key.ts";
import { dialCommand } from "./cmd/dial.ts";
import { nodeCommand } from "./cmd/node.ts";
import { statusCommand } from "./cmd/status.ts";
import { netInfoCommand } from "./cmd/net_info.ts";
import { dialPeersCommand } from "./cmd/dial_peers.ts";
import { dialSeedsCommand } from "./cmd/dial_seeds.ts";
import { broadcastTxCommand } from "./cmd/broadcast_tx.ts";
import { sayCommand } from "./cmd/say.ts";
import { crawlCommand } from "./cmd/crawl.ts";
import { completionCommand } from "./cmd/completion.ts";
import { hoistGlobalFlags, suggestFlag, UsageError } from "./config/mod.ts";

/** Every subcommand, in the order `--help` lists them. Add new ones here. */
export const COMMANDS: Command[] = [
  nodeCommand,
  initCommand,
  showNodeIdCommand,
  genNodeKeyCommand,
  dialCommand,
  statusCommand,
  netInfoCommand,
  dialPeersCommand,
  dialSeedsCommand,
  broadcastTxCommand,
  sayCommand,
  crawlCommand,
  versionCommand,
  completionCommand(() => COMMANDS),
];

function usage(): string {
  const label = (c: Command) => [c.name, ...(c.aliases ?? [])].join(", ");
  const width = Math.max(...COMMANDS.map((c) => label(c).length));
  const lines = COMMANDS.map((c) => `  ${label(c).padEnd(width)}  ${c.summary}`);
  return [
    "switchyard: a CometBFT-compatible p2p node",
    "",
    "Usage: switchyard [--home DIR] <subcommand> [flags]",
    "       (from a checkout: deno task cli <subcommand>; deno task node = switchyard start)",
    "",
    "Subcommands:",
    ...lines,
    "",
    "Run `switchyard <subcommand> --help` for the flags of each.",
  ].join("\n");
}

/** The subcommand called `name` (or one of its aliases). */
function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || (c.aliases ?? []).includes(name));
}

/** Dispatches to a subcommand; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args: string[];
  try {
    args = hoistGlobalFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`error: ${err.message}\n(run \`switchyard --help\` for the subcommands)`);
    return ExitCode.usage;
  }
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const cmd = findCommand(name);
  if (!cmd) {
    const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    const near = suggestFlag(name, names);
    const hint = near === undefined ? "" : `: did you mean "${near}"?`;
    console.error(
      `error: unknown subcommand "${name}"${hint}\n(run \`switchyard --help\` for the list)`,
    );
    return ExitCode.usage;
  }
  return await cmd.run(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
