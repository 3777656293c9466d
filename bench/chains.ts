/**
 * Memory per extra chain: the resident size of one process running a {@link MultiNode} with N
 * seed-mode chains (each its own Switch, key, address book, PEX reactor and verifier, listening
 * on 127.0.0.1:0; one RPC and one metrics server for all), for several N, each N in a fresh
 * child process. The cost of an extra chain is the slope of RSS over N (least squares), after
 * full GCs; one process per chain instead would cost the whole N = 1 figure per chain.
 * Chains are idle (no peers): this is the fixed cost of a chain; per-peer memory is
 * `bench/idle_peers.ts`'s figure, the same whichever chain a peer is on.
 *
 * Run: deno run --allow-all bench/chains.ts [--counts=1,2,4,8,16]
 * @module
 */
import { loadConfig } from "../config/mod.ts";
import { MultiNode } from "../node/multi_node.ts";
import { multiChainConfig, type TestChain, writeConfig } from "../tests/util/multi_chain.ts";

const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const COUNTS = (arg("counts") ?? "1,2,4,8,16").split(",").map(Number);
/** Settling time after start, before sampling (timers armed, first crawl round done). */
const SETTLE_MS = 1_500;
const SELF = new URL(import.meta.url).pathname;

interface Sample {
  chains: number;
  rssKiB: number;
  heapKiB: number;
  externalKiB: number;
}

/** Child: runs `n` chains, samples memory after GCs, prints one JSON line, stops. */
async function child(n: number): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "sy_bench_chains_" });
  let node: MultiNode | undefined;
  try {
    const chains: TestChain[] = Array.from({ length: n }, (_, i) => ({
      name: i === 0 ? "default" : `c${i}`,
      chainId: `bench-${i}`,
    }));
    await writeConfig(home, multiChainConfig(chains, { metricsAddr: "127.0.0.1:0" }));
    const { config, chains: extra } = await loadConfig({ home });
    node = await MultiNode.create({ config, chains: extra });
    await node.start();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) gc?.();
    const m = Deno.memoryUsage();
    const sample: Sample = {
      chains: n,
      rssKiB: Math.round(m.rss / 1024),
      heapKiB: Math.round(m.heapUsed / 1024),
      externalKiB: Math.round(m.external / 1024),
    };
    console.log(JSON.stringify(sample));
  } finally {
    await node?.stop();
    await Deno.remove(home, { recursive: true });
  }
}

async function measure(n: number): Promise<Sample> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      SELF,
      `--child=${n}`,
    ],
    env: { SWITCHYARD_LOOPBACK_ONLY: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`child with ${n} chains failed (exit ${out.code})`);
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return JSON.parse(line) as Sample;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

if (import.meta.main) {
  const childN = arg("child");
  if (childN !== undefined) {
    await child(Number(childN));
  } else {
    const samples: Sample[] = [];
    for (const n of COUNTS) {
      const s = await measure(n);
      samples.push(s);
      console.log(
        `chains ${String(n).padStart(3)}: rss ${(s.rssKiB / 1024).toFixed(1)} MiB, heap ${
          (s.heapKiB / 1024).toFixed(1)
        } MiB, external ${(s.externalKiB / 1024).toFixed(1)} MiB`,
      );
    }
    const xs = samples.map((s) => s.chains);
    const perRss = slope(xs, samples.map((s) => s.rssKiB));
    const perHeap = slope(xs, samples.map((s) => s.heapKiB));
    const one = samples.find((s) => s.chains === 1);
    console.log(
      `chains: per extra chain ${(perRss / 1024).toFixed(2)} MiB RSS (${
        (perHeap / 1024).toFixed(2)
      } MiB V8 heap)` +
        (one ? `; a separate process per chain: ${(one.rssKiB / 1024).toFixed(1)} MiB each` : ""),
    );
  }
}
