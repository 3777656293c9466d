/**
 * `dial`: a handshake probe. Connects to one peer, runs the full CometBFT handshake (TCP,
 * SecretConnection, NodeInfo exchange and the checks a Go node applies), prints the peer's
 * NodeInfo as JSON and disconnects. The exit code says how far it got (README, "Exit codes").
 * @module
 */
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { flagName, parseConfigArgs, UsageError } from "../config/flags.ts";
import {
  COMETBFT_LINE_SETTINGS,
  type CometbftLineSetting,
  DEFAULT_COMETBFT_LINE,
  isCometbftLineSetting,
  lineProfile,
} from "../p2p/cometbft_line.ts";
import { InvalidParametersError, P2PError } from "../p2p/errors.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress, NetAddressLookupError } from "../p2p/netaddress.ts";
import { makeNodeInfo, type NodeInfo, nodeInfoToJSON } from "../p2p/node_info.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";
import { DEFAULT_DIAL_TIMEOUT_MS, dialTcp, upgradeOutbound } from "../p2p/upgrade.ts";

/** The channels a stock CometBFT v0.38 node advertises (with PEX), so a Go peer finds a common one. */
export const DEFAULT_DIAL_CHANNELS = "40,20,21,22,23,30,38,60,61,00";
/** Moniker the probe advertises unless `--moniker` is given. */
export const DEFAULT_DIAL_MONIKER = "switchyard-dial";
/** `listen_addr` the probe advertises: the CometBFT default, valid for Go's `Validate`. */
export const DIAL_LISTEN_ADDR = "tcp://0.0.0.0:26656";

const USAGE = `Usage: switchyard dial <id@host:port> --chain-id <id> [flags]

Connects to one peer, performs the CometBFT handshake, prints the peer's NodeInfo as JSON on
stdout and disconnects. On failure prints one line "error: <reason>" on stderr.

Flags:
  --chain-id ID      network (genesis chain_id) we claim; required
  --home DIR         use DIR/config/node_key.json as our key
  --node-key FILE    use FILE as our key (default: a fresh throw-away key)
  --moniker NAME     our moniker (default ${DEFAULT_DIAL_MONIKER})
  --timeout MS       TCP connect timeout (default ${DEFAULT_DIAL_TIMEOUT_MS})
  --channels LIST    channel IDs we advertise, hex, comma-separated
                     (default ${DEFAULT_DIAL_CHANNELS})
  --cometbft-line L  the CometBFT line we claim to be: its p2p protocol and version in our
                     NodeInfo (${
  COMETBFT_LINE_SETTINGS.join(", ")
}; default ${DEFAULT_COMETBFT_LINE})

Exit codes: 0 ok, 2 bad usage, 3 unreachable, 4 handshake failed, 5 ID mismatch,
6 incompatible or invalid NodeInfo (or the peer is ourselves).`;

/** Where the command writes; tests substitute collectors. */
export interface DialIO {
  out(line: string): void;
  err(line: string): void;
}

const consoleIO: DialIO = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Parsed `dial` arguments. */
export interface DialArgs {
  /** `id@host:port` to dial. */
  address: string;
  /** The network we claim. */
  chainId: string;
  /** Our node key file; a throw-away key when absent. */
  keyFile?: string;
  /** Our moniker. */
  moniker: string;
  /** TCP connect timeout. */
  timeoutMs: number;
  /** Channels we advertise. */
  channels: Uint8Array;
  /** The line whose p2p protocol and version we advertise. */
  line: CometbftLineSetting;
}

/** Config flags `dial` takes (the rest of the shared config flags do not apply to a probe). */
const DIAL_CONFIG_KEYS = new Set(["chain_id", "moniker", "cometbft_line"]);

/** Parses `40,20,00` into channel bytes (hex, 1–2 digits each, no duplicates, at most 16). */
export function parseChannels(list: string): Uint8Array {
  const parts = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bytes = parts.map((p) => {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) throw new UsageError(`--channels: "${p}" is not a hex byte`);
    return parseInt(p, 16);
  });
  if (bytes.length === 0) throw new UsageError("--channels: at least one channel is required");
  if (new Set(bytes).size !== bytes.length) throw new UsageError("--channels: duplicate channel");
  if (bytes.length > 16) throw new UsageError("--channels: at most 16 channels");
  return Uint8Array.from(bytes);
}

/**
 * Parses `dial`'s arguments with the shared flag parser (so `--chain-id`/`--chain_id`,
 * `--cometbft-line`/`--cometbft_line` and `--flag=value` work as for every command).
 * @throws UsageError for a bad, unknown or inapplicable flag.
 */
export function parseDialArgs(args: string[]): DialArgs {
  const parsed = parseConfigArgs(args, {
    "node-key": { type: "string" },
    "timeout": { type: "string" },
    "channels": { type: "string" },
  });
  for (const path of Object.keys(parsed.flags)) {
    if (!DIAL_CONFIG_KEYS.has(path)) {
      throw new UsageError(
        `flag ${
          flagName(path)
        } does not apply to dial (it takes --chain-id, --cometbft-line, --moniker, --home)`,
      );
    }
  }
  if (parsed.configPath !== undefined || parsed.warnings.length > 0) {
    throw new UsageError("dial reads no config file and takes no cometbft start flags");
  }
  const values = {
    "chain-id": parsed.flags.chain_id,
    "cometbft-line": parsed.flags.cometbft_line,
    moniker: parsed.flags.moniker,
    home: parsed.home,
    "node-key": parsed.values["node-key"] as string | undefined,
    timeout: parsed.values.timeout as string | undefined,
    channels: parsed.values.channels as string | undefined,
  };
  const positionals = parsed.rest;
  if (positionals.length !== 1) {
    throw new UsageError(`expected exactly one address <id@host:port>, got ${positionals.length}`);
  }
  const chainId = values["chain-id"];
  if (!chainId) throw new UsageError("--chain-id is required");
  if (values.home !== undefined && values["node-key"] !== undefined) {
    throw new UsageError("--home and --node-key are mutually exclusive");
  }
  const keyFile = values["node-key"] ??
    (values.home !== undefined ? `${values.home}/config/node_key.json` : undefined);
  let timeoutMs = DEFAULT_DIAL_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    timeoutMs = Number(values.timeout);
    if (!/^[0-9]+$/.test(values.timeout) || timeoutMs <= 0) {
      throw new UsageError(`--timeout: "${values.timeout}" is not a positive number of ms`);
    }
  }
  const moniker = values.moniker ?? DEFAULT_DIAL_MONIKER;
  const line = values["cometbft-line"] ?? DEFAULT_COMETBFT_LINE;
  if (!isCometbftLineSetting(line)) {
    throw new UsageError(
      `--cometbft-line: "${line}" is not a CometBFT line (one of ${
        COMETBFT_LINE_SETTINGS.join(", ")
      })`,
    );
  }
  return {
    address: positionals[0],
    chainId,
    keyFile,
    moniker,
    timeoutMs,
    channels: parseChannels(values.channels ?? DEFAULT_DIAL_CHANNELS),
    line,
  };
}

/** The NodeInfo the probe sends as `id`: the chosen line's p2p/block protocol and version. */
export function dialNodeInfo(a: DialArgs, id: string): NodeInfo {
  const profile = lineProfile(a.line);
  return makeNodeInfo({
    id,
    network: a.chainId,
    moniker: a.moniker,
    channels: a.channels,
    listenAddr: DIAL_LISTEN_ADDR,
    version: profile.version,
    protocolVersion: { p2p: profile.p2pProtocol, block: profile.blockProtocol },
  });
}

/** Maps a failure to the exit code the README documents. */
export function exitCodeFor(err: unknown): number {
  // An unresolvable host is "unreachable" (checked first: it is also an InvalidParametersError).
  if (err instanceof NetAddressLookupError) return ExitCode.unreachable;
  if (err instanceof UsageError || err instanceof InvalidParametersError) return ExitCode.usage;
  if (err instanceof P2PError) {
    switch (err.kind) {
      case "unreachable":
        return ExitCode.unreachable;
      case "handshake":
      case "closed":
      case "rejected":
        return ExitCode.handshake;
      case "id_mismatch":
        return ExitCode.idMismatch;
      case "incompatible":
      case "invalid_node_info":
      case "self":
        return ExitCode.incompatible;
    }
  }
  return ExitCode.failure;
}

/** Runs `dial` with `args` (after the subcommand name); resolves to the exit code. */
export async function runDial(args: string[], io: DialIO = consoleIO): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(USAGE);
    return ExitCode.ok;
  }
  try {
    const a = parseDialArgs(args);
    const addr = await NetAddress.parse(a.address);
    const nodeKey = a.keyFile !== undefined ? await NodeKey.load(a.keyFile) : NodeKey.generate();
    const ours = dialNodeInfo(a, nodeKey.id);
    const conn = await dialTcp(addr, { timeoutMs: a.timeoutMs });
    const { secretConn, nodeInfo } = await upgradeOutbound(conn, {
      nodeKey,
      nodeInfo: ours,
      dialedId: addr.id,
    });
    closeQuietly(secretConn);
    io.out(JSON.stringify(nodeInfoToJSON(nodeInfo), null, 2));
    return ExitCode.ok;
  } catch (err) {
    const code = exitCodeFor(err);
    const msg = err instanceof Error ? err.message : String(err);
    io.err(`error: ${msg.replaceAll("\n", " ")}`);
    return code;
  }
}

/** The `dial` subcommand. */
export const dialCommand: Command = {
  name: "dial",
  summary: "handshake with one peer and print its NodeInfo",
  usage: USAGE,
  run: (args) => runDial(args),
};
