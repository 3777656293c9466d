/**
 * The real binary of every CometBFT line the interop matrix runs (`tests/interop_lines_test.ts`).
 * v0.38 is the harness's usual binary (`findCometbft`); the others are built once by
 * `.ci/cometbft_lines.sh` into the tools cache, `$SWITCHYARD_TOOLS_DIR` (default
 * `$HOME/.cache/switchyard-tools`), as `cometbft-vX.Y.Z/cometbft`.
 *
 * Skip semantics follow `interopTest`: a missing binary skips locally and fails under `CI=true`.
 * @module
 */
import type { CometbftLine } from "../../p2p/cometbft_line.ts";
import { findCometbft } from "./cometbft.ts";

/** One line's reference release. Keep in step with `.ci/cometbft_lines.sh` (LINE_VERSIONS). */
export interface LineBinary {
  readonly line: CometbftLine;
  /** The release (git tag without `v`). */
  readonly tag: string;
  /** What its NodeInfo `version` says (version/version.go; two tags never bumped it). */
  readonly reported: string;
  /** Go `version.P2PProtocol` of the release. */
  readonly p2pProtocol: number;
}

/** The matrix, oldest line first. */
export const LINE_BINARIES: readonly LineBinary[] = [
  { line: "v0.34", tag: "0.34.35", reported: "0.34.35", p2pProtocol: 8 },
  { line: "v0.37", tag: "0.37.18", reported: "0.37.16", p2pProtocol: 8 },
  { line: "v0.38", tag: "0.38.25", reported: "0.38.25", p2pProtocol: 8 },
  { line: "v0.39", tag: "0.39.4", reported: "0.39.4", p2pProtocol: 8 },
  { line: "v0.40", tag: "0.40.0", reported: "0.39.0", p2pProtocol: 8 },
  { line: "v1.0", tag: "1.0.1", reported: "1.0.1", p2pProtocol: 9 },
];

/** The tools cache folder `.ci/cometbft_lines.sh` builds into. */
export function toolsDir(): string {
  return Deno.env.get("SWITCHYARD_TOOLS_DIR") ??
    `${Deno.env.get("HOME") ?? "/tmp"}/.cache/switchyard-tools`;
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The binary of `b`'s release, or null when it is not installed. */
export function lineBinaryPath(b: LineBinary): string | null {
  if (b.line === "v0.38") return findCometbft();
  const path = `${toolsDir()}/cometbft-v${b.tag}/cometbft`;
  return isExecutable(path) ? path : null;
}

/** The message a CI run fails with when a line's binary is missing. */
export function missingLineMessage(b: LineBinary): string {
  return `cometbft v${b.tag} not found in ${toolsDir()}; .ci/run (.ci/cometbft_lines.sh) builds it`;
}

/**
 * Registers a test that needs `b`'s binary: runs it with the path; skipped locally when the
 * binary is missing, failing under `CI=true`.
 */
export function lineTest(
  b: LineBinary,
  name: string,
  fn: (bin: string, t: Deno.TestContext) => Promise<void>,
): void {
  const bin = lineBinaryPath(b);
  const ci = Deno.env.get("CI") === "true";
  if (bin === null && !ci) console.error(`skipping ${name}: ${missingLineMessage(b)}`);
  Deno.test({
    name,
    ignore: bin === null && !ci,
    async fn(t) {
      if (bin === null) throw new Error(missingLineMessage(b));
      await fn(bin, t);
    },
  });
}
