/**
 * What the soak measures on a node: RSS (`/proc/PID/status` VmRSS), open fds
 * (`/proc/PID/fd`), peers (RPC `/net_info`), and whether its p2p listener still accepts. The
 * listener probe connects and waits for the first byte of the node's SecretConnection
 * handshake: both sides send their ephemeral key at once, so a live accept loop answers within
 * milliseconds, while a deaf one (issue 9: the accept loop died) leaves the connection in the
 * kernel's backlog and sends nothing — a bare TCP connect would still succeed there.
 * @module
 */

/** RPC and probe timeouts. */
export const RPC_TIMEOUT_MS = 3_000;
export const PROBE_TIMEOUT_MS = 5_000;

/** RSS and open fds of one process. */
export interface ProcStats {
  rss: number;
  fds: number;
}

/**
 * One shell reads, for every PID given, `VmRSS` from `/proc/PID/status` and counts
 * `/proc/PID/fd`. (Deno grants `/proc/<pid>/` only with `--allow-all`, so the soak asks a
 * `sh` it may run instead; one process per sampling round, whatever the node count.)
 * PIDs that are gone are missing from the result.
 */
export async function procStats(pids: readonly number[]): Promise<Map<number, ProcStats>> {
  const out = new Map<number, ProcStats>();
  if (pids.length === 0) return out;
  const script = 'for p in "$@"; do ' +
    'r=$(sed -n "s/^VmRSS:[[:space:]]*\\([0-9]*\\) kB/\\1/p" /proc/$p/status 2>/dev/null); ' +
    "f=$(ls /proc/$p/fd 2>/dev/null | wc -l); " +
    '[ -n "$r" ] && echo "$p $r $f"; done; true';
  const res = await new Deno.Command("sh", {
    args: ["-c", script, "sh", ...pids.map(String)],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(RPC_TIMEOUT_MS * 3),
  }).output();
  for (const line of new TextDecoder().decode(res.stdout).split("\n")) {
    const [p, r, f] = line.trim().split(/\s+/).map(Number);
    if (Number.isFinite(p) && Number.isFinite(r) && Number.isFinite(f)) {
      out.set(p, { rss: r * 1024, fds: f });
    }
  }
  return out;
}

/** The peers a node reports in `/net_info` (IDs), or undefined when RPC did not answer. */
export async function netInfoPeers(
  rpcPort: number,
  signal?: AbortSignal,
): Promise<string[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${rpcPort}/net_info`, {
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(RPC_TIMEOUT_MS)])
        : AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
    const body = await res.json() as {
      result?: { peers?: { node_info?: { id?: string } }[] };
    };
    const peers = body.result?.peers;
    if (!Array.isArray(peers)) return undefined;
    return peers.map((p) => p.node_info?.id ?? "").filter((id) => id !== "");
  } catch {
    return undefined;
  }
}

/** Whether a node's RPC answers `/health`. */
export async function healthy(rpcPort: number, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${rpcPort}/health`, {
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(RPC_TIMEOUT_MS)])
        : AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Outcome of a listener probe. */
export type ProbeResult = { ok: true; ms: number } | { ok: false; why: string };

/**
 * Dials `ip:port` and waits for the first handshake byte (bounded by {@link PROBE_TIMEOUT_MS});
 * the socket is closed on every path.
 */
export async function probeListener(ip: string, port: number): Promise<ProbeResult> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no handshake byte within ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    );
  });
  const connecting = Deno.connect({ hostname: ip, port });
  // Whatever wins the race, the socket (if it ever opens) is closed exactly once.
  const closeLater = connecting.then((c) => c, () => undefined);
  let reading: Promise<number | null> | undefined;
  try {
    const c = await Promise.race([connecting, timeout]);
    reading = c.read(new Uint8Array(64));
    const n = await Promise.race([reading, timeout]);
    if (n === null) return { ok: false, why: "closed before sending a handshake byte" };
    return { ok: true, ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  } finally {
    clearTimeout(timer);
    // Not awaited: against a deaf listener the connect itself may hang until the kernel gives
    // up; the socket is closed whenever it opens, and the read settles with that close.
    void closeLater.then((c) => {
      try {
        c?.close();
      } catch {
        // already closed
      }
    });
    void reading?.catch(() => null);
  }
}
