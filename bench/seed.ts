/**
 * Seed benchmark: how many crawl clients per second a seed serves, ours and CometBFT v0.38.25's
 * (the Go interop program in `serve --pex --seed-mode`), in the same run, from the same clients.
 *
 * Each client is one full exchange with a fresh node key, in this process: TCP connect,
 * SecretConnection, NodeInfo exchange, MConnection, PexRequest on channel 0x00, PexAddrs
 * received, then the seed's disconnect awaited (counted when the seed closes first; the client
 * hangs up itself after 2 s; see `util/seed_clients.ts`). Clients run at concurrency 1, 16 and 64.
 *
 * Both seeds load the same addrbook.json of {@link BOOK_SIZE} loopback addresses (127.x.y.1,
 * port 9 where nothing listens, so a seed's crawl dials are refused on this machine and nothing
 * is ever dialed off it); ours marks them all verified live. Each seed runs in its own process,
 * so its RSS (VmRSS, and VmHWM as peak) and CPU time come from /proc/<pid>. Seed CPU ms per
 * client is the figure the clients' own CPU cost cannot cap (this machine has 2 cores; the
 * clients' crypto shares them with the seed); the client process's CPU use is printed too.
 *
 * Run: deno run --allow-all bench/seed.ts [seconds-per-level] [book-size]
 * @module
 */
import { NetAddress } from "../p2p/netaddress.ts";
import { buildGoPeer, hasGo, MISSING_GO_MESSAGE } from "../tests/interop/go_peer.ts";
import { compareLine } from "./util/compare.ts";
import { runClients, writeBook } from "./util/seed_clients.ts";
import { nodeV8Flags, v8FlagsArgs } from "./util/node_flags.ts";
import {
  mib,
  readProcCpuMs,
  readProcMemory,
  type ReadyChild,
  spawnReadyChild,
} from "./util/proc.ts";

const NETWORK = "seed-bench";
const LEVELS = [1, 16, 64];
const SECONDS = Number(Deno.args[0] ?? 4);
const BOOK_SIZE = Number(Deno.args[1] ?? 1000);

/** One concurrency level against one seed. */
interface LevelResult {
  level: number;
  served: number;
  failed: number;
  perSec: number;
  addrsPerAnswer: number;
  seedClosed: number;
  seedCpuMsPerClient: number;
  seedCpuPct: number;
  clientCpuPct: number;
  rssKiB: number;
}

/** One seed's run. */
interface SeedResult {
  levels: LevelResult[];
  idleRssKiB: number;
  peakRssKiB: number;
}

async function runLevel(seed: NetAddress, pid: number, level: number): Promise<LevelResult> {
  const cpu0 = readProcCpuMs(pid), self0 = readProcCpuMs(Deno.pid);
  const { served, failed, addrs, seedClosed, ms } = await runClients(seed, NETWORK, level, SECONDS);
  const cpu = readProcCpuMs(pid) - cpu0, self = readProcCpuMs(Deno.pid) - self0;
  return {
    level,
    served,
    failed,
    perSec: served / (ms / 1000),
    addrsPerAnswer: addrs / Math.max(1, served),
    seedClosed,
    seedCpuMsPerClient: cpu / Math.max(1, served),
    seedCpuPct: (100 * cpu) / ms,
    clientCpuPct: (100 * self) / ms,
    rssKiB: readProcMemory(pid).rssKiB,
  };
}

async function runSeed(name: string, child: ReadyChild): Promise<SeedResult> {
  const addr = NetAddress.parseNoLookup(String(child.ready.addr));
  const idleRssKiB = readProcMemory(child.pid).rssKiB;
  const levels: LevelResult[] = [];
  try {
    for (const level of LEVELS) {
      const r = await runLevel(addr, child.pid, level);
      levels.push(r);
      console.log(
        `seed ${name} concurrency ${level}: ${
          r.perSec.toFixed(0)
        } clients/s (served ${r.served}, ` +
          `failed ${r.failed}, ${r.addrsPerAnswer.toFixed(0)} addrs/answer, seed hung up on ` +
          `${r.seedClosed}), seed CPU ${r.seedCpuMsPerClient.toFixed(2)} ms/client ` +
          `(${r.seedCpuPct.toFixed(0)}%), clients CPU ${r.clientCpuPct.toFixed(0)}%, ` +
          `seed RSS ${mib(r.rssKiB)} MiB`,
      );
      // Let the seed finish removing the last peers before the next level.
      await new Promise((r) => setTimeout(r, 300));
    }
    return { levels, idleRssKiB, peakRssKiB: readProcMemory(child.pid).hwmKiB };
  } finally {
    await child.stop();
  }
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "seed-bench-" });
  try {
    const book = `${dir}/addrbook.json`;
    await writeBook(book, BOOK_SIZE);
    await Deno.copyFile(book, `${dir}/ours.json`);
    await Deno.copyFile(book, `${dir}/go.json`);

    const oursChild = await spawnReadyChild("switchyard seed", Deno.execPath(), [
      "run",
      "--allow-all",
      ...v8FlagsArgs(),
      new URL("./util/seed_child.ts", import.meta.url).pathname,
      `${dir}/ours.json`,
      NETWORK,
    ], { inheritStderr: true });
    console.log(
      `seed ours: node V8 flags [${
        nodeV8Flags().join(" ")
      }]; ${oursChild.ready.book} addresses, ${oursChild.ready.verified} verified, ` +
        `pid ${oursChild.pid}`,
    );
    const ours = await runSeed("ours", oursChild);

    let go: SeedResult | undefined;
    if (!hasGo()) {
      console.log(`seed go: not measured (${MISSING_GO_MESSAGE})`);
    } else {
      const bin = await buildGoPeer();
      const goChild = await spawnReadyChild("go seed", bin, [
        "serve",
        "--pex",
        "--seed-mode",
        `--addr-book=${dir}/go.json`,
        `--chain-id=${NETWORK}`,
        "--laddr=127.0.0.1:0",
        "--max-inbound=10000",
        "--quiet",
        "--exit-on-eof",
        "--log-level=none",
      ]);
      console.log(`seed go: pid ${goChild.pid}`);
      go = await runSeed("go", goChild);
    }

    for (let i = 0; i < LEVELS.length; i++) {
      const o = ours.levels[i], g = go?.levels[i];
      console.log(
        compareLine(
          `seed throughput (concurrency ${o.level})`,
          o.perSec,
          g?.perSec,
          "clients/s",
          "higher",
        ),
      );
      console.log(
        compareLine(
          `seed CPU per client (concurrency ${o.level})`,
          o.seedCpuMsPerClient,
          g?.seedCpuMsPerClient,
          "ms",
          "lower",
        ),
      );
    }
    const toMiB = (k: number | undefined) => k === undefined ? undefined : k / 1024;
    console.log(
      compareLine("seed RSS idle", ours.idleRssKiB / 1024, toMiB(go?.idleRssKiB), "MiB", "lower"),
    );
    console.log(
      compareLine("seed RSS peak", ours.peakRssKiB / 1024, toMiB(go?.peakRssKiB), "MiB", "lower"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
