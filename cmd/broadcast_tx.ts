/**
 * `broadcast-tx`: submits a transaction to a running node through RPC `broadcast_tx_async`
 * (a switchyard node with the `tx_relay` reactor, or a CometBFT node) and prints its hash.
 * @module
 */
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import {
  printJson,
  RPC_CLIENT_EXIT_HELP,
  RPC_CLIENT_FLAGS_HELP,
  runRpcCommand,
} from "./rpc_cli.ts";
import { UsageError } from "../config/mod.ts";

const USAGE = `Usage: switchyard broadcast-tx [--node tcp://HOST:PORT] [--hex | --string] <tx>

Submits one transaction with RPC broadcast_tx_async and prints its hash (upper-case hex
SHA-256). The node relays it to its peers; it does not wait for the transaction to be checked
or committed.

<tx> is taken as text (UTF-8 bytes), e.g. k=v for the kvstore app, unless it starts with 0x,
in which case it is hex ("0x6b3d76" is the same as "k=v"). --hex / --string force either
reading (--hex accepts the digits with or without 0x).

Errors reported by the node (exit code 8) include "tx already exists in cache" and
"Tx too large. Max size is N, but got M".

${RPC_CLIENT_FLAGS_HELP}

${RPC_CLIENT_EXIT_HELP}`;

/** CometBFT's `broadcast_tx_async` result. */
export interface BroadcastTxResult {
  code: number;
  data: string;
  log: string;
  codespace: string;
  hash: string;
}

/** Decodes hex digits (even count, optional 0x). @throws UsageError */
export function parseHexTx(s: string): Uint8Array {
  const digits = s.startsWith("0x") || s.startsWith("0X") ? s.slice(2) : s;
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) {
    throw new UsageError(`"${s}" is not an even number of hex digits`);
  }
  return Uint8Array.from(digits.match(/../g)!, (h) => parseInt(h, 16));
}

/** How `<tx>` is read: hex when it starts with 0x (auto), or forced. */
export type TxMode = "auto" | "hex" | "string";

/** The bytes of one `<tx>` argument read as `mode`. @throws UsageError */
export function txBytes(tx: string, mode: TxMode): Uint8Array {
  if (mode === "hex" || (mode === "auto" && /^0[xX]/.test(tx))) return parseHexTx(tx);
  return new TextEncoder().encode(tx);
}

/** The mode the `--hex` / `--string` flags ask for. @throws UsageError when both are given */
function txMode(values: Record<string, string | boolean | undefined>): TxMode {
  if (values.hex && values.string) throw new UsageError("--hex and --string exclude each other");
  return values.hex ? "hex" : values.string ? "string" : "auto";
}

/** The command's own flags. */
const TX_OPTIONS = { hex: { type: "boolean" }, string: { type: "boolean" } } as const;

/** The tx bytes of the command's arguments (`[--hex|--string] <tx>`). @throws UsageError */
export function txFromArgs(args: string[]): Uint8Array {
  let parsed;
  try {
    parsed = parseArgs({ args, options: TX_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`unknown flag: ${(err as Error).message}`);
  }
  return txBytes(onePositional(parsed.positionals), txMode(parsed.values));
}

function onePositional(positional: string[]): string {
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0 ? "missing <tx>" : `expected one <tx>, got ${positional.length}`,
    );
  }
  return positional[0];
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** `broadcast-tx`: submit a tx via RPC. */
export const broadcastTxCommand: Command = {
  name: "broadcast-tx",
  summary: "submit a transaction to a node (RPC broadcast_tx_async)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    return runRpcCommand(USAGE, args, async ({ client, json, rest, values }) => {
      const tx = txBytes(onePositional(rest), txMode(values));
      const result = await client.call<BroadcastTxResult>("broadcast_tx_async", {
        tx: toBase64(tx),
      });
      if (json) printJson(result);
      else console.log(result.hash);
      return ExitCode.ok;
    }, TX_OPTIONS);
  },
};
