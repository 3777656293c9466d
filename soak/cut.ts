/**
 * Cutting a node's connections without touching its process. The default cutter destroys the
 * TCP sockets of the node's p2p listener address with `ss -K` (Linux sock_diag; needs root or
 * CAP_NET_ADMIN), so both ends see a reset exactly as after a network fault: the node's inbound
 * connections and every other node's outbound connection to it.
 *
 * Hook for the fault-injection proxy (`tests/util/faults.ts`, built on another branch): a
 * {@link ConnectionCutter} that owns a loopback proxy in front of each node (the node advertising
 * the proxy through `p2p.external_address`) can cut, stall or corrupt at a chosen phase instead;
 * pass it as `cutter` to `runSoak`.
 * @module
 */

/** Something that can cut a node's live p2p connections. */
export interface ConnectionCutter {
  /** Short name for reports. */
  readonly name: string;
  /** Cuts the connections of the listener at `ip:port`; resolves to how many were cut. */
  cut(ip: string, port: number): Promise<number>;
}

/** `ss -K`: destroys every established TCP socket to or from `ip:port`. */
export class SsKillCutter implements ConnectionCutter {
  readonly name = "ss -K";

  /** Whether this host lets us destroy sockets (root, and an `ss` that knows `-K`). */
  static async available(): Promise<boolean> {
    if (Deno.uid() !== 0) return false;
    try {
      const out = await new Deno.Command("ss", {
        args: ["-K", "-t", "-n", "dst", "127.0.0.254:1"],
        stdout: "null",
        stderr: "null",
      }).output();
      return out.success;
    } catch {
      return false;
    }
  }

  async cut(ip: string, port: number): Promise<number> {
    const out = await new Deno.Command("ss", {
      args: [
        "-K",
        "-t",
        "-n",
        "state",
        "established",
        `( dst ${ip}:${port} or src ${ip}:${port} )`,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(10_000),
    }).output();
    if (!out.success) {
      throw new Error(`ss -K failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    // One line per destroyed socket after the header.
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return Math.max(0, lines.length - 1);
  }
}
