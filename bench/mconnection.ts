/**
 * MConnection benchmark: two MConnections over a loopback TCP socket pair, no encryption, rate
 * limits off. Prints plain lines: msgs/s for 256-byte messages, MB/s for 1 MiB messages, and
 * p50/p99 round-trip time of a 1-byte message echoed at the message level.
 *
 * Run: deno run --allow-all bench/mconnection.ts
 * @module
 */
import { type MConnConfig, MConnection } from "../p2p/conn/mconnection.ts";
import { tcpPair } from "../tests/util/mem_stream.ts";

const CH = 0x20;

interface Pair {
  a: MConnection;
  b: MConnection;
  stop(): Promise<void>;
}

async function makePair(
  cfg: Partial<MConnConfig>,
  queueCap: number,
  onA: (m: Uint8Array) => void,
  onB: (m: Uint8Array) => void,
): Promise<Pair> {
  const [sa, sb] = await tcpPair();
  const chs = [{ id: CH, priority: 5, sendQueueCapacity: queueCap }];
  const fail = (e: Error) => console.error("unexpected connection error:", e.message);
  const a = new MConnection(sa, chs, (_c, m) => onA(m), fail, cfg);
  const b = new MConnection(sb, chs, (_c, m) => onB(m), fail, cfg);
  a.start();
  b.start();
  return {
    a,
    b,
    async stop() {
      await a.stop();
      await b.stop();
    },
  };
}

/** Sends `count` messages of `size` bytes from a to b; returns seconds until all arrived. */
async function oneWay(size: number, count: number, queueCap: number): Promise<number> {
  let got = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const pair = await makePair({ sendRate: 0, recvRate: 0 }, queueCap, () => {}, () => {
    if (++got === count) resolveDone();
  });
  const msg = new Uint8Array(size).fill(0xab);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (!pair.a.trySend(CH, msg) && !await pair.a.send(CH, msg)) throw new Error("send failed");
  }
  await done;
  const secs = (performance.now() - t0) / 1000;
  await pair.stop();
  return secs;
}

/**
 * Sends `count` messages of `size` bytes from `senders` concurrent tasks, each parked in
 * `send` while the queue (capacity `queueCap`) is full, all with one shared abort signal (as
 * `Peer.send` passes its quit signal): the waiter bookkeeping on the hot path.
 */
async function parkedSenders(
  size: number,
  count: number,
  senders: number,
  queueCap: number,
): Promise<number> {
  let got = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const pair = await makePair({ sendRate: 0, recvRate: 0 }, queueCap, () => {}, () => {
    if (++got === count) resolveDone();
  });
  const msg = new Uint8Array(size).fill(0xcd);
  const t0 = performance.now();
  let next = 0;
  const quit = new AbortController();
  const task = async () => {
    while (next < count) {
      next++;
      if (!await pair.a.send(CH, msg, { signal: quit.signal })) throw new Error("send failed");
    }
  };
  await Promise.all(Array.from({ length: senders }, task));
  await done;
  const secs = (performance.now() - t0) / 1000;
  await pair.stop();
  return secs;
}

async function rtt(flushThrottleMs: number, rounds: number): Promise<number[]> {
  let pending: (() => void) | null = null;
  const echo: { via?: MConnection } = {};
  const pair = await makePair(
    { sendRate: 0, recvRate: 0, flushThrottleMs },
    10,
    () => pending?.(),
    (m) => echo.via?.trySend(CH, m),
  );
  echo.via = pair.b;
  const one = new Uint8Array(1);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const back = new Promise<void>((r) => (pending = r));
    const t0 = performance.now();
    pair.a.trySend(CH, one);
    await back;
    samples.push(performance.now() - t0);
  }
  await pair.stop();
  return samples.sort((x, y) => x - y);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// Warm-up so the JIT has compiled the hot path.
await oneWay(256, 20_000, 1000);

const n256 = 200_000;
const s256 = await oneWay(256, n256, 1000);
console.log(
  `mconnection 256B msgs/s: ${Math.round(n256 / s256)} (${n256} msgs in ${s256.toFixed(2)} s)`,
);

const n1m = 200;
const s1m = await oneWay(1 << 20, n1m, 10);
console.log(
  `mconnection 1MiB MB/s: ${(n1m * (1 << 20) / 1e6 / s1m).toFixed(1)} (${n1m} msgs in ${
    s1m.toFixed(2)
  } s)`,
);

const nParked = 100_000;
const parked = 5_000;
const sParked = await parkedSenders(256, nParked, parked, 100);
console.log(
  `mconnection 256B msgs/s from ${parked} senders parked on a 100-slot queue: ${
    Math.round(nParked / sParked)
  } (${nParked} msgs in ${sParked.toFixed(2)} s)`,
);

for (const [throttle, rounds] of [[0, 2000], [100, 20]] as const) {
  const r = await rtt(throttle, rounds);
  console.log(
    `mconnection 1B rtt flush_throttle=${throttle}ms: p50 ${pct(r, 0.5).toFixed(3)} ms, p99 ${
      pct(r, 0.99).toFixed(3)
    } ms (${rounds} rounds)`,
  );
}
