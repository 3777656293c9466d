/**
 * Shared plumbing of the RPC client subcommands (`status`, `net-info`, `dial-peers`,
 * `dial-seeds`): the `--node` / `--json` / `--home` / `--config` flags, finding the node's RPC
 * address (default: `rpc.laddr` of the config in the home), and mapping failures to exit codes
 * (7 unreachable, 8 RPC error, 2 usage).
 * @module
 */
import { ExitCode } from "./command.ts";
import { runCliCommand } from "./cli_run.ts";
import {
  type CommandOptions,
  DEFAULT_RPC_LADDR,
  loadConfigForArgs,
  parseConfigArgs,
  splitList,
  UsageError,
} from "../config/mod.ts";
import { RpcCallError, RpcClient, RpcUnreachableError } from "../rpc/client.ts";
import { RpcCode } from "../rpc/types.ts";

/** Help lines of the flags every RPC client command takes. */
export const RPC_CLIENT_FLAGS_HELP = [
  "  --node ADDR    the node's RPC: tcp://HOST:PORT or unix:///PATH",
  "                 (default: rpc.laddr of the config in --home, else " + DEFAULT_RPC_LADDR + ")",
  "  --json         print the raw JSON result (for scripts) instead of text",
  "  --home DIR     home directory whose config names the node (default $SWITCHYARD_HOME, else",
  "                 ~/.switchyard)",
  "  --config FILE  config file (default DIR/config/config.toml)",
].join("\n");

/** Exit codes of the RPC client commands, for their `--help`. */
export const RPC_CLIENT_EXIT_HELP =
  "Exit codes: 0 ok; 2 bad flag or argument; 7 the node's RPC is unreachable; 8 the node " +
  "answered with an error.";

/** Parsed common flags plus the command's own arguments. */
export interface RpcCliArgs {
  client: RpcClient;
  json: boolean;
  /** Positional arguments. */
  rest: string[];
  /** The command's own flags that were given. */
  values: Record<string, string | boolean>;
}

/** The flags every RPC client command takes besides the config flags. */
const RPC_CLIENT_OPTIONS: CommandOptions = {
  node: { type: "string" },
  "node-addr": { type: "string" },
  json: { type: "boolean" },
};

/**
 * Parses the common flags and the command's own (`own`); resolves the node address.
 * @throws UsageError, ConfigError.
 */
export async function parseRpcCliArgs(
  args: string[],
  own: CommandOptions = {},
): Promise<RpcCliArgs> {
  const parsed = parseConfigArgs(args, { ...RPC_CLIENT_OPTIONS, ...own });
  const given = parsed.values.node ?? parsed.values["node-addr"];
  let node = typeof given === "string" ? given : undefined;
  if (node === undefined) {
    const { config } = await loadConfigForArgs(parsed);
    node = config.rpc.laddr || DEFAULT_RPC_LADDR;
  }
  const values: Record<string, string | boolean> = {};
  for (const k of Object.keys(own)) if (k in parsed.values) values[k] = parsed.values[k];
  return {
    client: new RpcClient(node),
    json: parsed.values.json === true,
    rest: parsed.rest,
    values,
  };
}

/** Prints `value` as the command's JSON output (compact, one line, like CometBFT's RPC). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value));
}

/**
 * Runs an RPC client command body with the shared error handling: usage and config errors →
 * 2, unreachable → 7, JSON-RPC error → 8 (with a hint when an unsafe route is disabled).
 */
export function runRpcCommand(
  usage: string,
  args: string[],
  body: (a: RpcCliArgs) => Promise<number>,
  own: CommandOptions = {},
): Promise<number> {
  return runCliCommand(
    usage,
    args,
    async () => body(await parseRpcCliArgs(args, own)),
    rpcErrorExit,
  );
}

/**
 * What serves each RPC method a node may lack, and how to enable it: reactor routes exist only
 * when the reactor is in `node.reactors`; unsafe routes only with `rpc.unsafe = true`.
 */
const ROUTE_PROVIDERS: Record<string, { reactor: string } | { unsafe: true }> = {
  broadcast_tx_async: { reactor: "tx_relay" },
  say: { reactor: "chat" },
  dial_seeds: { unsafe: true },
  dial_peers: { unsafe: true },
};

/** The hint printed after "Method not found" for `method`. */
export function missingRouteHint(method: string): string {
  const p = ROUTE_PROVIDERS[method];
  if (p === undefined) return "";
  if ("unsafe" in p) {
    return ` (${method} is an unsafe route: set rpc.unsafe = true in the node's config.toml, ` +
      `or start it with --rpc.unsafe)`;
  }
  return ` (${method} is served by the ${p.reactor} reactor, which this node does not run: add ` +
    `"${p.reactor}" to node.reactors in its config.toml, e.g. reactors = ["pex", ` +
    `"${p.reactor}"], or start it with --node.reactors pex,${p.reactor})`;
}

/** Exit code (and message) of the RPC client's own errors; `undefined` for any other error. */
function rpcErrorExit(err: unknown): number | undefined {
  if (err instanceof RpcUnreachableError) {
    console.error(`error: ${err.message}`);
    return ExitCode.rpcUnreachable;
  }
  if (err instanceof RpcCallError) {
    const hint = err.code === RpcCode.methodNotFound ? missingRouteHint(err.method) : "";
    console.error(`error: the node answered: ${err.message}${hint}`);
    return ExitCode.rpcError;
  }
  return undefined;
}

/**
 * Runs a read-only RPC query command (`status`, `net-info`): no arguments of its own, calls
 * `method` without parameters and prints the result as JSON (`--json`) or as `format` renders it.
 */
export function runRpcQuery<T>(
  usage: string,
  args: string[],
  method: string,
  format: (result: T) => string,
): Promise<number> {
  return runRpcCommand(usage, args, async ({ client, json, rest }) => {
    noMoreArgs(rest);
    printResult(await client.call<T>(method), json, format);
    return ExitCode.ok;
  });
}

/** Prints an RPC result: raw JSON with `--json` ({@link printJson}), else `format(result)`. */
export function printResult<T>(result: T, json: boolean, format: (result: T) => string): void {
  if (json) printJson(result);
  else console.log(format(result));
}

/**
 * The addresses given as positional arguments, each possibly a comma-separated list (as in
 * `p2p.persistent_peers`); empty items are dropped.
 * @throws UsageError on an argument that looks like a flag.
 */
export function addressArgs(rest: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of rest) {
    if (a.startsWith("-")) throw new UsageError(`unknown flag "${a}"`);
    out.push(...splitList(a));
  }
  return out;
}

/** Rejects unexpected positional arguments or flags. */
export function noMoreArgs(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
}

/** Go-style duration text of a nanosecond count string, e.g. `1m2.5s` (for human output). */
export function formatNs(ns: string): string {
  const ms = Number(BigInt(ns) / 1_000_000n);
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}
