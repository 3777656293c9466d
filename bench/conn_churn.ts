/**
 * Memory under connection churn (issue 9 item 5: "after 2,000 garbage connections or 5,000
 * connect/close cycles RSS stays 44-65 MB higher: does anything leak?"). Rounds of 2,000
 * connections that send 64 random bytes and close, then 5,000 that connect and close at once,
 * 50 at a time, against:
 *
 * - a daemon subprocess (under `--inspect` on loopback): after each round a full GC through the
 *   inspector (`HeapProfiler.collectGarbage`), then its V8 heap in use, RSS and open fds;
 * - an in-process PEX node (transport + switch), with `--expose-gc`: after each round a full
 *   GC, then the V8 heap in use, RSS, and the transport's and switch's bookkeeping (sockets in
 *   the connection set, pending handshakes, peers) and our fd count.
 *
 * A leak grows round after round; a high-water mark (V8 keeping the heap it grew, the
 * allocator keeping freed pages) rises once and stays. Prints one line per round; asserts
 * nothing. Environment: `ROUNDS` (default 3); `PART=inproc` or `PART=daemon` runs one half.
 * @module
 */
import { spawnDaemon } from "../tests/util/daemon.ts";
import { freePort } from "../tests/interop/cometbft.ts";
import { makePexNode } from "../tests/util/pex_harness.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? "3");
const GARBAGE = 2_000;
const CYCLES = 5_000;
const CONCURRENCY = 50;

function rssMB(pid: number | "self"): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(s)![1]) / 1024;
}

function fds(pid: number | "self"): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

async function churn(port: number): Promise<void> {
  const garbage = crypto.getRandomValues(new Uint8Array(64));
  const one = async (send: boolean) => {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      if (send) await c.write(garbage).catch(() => 0);
      closeQuietly(c);
    } catch { /* refused under load: counted as done */ }
  };
  for (const [n, send] of [[GARBAGE, true], [CYCLES, false]] as const) {
    for (let i = 0; i < n; i += CONCURRENCY) {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n - i) }, () => one(send)));
    }
  }
  // Let the handshakes of the last sockets fail and their tasks finish (3 s deadline).
  await new Promise((r) => setTimeout(r, 4_000));
}

/** A minimal Chrome DevTools Protocol session on a `--inspect` port (loopback only). */
class Inspector {
  #ws: WebSocket;
  #id = 0;
  #waiting = new Map<number, (v: unknown) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      const done = this.#waiting.get(msg.id);
      if (done) {
        this.#waiting.delete(msg.id);
        done(msg.result);
      }
    };
  }

  static async open(port: number): Promise<Inspector> {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return new Inspector(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    const p = new Promise((resolve) => this.#waiting.set(id, resolve));
    this.#ws.send(JSON.stringify({ id, method, params }));
    return Promise.race([
      p,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${method}: no answer`)), 30_000)
      ),
    ]);
  }

  /** Full GC, then `Deno.memoryUsage().heapUsed` in MB. */
  async heapUsedAfterGcMB(): Promise<number> {
    await this.call("HeapProfiler.enable");
    await this.call("HeapProfiler.collectGarbage");
    const r = await this.call("Runtime.evaluate", {
      expression: "Deno.memoryUsage().heapUsed",
      returnByValue: true,
    }) as { result: { value: number } };
    return r.result.value / 1048576;
  }

  close(): void {
    this.#ws.close();
  }
}

async function daemonRounds(): Promise<void> {
  const home = await Deno.makeTempDir();
  const inspectPort = freePort();
  const d = await spawnDaemon(home, { denoFlags: [`--inspect=127.0.0.1:${inspectPort}`] });
  const insp = await Inspector.open(inspectPort);
  try {
    const pid = d.child.pid;
    await new Promise((r) => setTimeout(r, 2_000));
    const line = async (label: string) =>
      console.log(
        `daemon: ${label} heapUsed after GC ${(await insp.heapUsedAfterGcMB()).toFixed(1)} MB, ` +
          `RSS ${rssMB(pid).toFixed(1)} MB, fds ${fds(pid)}`,
      );
    await line("start  ");
    for (let r = 1; r <= ROUNDS; r++) {
      await churn(d.p2pPort);
      await line(`round ${r}`);
    }
  } finally {
    insp.close();
    await d.stop();
    await Deno.remove(home, { recursive: true });
  }
}

async function inProcessRounds(gc: () => void): Promise<void> {
  const node = await makePexNode({ name: "churn" });
  try {
    const port = node.transport.listenAddr!.port;
    const report = (label: string) => {
      gc();
      gc();
      const m = Deno.memoryUsage();
      console.log(
        `in-process: ${label} heapUsed ${(m.heapUsed / 1048576).toFixed(1)} MB, heapTotal ${
          (m.heapTotal / 1048576).toFixed(1)
        } MB, RSS ${rssMB("self").toFixed(1)} MB, conn set ${node.transport.numConnections}, ` +
          `pending ${node.transport.numPendingHandshakes}, peers ${node.sw.peers().size}, ` +
          `fds ${fds("self")}`,
      );
    };
    report("start  ");
    for (let r = 1; r <= ROUNDS; r++) {
      await churn(port);
      report(`round ${r}`);
    }
  } finally {
    await node.stop();
  }
}

if (import.meta.main) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    // Re-run with --expose-gc: a heap figure is only meaningful after a full collection.
    const st = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--v8-flags=--expose-gc", new URL(import.meta.url).pathname],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    Deno.exit(st.code);
  }
  console.log(
    `${ROUNDS} rounds of ${GARBAGE} garbage connections + ${CYCLES} connect/close, ` +
      `${CONCURRENCY} at a time`,
  );
  const part = Deno.env.get("PART"); // "inproc" or "daemon" runs only that half
  if (part !== "daemon") await inProcessRounds(gc);
  if (part !== "inproc") await daemonRounds();
}
