/**
 * Memory across reloads: one process running a {@link MultiNode} with two chains, then N
 * reload cycles, each adding a chain with a new name and chain ID and removing it again (the
 * pattern that could accumulate per-chain state: series, loggers, listeners, routes). The V8
 * heap after full GCs and the RSS are sampled every `--every` cycles; what matters is the heap's
 * slope once warm (JIT and inline caches fill during the first cycles).
 *
 * Run: deno run --allow-all bench/reload_cycles.ts [--cycles=300] [--every=50]
 * @module
 */
import { loadConfig } from "../config/mod.ts";
import { MultiNode } from "../node/multi_node.ts";
import { multiChainConfig, type TestChain, writeConfig } from "../tests/util/multi_chain.ts";

const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const CYCLES = Number(arg("cycles") ?? 300);
const EVERY = Number(arg("every") ?? 50);
/** Cycles before the "warm" reference sample. */
const WARM = Math.min(50, CYCLES);
const SELF = new URL(import.meta.url).pathname;
const BASE: TestChain[] = [
  { name: "default", chainId: "bench-a" },
  { name: "b", chainId: "bench-b" },
];
const OPTS = { metricsAddr: "127.0.0.1:0", seedMode: false };

/** Heap after three full GCs, and RSS, in KiB. */
function sample(): { heapKiB: number; rssKiB: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  const m = Deno.memoryUsage();
  return { heapKiB: Math.round(m.heapUsed / 1024), rssKiB: Math.round(m.rss / 1024) };
}

async function reloadTo(home: string, node: MultiNode, chains: TestChain[]): Promise<void> {
  await writeConfig(home, multiChainConfig(chains, OPTS));
  const { config, chains: specs } = await loadConfig({ home });
  const r = await node.reload(config, specs);
  if (r.failed.length > 0) throw new Error(`reload failed: ${JSON.stringify(r.failed)}`);
}

async function child(): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "sy_bench_reload_" });
  let node: MultiNode | undefined;
  try {
    await writeConfig(home, multiChainConfig(BASE, OPTS));
    const { config, chains } = await loadConfig({ home });
    node = await MultiNode.create({ config, chains });
    await node.start();
    let warm: { heapKiB: number } | undefined;
    for (let i = 0; i <= CYCLES; i++) {
      if (i % EVERY === 0 || i === WARM) {
        const s = sample();
        if (i === WARM) warm = s;
        console.log(`cycle ${String(i).padStart(4)}: heap ${s.heapKiB} KiB, rss ${s.rssKiB} KiB`);
        if (i === CYCLES && warm && CYCLES > WARM) {
          const per = (s.heapKiB - warm.heapKiB) / (CYCLES - WARM);
          console.log(
            `reload_cycles: heap after GC ${warm.heapKiB} KiB at cycle ${WARM}, ` +
              `${s.heapKiB} KiB at ${CYCLES} (${
                per.toFixed(2)
              } KiB per add/remove cycle once warm)`,
          );
        }
      }
      if (i === CYCLES) break;
      await reloadTo(home, node, [...BASE, { name: `x${i}`, chainId: `bench-x-${i}` }]);
      await reloadTo(home, node, BASE);
    }
  } finally {
    await node?.stop();
    await Deno.remove(home, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--child")) {
    await child();
  } else {
    // A child with --expose-gc, so the heap figures are after full collections.
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--v8-flags=--expose-gc", SELF, "--child", ...Deno.args],
      env: { SWITCHYARD_LOOPBACK_ONLY: "1" },
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) Deno.exit(status.code);
  }
}
