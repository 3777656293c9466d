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
  /**
   * Cuts the connections of the node listening at `ip:port` (inbound) and, when `pid` is
   * given, the ones that process dialed (outbound); resolves to how many were cut.
   */
  cut(ip: string, port: number, pid?: number): Promise<number>;
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

  async cut(ip: string, port: number, pid?: number): Promise<number> {
    let n = await ssKill(`( dst ${ip}:${port} or src ${ip}:${port} )`);
    if (pid === undefined) return n;
    // Outbound connections come from 127.0.0.1:<ephemeral>, so they are found by owner: the
    // process column of `ss -p`, then each killed by its exact address pair.
    const out = await new Deno.Command("ss", {
      args: ["-t", "-n", "-p", "state", "established"],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    const pairs: string[] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      if (!line.includes(`pid=${pid},`)) continue;
      const cols = line.trim().split(/\s+/);
      // Recv-Q Send-Q Local Peer Process (the state column is omitted with a state filter).
      const [local, peer] = [cols[2], cols[3]];
      // Both ends on 127.0.0.1: the soak's own RPC connection to the node, not a p2p one.
      if (!local || !peer || (local.startsWith("127.0.0.1:") && peer.startsWith("127.0.0.1:"))) {
        continue;
      }
      pairs.push(`( src ${local} and dst ${peer} )`);
    }
    for (let i = 0; i < pairs.length; i += 16) {
      n += await ssKill(pairs.slice(i, i + 16).join(" or "));
    }
    return n;
  }
}

/** `ss -K` with a filter over established TCP sockets; resolves to how many were destroyed. */
async function ssKill(filter: string): Promise<number> {
  const out = await new Deno.Command("ss", {
    args: ["-K", "-t", "-n", "state", "established", filter],
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

/**
 * Connects to `ip:port` `count` times and closes each socket with a reset (SO_LINGER 0) before
 * the node has read anything: issue 9's accept-loop killer. Deno cannot set SO_LINGER, so a
 * short `python3` does it; resolves to false when python3 is missing.
 */
export async function resetConnects(ip: string, port: number, count: number): Promise<boolean> {
  const script = [
    "import socket, struct, sys",
    "ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])",
    "for _ in range(n):",
    "    s = socket.socket()",
    "    s.settimeout(2)",
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
    "    try:",
    "        s.connect((ip, port))",
    "    except OSError:",
    "        pass",
    "    s.close()",
  ].join("\n");
  try {
    const out = await new Deno.Command("python3", {
      args: ["-c", script, ip, String(port), String(count)],
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(10_000 + count * 2_000),
    }).output();
    return out.success;
  } catch {
    return false;
  }
}
