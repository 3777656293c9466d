/**
 * The shape every subcommand module in `cmd/` exports, and the CLI exit codes.
 * @module
 */

/** A subcommand of `switchyard` (`deno task cli` in a checkout). */
export interface Command {
  /** Name as typed on the command line, e.g. `dial`. */
  readonly name: string;
  /** Other names that run it (cometbft's: `start` and `run` for `node`). */
  readonly aliases?: readonly string[];
  /** One line for `--help` listings. */
  readonly summary: string;
  /** Full usage text printed by `<name> --help`. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** Exit codes shared by every subcommand (documented in README). */
export const ExitCode = {
  ok: 0,
  /** Unexpected internal error. */
  failure: 1,
  /** Bad flag, argument or config value. */
  usage: 2,
  /** Peer unreachable: TCP connect failed or the host did not resolve. */
  unreachable: 3,
  /** SecretConnection or NodeInfo handshake failed. */
  handshake: 4,
  /** The authenticated key does not match the dialed ID. */
  idMismatch: 5,
  /** The peer is on another network, block version, or shares no channel. */
  incompatible: 6,
  /** Could not reach the node's RPC. */
  rpcUnreachable: 7,
  /** The node's RPC answered with an error. */
  rpcError: 8,
} as const;
