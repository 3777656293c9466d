/**
 * Both cores with many peers? One receiving process takes SecretConnection bulk traffic from 1
 * and from 100 peers (all in one sending process of ours, so every receiver faces the same
 * sender), and we compare three receivers:
 *   - `ours-1t`: switchyard as it runs, every connection on the main thread;
 *   - `ours-2t`: the same code with whole connections spread over the main thread and one Worker
 *     (both listen on one port with SO_REUSEPORT, the kernel spreads the accepts), the
 *     "connections off the main thread" design, measured before anyone builds it;
 *   - `go`: cometbft v0.38.25's SecretConnection (`interop-peer sc-bench`), goroutines on both
 *     cores.
 * Printed per receiver and peer count: aggregate MB/s, receiver CPU ms per MiB (all threads)
 * and its CPU % of one core. Order rotates over 3 repetitions; median [range].
 * Per-batch offload for a single connection is measured in `aead_worker.ts`.
 *
 * Run: deno run --allow-all bench/cores.ts [--quick]
 * @module
 */
import { ed25519Signer } from "../p2p/conn/crypto.ts";
import { SecretConnection } from "../p2p/conn/secret_connection.ts";
import { buildGoPeer, hasGo } from "../tests/interop/go_peer.ts";
import { readProcCpuMs, type ReadyChild, spawnReadyChild } from "./util/proc.ts";
import { v8FlagsArgs } from "./util/node_flags.ts";
import { receiveBulk, sendBulk } from "./util/sc_bulk.ts";
import { medianRange } from "./util/compare.ts";

const quick = Deno.args.includes("--quick");
const TOTAL_MIB = quick ? 128 : 512;
const WRITE_SIZE = 64 * 1024;
const PEER_COUNTS = [1, 100];
const REPS = 3;
const WORKER_NAME = "cores-recv-worker";

// ---------------------------------------------------------------------------------------------
// Receiver threads: accept on a shared (SO_REUSEPORT) port, handshake, receive, acknowledge.

async function receiveOn(port: number, onListening: (port: number) => void): Promise<void> {
  const signer = await ed25519Signer(crypto.getRandomValues(new Uint8Array(32)));
  const listener = Deno.listen({ hostname: "127.0.0.1", port, reusePort: true });
  onListening((listener.addr as Deno.NetAddr).port);
  for await (const conn of listener) {
    conn.setNoDelay(true);
    SecretConnection.make(conn, signer)
      .then(async (sc) => {
        try {
          await receiveBulk(sc);
        } finally {
          sc.close();
        }
      })
      .catch(() => {}); // a failed peer ends only its own connection
  }
}

/** `--recv THREADS`: prints ready once every thread listens; stops when stdin closes. */
async function recvChild(threads: number): Promise<void> {
  let port = 0;
  await new Promise<void>((listening) => {
    receiveOn(0, (p) => {
      port = p;
      listening();
    }).catch((e) => {
      console.log(JSON.stringify({ event: "error", error: String(e) }));
      Deno.exit(1);
    });
  });
  const workers: Worker[] = [];
  for (let i = 1; i < threads; i++) {
    const w = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
    const up = new Promise<void>((r) => w.onmessage = () => r());
    w.postMessage({ port });
    await up;
    workers.push(w);
  }
  console.log(JSON.stringify({ event: "ready", port }));
  for await (const _ of Deno.stdin.readable) { /* until the parent closes stdin */ }
  for (const w of workers) w.terminate();
  Deno.exit(0);
}

function workerMain(): void {
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent<{ port: number }>) => void) | null;
    postMessage(m: unknown): void;
  };
  scope.onmessage = (e) => {
    receiveOn(e.data.port, () => scope.postMessage("listening")).catch(() => {});
  };
}

// ---------------------------------------------------------------------------------------------
// Sender: `--send PORT PEERS TOTAL_BYTES`. Handshakes every connection, prints
// {"event":"ready"}, waits for a line on stdin, sends, prints the result.

async function sendChild(port: number, peers: number, total: number): Promise<void> {
  const signer = await ed25519Signer(crypto.getRandomValues(new Uint8Array(32)));
  const conns = await Promise.all(Array.from({ length: peers }, async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.setNoDelay(true);
    return await SecretConnection.make(c, signer);
  }));
  const data = new Uint8Array(WRITE_SIZE);
  crypto.getRandomValues(data.subarray(0, 65536));
  console.log(JSON.stringify({ event: "ready" }));
  const reader = Deno.stdin.readable.getReader();
  await reader.read(); // the parent's go
  const per = Math.floor(total / peers);
  const t0 = performance.now();
  await Promise.all(conns.map((sc) => sendBulk(sc, per, data)));
  const s = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ event: "result", mbps: (per * peers) / s / 1e6 }));
  for (const sc of conns) sc.close();
  reader.releaseLock();
}

// ---------------------------------------------------------------------------------------------
// Parent

type Receiver = "ours-1t" | "ours-2t" | "go";

interface Fig {
  mbps: number;
  recvCpuMsPerMiB: number;
  recvCpuPct: number;
}

async function startReceiver(r: Receiver): Promise<ReadyChild> {
  if (r === "go") {
    return await spawnReadyChild("go sc-bench server", await buildGoPeer(), [
      "sc-bench",
      "--role",
      "serve",
      "--mode",
      "bulk",
    ]);
  }
  return await spawnReadyChild(`receiver ${r}`, Deno.execPath(), [
    "run",
    "--allow-all",
    "--unstable-net",
    ...v8FlagsArgs(),
    new URL(import.meta.url).pathname,
    "--recv",
    r === "ours-2t" ? "2" : "1",
  ], { inheritStderr: true });
}

async function runOnce(r: Receiver, peers: number): Promise<Fig> {
  const recv = await startReceiver(r);
  const total = TOTAL_MIB * 1024 * 1024;
  try {
    // Ready once every connection is handshaken; sends on "go".
    const sender = await spawnReadyChild("bulk sender", Deno.execPath(), [
      "run",
      "--allow-all",
      ...v8FlagsArgs(),
      new URL(import.meta.url).pathname,
      "--send",
      String(recv.ready.port),
      String(peers),
      String(total),
    ], { inheritStderr: true, readyTimeoutMs: 60_000 });
    try {
      const cpu0 = readProcCpuMs(recv.pid);
      const t0 = performance.now();
      await sender.send("go\n");
      const res = await sender.nextEvent();
      const ms = performance.now() - t0;
      const cpu = readProcCpuMs(recv.pid) - cpu0;
      return {
        mbps: res.mbps as number,
        recvCpuMsPerMiB: cpu / TOTAL_MIB,
        recvCpuPct: (100 * cpu) / ms,
      };
    } finally {
      await sender.stop();
    }
  } finally {
    await recv.stop();
  }
}

async function main(): Promise<void> {
  const receivers: Receiver[] = hasGo() ? ["ours-1t", "ours-2t", "go"] : ["ours-1t", "ours-2t"];
  console.log(
    `cores: ${TOTAL_MIB} MiB per run over 1 or 100 SecretConnections (${
      WRITE_SIZE / 1024
    } KiB writes) from one sender process of ours into one receiver; ${REPS} reps, order rotated; ` +
      `${navigator.hardwareConcurrency} cores`,
  );
  for (const peers of PEER_COUNTS) {
    const figs = new Map<Receiver, Fig[]>(receivers.map((r) => [r, []]));
    for (let rep = 0; rep < REPS; rep++) {
      const order = receivers.map((_, i) => receivers[(i + rep) % receivers.length]);
      for (const r of order) figs.get(r)!.push(await runOnce(r, peers));
    }
    console.log(`cores ${peers} peer(s):`);
    for (const r of receivers) {
      const f = figs.get(r)!;
      console.log(
        `  ${r.padEnd(8)} ${medianRange(f.map((x) => x.mbps), 0)} MB/s, receiver ${
          medianRange(f.map((x) => x.recvCpuMsPerMiB), 2)
        } CPU ms/MiB, ${medianRange(f.map((x) => x.recvCpuPct), 0)}% of a core`,
      );
    }
    const one = figs.get("ours-1t")!;
    for (const r of receivers.filter((x) => x !== "ours-1t")) {
      const f = figs.get(r)!;
      console.log(
        `  ${r}/ours-1t MB/s ${medianRange(f.map((x, i) => x.mbps / one[i].mbps), 2)}` +
          (r === "go"
            ? `; ours-1t/go ${medianRange(one.map((x, i) => x.mbps / f[i].mbps), 2)}`
            : ""),
      );
    }
  }
}

const inWorker = (globalThis as { name?: string }).name === WORKER_NAME;
const recvAt = Deno.args.indexOf("--recv");
const sendAt = Deno.args.indexOf("--send");
if (inWorker) workerMain();
else if (recvAt >= 0) await recvChild(Number(Deno.args[recvAt + 1]));
else if (sendAt >= 0) {
  const [port, peers, total] = Deno.args.slice(sendAt + 1, sendAt + 4).map(Number);
  await sendChild(port, peers, total);
} else await main();
