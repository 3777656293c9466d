/**
 * Hostile TCP clients Deno cannot script itself (no SO_LINGER, no local-address option on
 * `Deno.connect`), run through `tests/util/socket_clients.py` with python3: connections closed
 * with a reset before the server reads, and many partial handshakes from distinct source
 * addresses (127.1.x.y) that stall. Bounded in count and time; loopback only.
 * @module
 */

const SCRIPT = new URL("./socket_clients.py", import.meta.url).pathname;

/** What the script reports once its sockets are connected. */
export interface ClientReport {
  connected: number;
  failed: number;
}

/** Connects to 127.0.0.1:`port` and closes with RST (SO_LINGER 0), `count` times in a row. */
export async function rstConnects(port: number, count = 1): Promise<ClientReport> {
  const out = await new Deno.Command("python3", {
    args: [SCRIPT, "--port", String(port), "--mode", "rst", "--count", String(count)],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(30_000),
  }).output();
  if (!out.success) throw new Error(`socket_clients.py rst exited with ${out.code}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

/** Options of {@link startStalls}. */
export interface StallOptions {
  port: number;
  count: number;
  /** Each socket from its own 127.1.x.y (default) or all from 127.0.0.1. */
  spread?: boolean;
  /** Bytes of an ephemeral-key message each socket sends before stalling (uniform in range). */
  minBytes?: number;
  maxBytes?: number;
  /** The script closes everything after this long at the latest (default 20 s). */
  holdSeconds?: number;
}

/** Stalled sockets held open by the script until {@link Stalls.close}. */
export interface Stalls {
  readonly report: ClientReport;
  /** Closes every socket (stdin EOF) and waits for the script to exit. */
  close(): Promise<void>;
}

/** Opens `count` partial handshakes that then stall; resolves once all have connected. */
export async function startStalls(o: StallOptions): Promise<Stalls> {
  const child = new Deno.Command("python3", {
    args: [
      SCRIPT,
      "--port",
      String(o.port),
      "--mode",
      "stall",
      "--count",
      String(o.count),
      "--src",
      o.spread === false ? "single" : "spread",
      "--min-bytes",
      String(o.minBytes ?? 0),
      "--max-bytes",
      String(o.maxBytes ?? o.minBytes ?? 0),
      "--hold",
      String(o.holdSeconds ?? 20),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const close = async () => {
    await child.stdin.close().catch(() => {});
    await child.status;
  };
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("socket_clients.py exited before reporting");
      text += value;
    }
    // The script prints nothing more; cancelling closes our end of the pipe.
    await reader.cancel().catch(() => {});
    return { report: JSON.parse(text.split("\n")[0]), close };
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await close();
    throw e;
  }
}
