/**
 * Relay benchmark: 250-byte txs forwarded through one node between two peers, one tx per
 * mempool message (as Go sends them).
 *
 *   A (sender) ──0x30──▶ middle ──0x30──▶ B (receiver)
 *
 * The ends run in this process (switch + consensus watcher + a sink on 0x30); the middle is a
 * separate process: a switchyard node (this file re-run with `--middle`, running the tx relay
 * and the consensus watcher) and, when a cometbft binary is installed, a CometBFT v0.38 node
 * (kvstore, one validator, `mempool.size` raised). Printed per middle:
 * - throughput: N txs sent back to back, txs/s from the first send to the last arrival;
 * - latency p50/p99 of a paced run (bursts of 10 every 10 ms), and the added latency over a
 *   direct A → B link measured the same way.
 *
 * Every node uses CometBFT's default MConnection settings, so `flush_throttle_timeout` = 100 ms
 * dominates latency: a hop adds up to 100 ms before its batch is flushed, on either stack.
 *
 * Run: `deno run --allow-all bench/relay.ts [--txs N]`.
 * @module
 */
import { parseArgs } from "node:util";
import { encode, protoType } from "../p2p/proto.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { Peer } from "../p2p/peer.ts";
import { BaseReactor, type InboundEnvelope, type StreamDescriptor } from "../p2p/reactor.ts";
import { ConsensusWatcher } from "../reactors/consensus_watcher.ts";
import { MEMPOOL_CHANNEL, TxRelay } from "../reactors/tx_relay.ts";
import { txsMessageSize } from "../reactors/tx_filter.ts";
import { type ReactorNode, startNode } from "../tests/util/reactor_node.ts";
import { cometbftAvailable, startCometbft } from "../tests/interop/cometbft.ts";

const TX_BYTES = 250;
const DEFAULT_TXS = 5000;
const PACED_TXS = 2000;
const PACED_BURST = 10;
const PACED_GAP_MS = 10;
const WAIT_LIMIT_MS = 120_000;
const CHAIN = "switchyard-bench";

/** Receives mempool messages and records when each tx index arrived. */
class Sink extends BaseReactor {
  arrivals = new Map<number, number>();
  #waiter: (() => void) | undefined;
  #want = 0;
  constructor() {
    super("sink");
  }
  override getChannels(): readonly StreamDescriptor[] {
    return [{
      id: MEMPOOL_CHANNEL,
      priority: 5,
      sendQueueCapacity: 1,
      recvMessageCapacity: txsMessageSize(1048576),
      messageType: protoType("tendermint.mempool.Message"),
      unwrap: true,
    }];
  }
  override receive(env: InboundEnvelope): void {
    const t = performance.now();
    for (const tx of (env.message.txs as { txs: Uint8Array[] }).txs) {
      const idx = Number(new TextDecoder().decode(tx.subarray(1, 10)));
      if (!this.arrivals.has(idx)) this.arrivals.set(idx, t);
    }
    if (this.#waiter && this.arrivals.size >= this.#want) this.#waiter();
  }
  reset(): void {
    this.arrivals = new Map();
  }
  /** Resolves when `n` distinct txs arrived (throws after the wait limit). */
  async until(n: number): Promise<void> {
    if (this.arrivals.size >= n) return;
    this.#want = n;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      this.#waiter = resolve;
      timer = setTimeout(
        () => reject(new Error(`only ${this.arrivals.size} of ${n} txs arrived`)),
        WAIT_LIMIT_MS,
      );
    }).finally(() => {
      clearTimeout(timer);
      this.#waiter = undefined;
    });
  }
}

const MSG = protoType("tendermint.mempool.Message");

/** tx i: `t<9-digit run-unique index>=<padding>` (kvstore-valid: one '='), 250 bytes. */
function tx(i: number): Uint8Array {
  const head = `t${String(i).padStart(9, "0")}=`;
  return new TextEncoder().encode(head + "x".repeat(TX_BYTES - head.length));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

interface Ends {
  a: ReactorNode;
  b: ReactorNode;
  sink: Sink;
  toMiddle: Peer;
  stop(): Promise<void>;
}

async function startEnds(network: string): Promise<Ends> {
  const sink = new Sink();
  const a = await startNode({
    MEMPOOL: new TxRelay(),
    CONSENSUS: new ConsensusWatcher(),
  }, { moniker: "bench-a", network });
  const b = await startNode({ MEMPOOL: sink, CONSENSUS: new ConsensusWatcher() }, {
    moniker: "bench-b",
    network,
  });
  return {
    a,
    b,
    sink,
    toMiddle: undefined as unknown as Peer,
    async stop() {
      await a.sw.stop();
      await b.sw.stop();
    },
  };
}

async function connect(e: Ends, middle: string): Promise<void> {
  const addr = await NetAddress.parse(middle);
  await e.a.sw.dialPeerWithAddress(addr);
  await e.b.sw.dialPeerWithAddress(addr);
  e.toMiddle = e.a.sw.peers().get(addr.id)!;
}

let nextIndex = 0;

/** Sends `n` txs back to back; resolves with [first send time, indices]. */
async function blast(peer: Peer, n: number): Promise<[number, Map<number, number>]> {
  const sent = new Map<number, number>();
  const t0 = performance.now();
  for (let k = 0; k < n; k++) {
    const i = nextIndex++;
    sent.set(i, performance.now());
    if (!(await peer.sendBytes(MEMPOOL_CHANNEL, encode(MSG, { txs: { txs: [tx(i)] } }), "b"))) {
      throw new Error("send failed");
    }
  }
  return [t0, sent];
}

/** Paced sends: bursts of 10 every 10 ms. */
async function paced(peer: Peer, n: number): Promise<Map<number, number>> {
  const sent = new Map<number, number>();
  for (let k = 0; k < n; k++) {
    const i = nextIndex++;
    sent.set(i, performance.now());
    await peer.sendBytes(MEMPOOL_CHANNEL, encode(MSG, { txs: { txs: [tx(i)] } }), "b");
    if (k % PACED_BURST === PACED_BURST - 1) await new Promise((r) => setTimeout(r, PACED_GAP_MS));
  }
  return sent;
}

function latencies(sent: Map<number, number>, sink: Sink): number[] {
  const out: number[] = [];
  for (const [i, t] of sent) {
    const r = sink.arrivals.get(i);
    if (r !== undefined) out.push(r - t);
  }
  return out.sort((x, y) => x - y);
}

interface Result {
  throughput: number;
  p50: number;
  p99: number;
}

/** Throughput and paced latency through `peer` into `sink`. */
async function measure(peer: Peer, sink: Sink, n: number): Promise<Result> {
  // Warm-up (JIT, Go's first CheckTx): 100 txs.
  sink.reset();
  await blast(peer, 100);
  await sink.until(100);
  sink.reset();
  const [t0, sentB] = await blast(peer, n);
  await sink.until(n);
  const last = Math.max(...[...sentB.keys()].map((i) => sink.arrivals.get(i)!));
  const throughput = n / ((last - t0) / 1000);
  sink.reset();
  const sentP = await paced(peer, PACED_TXS);
  await sink.until(PACED_TXS);
  const lat = latencies(sentP, sink);
  return { throughput, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

const ms = (x: number) => x.toFixed(2);

function report(name: string, r: Result, direct: Result, n: number): void {
  console.log(
    `relay ${name}: ${n} txs x ${TX_BYTES} B, throughput ${Math.round(r.throughput)} tx/s`,
  );
  console.log(
    `relay ${name}: latency A->B p50 ${ms(r.p50)} ms p99 ${ms(r.p99)} ms; added over direct ` +
      `p50 ${ms(r.p50 - direct.p50)} ms p99 ${ms(r.p99 - direct.p99)} ms (paced ` +
      `${(PACED_BURST * 1000) / PACED_GAP_MS} tx/s)`,
  );
}

/** `--middle`: a switchyard relay node; prints READY <address>, runs until stdin closes. */
async function runMiddle(network: string): Promise<void> {
  const node = await startNode({
    MEMPOOL: new TxRelay({ cacheSize: 100_000 }),
    CONSENSUS: new ConsensusWatcher(),
  }, { moniker: "bench-middle", network });
  console.log(`READY ${node.addr.toString()}`);
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  await node.sw.stop();
}

async function spawnMiddle(): Promise<{ addr: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--middle"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("middle exited early");
    buf += value;
  }
  const m = /READY (\S+)/.exec(buf);
  if (!m) throw new Error(`middle said: ${buf}`);
  return {
    addr: m[1],
    async stop() {
      await child.stdin.close();
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { txs: { type: "string" }, middle: { type: "boolean" } },
  });
  if (values.middle) return await runMiddle(CHAIN);
  const n = Number(values.txs ?? DEFAULT_TXS);
  console.log("relay: all nodes at default flush_throttle_timeout 100 ms (dominates latency)");

  // Baseline: A → B directly (same process, same code path as the measured runs).
  const base = await startEnds(CHAIN);
  await base.a.sw.dialPeerWithAddress(base.b.addr);
  const direct = await measure(base.a.sw.peers().get(base.b.key.id)!, base.sink, n);
  await base.stop();
  console.log(
    `relay direct: ${n} txs x ${TX_BYTES} B, throughput ${Math.round(direct.throughput)} tx/s, ` +
      `latency p50 ${ms(direct.p50)} ms p99 ${ms(direct.p99)} ms`,
  );

  const mid = await spawnMiddle();
  const ends = await startEnds(CHAIN);
  try {
    await connect(ends, mid.addr);
    report("switchyard", await measure(ends.toMiddle, ends.sink, n), direct, n);
  } finally {
    await ends.stop();
    await mid.stop();
  }

  if (!cometbftAvailable()) {
    console.log("relay cometbft: skipped (no cometbft binary)");
    return;
  }
  const go = await startCometbft({
    pex: false,
    config: { "mempool.size": 1_000_000, "mempool.cache_size": 1_000_000 },
  });
  const gends = await startEnds(go.chainId);
  try {
    await connect(gends, go.address);
    // Go gossips to B only once B announced a height (our watcher does, on Go's first NRS).
    const wb = gends.b.recorders[1].inner as ConsensusWatcher;
    while (wb.maxHeight === 0n) await new Promise((r) => setTimeout(r, 50));
    report("cometbft", await measure(gends.toMiddle, gends.sink, n), direct, n);
  } finally {
    await gends.stop();
    await go.stop();
  }
}

if (import.meta.main) await main();
