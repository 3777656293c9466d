/**
 * `version`: switchyard's own version; `--verbose` adds the protocol versions and the CometBFT
 * line it speaks, as JSON in the shape of `cometbft version --verbose`
 * (`cmd/cometbft/commands/version.go`).
 * @module
 */
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { ExitCode } from "./command.ts";
import { BLOCK_PROTOCOL, P2P_PROTOCOL, SOFTWARE_VERSION, SWITCHYARD_VERSION } from "../version.ts";

const USAGE = `Usage: switchyard version [--verbose | -v]

Prints switchyard's version (${SWITCHYARD_VERSION}). With --verbose, prints JSON with the
switchyard version, the CometBFT version NodeInfo advertises by default (node.version), the
CometBFT line spoken, and the p2p and block protocol versions.`;

/** What `version --verbose` prints (as indented JSON). */
export interface VerboseVersion {
  switchyard: string;
  cometbft: string;
  cometbft_line: string;
  block_protocol: number;
  p2p_protocol: number;
}

/** The `version --verbose` document. */
export function verboseVersion(): VerboseVersion {
  const [major, minor] = SOFTWARE_VERSION.split(".");
  return {
    switchyard: SWITCHYARD_VERSION,
    cometbft: SOFTWARE_VERSION,
    cometbft_line: `v${major}.${minor}`,
    block_protocol: BLOCK_PROTOCOL,
    p2p_protocol: P2P_PROTOCOL,
  };
}

/** `version`: prints switchyard's version. */
export const versionCommand: Command = {
  name: "version",
  summary: "print switchyard's version (--verbose: protocol versions and CometBFT line)",
  usage: USAGE,
  run(args: string[]): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        strict: true,
        options: {
          verbose: { type: "boolean", short: "v" },
          help: { type: "boolean", short: "h" },
        },
      }));
    } catch (err) {
      console.error(`error: ${(err as Error).message}\n\n${USAGE}`);
      return Promise.resolve(ExitCode.usage);
    }
    if (values.help) console.log(USAGE);
    else if (values.verbose) console.log(JSON.stringify(verboseVersion(), null, 2));
    else console.log(SWITCHYARD_VERSION);
    return Promise.resolve(ExitCode.ok);
  },
};
