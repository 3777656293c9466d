/**
 * Does opening frames on a second core pay? Batches of 64 sealed frames (one 64 KiB socket
 * read) opened (a) in place on the main thread, as SealedStream does, and (b) on a Worker with
 * the buffer transferred there and back, with 1 and with 3 batches in flight. Printed: MB/s,
 * main-thread CPU µs per frame (`/proc/thread-self/stat`) and whole-process CPU µs per frame.
 * Offloading pays only where the main thread is the bottleneck AND a core is idle; it always
 * costs more CPU in all. Rounds alternate; median [range].
 *
 * Run: deno run --allow-all bench/aead_worker.ts [--quick]
 * @module
 */
import process from "node:process";
import { FrameOpener, FrameSealer, SEALED_FRAME_SIZE } from "../p2p/conn/frame.ts";
import { medianRange } from "./util/compare.ts";

const quick = Deno.args.includes("--quick");
const N = 64;
const BATCHES = quick ? 500 : 2000;
const ROUNDS = 3;
const key = crypto.getRandomValues(new Uint8Array(32));
const sealed = new FrameSealer(key).seal(new Uint8Array(N * 1024).fill(7)).slice();

interface Fig {
  mbps: number;
  mainUs: number;
  allUs: number;
}

/** CPU ms of the calling thread so far (main thread here). */
function threadCpuMs(): number {
  const f = Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

function measure<T>(run: () => Promise<T>): Promise<Fig> {
  const c0 = process.cpuUsage();
  const m0 = threadCpuMs();
  const t0 = performance.now();
  return run().then(() => {
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const frames = BATCHES * N;
    return {
      mbps: (frames * 1024) / dt / 1e3,
      mainUs: ((threadCpuMs() - m0) * 1000) / frames,
      allUs: (c.user + c.system) / frames,
    };
  });
}

function inline(): Promise<Fig> {
  const buf = new Uint8Array(N * SEALED_FRAME_SIZE);
  // deno-lint-ignore require-await -- same shape as the worker variant
  return measure(async () => {
    for (let i = 0; i < BATCHES; i++) {
      buf.set(sealed);
      if (new FrameOpener(key).openInPlace(buf, N) !== N) throw new Error("open failed");
    }
  });
}

function viaWorker(inflight: number): Promise<Fig> {
  const w = new Worker(new URL("./util/aead_worker_child.ts", import.meta.url), {
    type: "module",
  });
  return measure(async () => {
    let done = 0;
    let sent = 0;
    const fin = Promise.withResolvers<void>();
    const send = (buf: ArrayBuffer) => {
      new Uint8Array(buf).set(sealed);
      sent++;
      w.postMessage({ key, buf, n: N }, [buf]);
    };
    w.onmessage = (e: MessageEvent<{ buf: ArrayBuffer; ok: number }>) => {
      if (e.data.ok !== N) fin.reject(new Error("worker open failed"));
      else if (++done === BATCHES) fin.resolve();
      else if (sent < BATCHES) send(e.data.buf);
    };
    for (let i = 0; i < inflight; i++) send(new ArrayBuffer(N * SEALED_FRAME_SIZE));
    await fin.promise;
  }).finally(() => w.terminate());
}

const variants: [string, () => Promise<Fig>][] = [
  ["main thread, in place", inline],
  ["worker, 1 batch in flight", () => viaWorker(1)],
  ["worker, 3 batches in flight", () => viaWorker(3)],
];
const res = new Map<string, Fig[]>(variants.map(([n]) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of r % 2 === 0 ? variants : [...variants].reverse()) {
    res.get(name)!.push(await fn());
  }
}
console.log(`aead_worker: ${BATCHES} batches of ${N} frames; median [range] of ${ROUNDS} rounds`);
for (const [name, figs] of res) {
  console.log(
    `aead_worker ${name}: MB/s ${
      medianRange(figs.map((f) => f.mbps), 0)
    }, main-thread CPU µs/frame ${
      medianRange(figs.map((f) => f.mainUs), 2)
    }, all-threads CPU µs/frame ${medianRange(figs.map((f) => f.allUs), 2)}`,
  );
}
