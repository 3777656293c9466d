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
 * Each seed runs REPS times, alternating which goes first (a fresh copy of the book each time);
 * every ratio is printed as the median [range] of the per-repetition ratios.
 *
 * Run: deno run --allow-all bench/seed.ts [seconds-per-level] [book-size]
 * @module
 */
import { NetAddress } from "../p2p/netaddress.ts";
import { buildGoPeer, hasGo, MISSING_GO_MESSAGE } from "../tests/interop/go_peer.ts";
import { compareLine, medianRange } from "./util/compare.ts";
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
  /** Idle RSS split: private anonymous memory and file-backed (shared executable) pages. */
  idleAnonKiB: number;
  idleFileKiB: number;
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
  const idle = readProcMemory(child.pid);
  const idleRssKiB = idle.rssKiB;
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
    return {
      levels,
      idleRssKiB,
      idleAnonKiB: idle.anonKiB,
      idleFileKiB: idle.fileKiB,
      peakRssKiB: readProcMemory(child.pid).hwmKiB,
    };
  } finally {
    await child.stop();
  }
}

/** Repetitions of each seed, alternating which goes first. */
const REPS = 3;

async function runOurs(dir: string, book: string): Promise<SeedResult> {
  await Deno.copyFile(book, `${dir}/ours.json`);
  const child = await spawnReadyChild("switchyard seed", Deno.execPath(), [
    "run",
    "--allow-all",
    ...v8FlagsArgs(),
    new URL("./util/seed_child.ts", import.meta.url).pathname,
    `${dir}/ours.json`,
    NETWORK,
  ], { inheritStderr: true });
  console.log(
    `seed ours: node V8 flags [${nodeV8Flags().join(" ")}]; ${child.ready.book} addresses, ` +
      `${child.ready.verified} verified, pid ${child.pid}`,
  );
  return await runSeed("ours", child);
}

async function runGo(dir: string, book: string): Promise<SeedResult> {
  await Deno.copyFile(book, `${dir}/go.json`);
  const bin = await buildGoPeer();
  const child = await spawnReadyChild("go seed", bin, [
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
  console.log(`seed go: pid ${child.pid}`);
  return await runSeed("go", child);
}

/** `name: ours X, go Y, ours/go R` as median [range] over the repetitions. */
function line(name: string, ours: number[], go: number[], unit: string, digits: number): string {
  const ratios = ours.map((o, i) => o / go[i]);
  return `${name}: ours ${medianRange(ours, digits)} ${unit}, go ${
    medianRange(go, digits)
  } ${unit}, ours/go ${medianRange(ratios, 2)} (median [range] of ${REPS} alternating reps)`;
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "seed-bench-" });
  try {
    const book = `${dir}/addrbook.json`;
    await writeBook(book, BOOK_SIZE);
    if (!hasGo()) {
      const ours = await runOurs(dir, book);
      console.log(`seed go: not measured (${MISSING_GO_MESSAGE})`);
      console.log(
        compareLine("seed RSS idle", ours.idleRssKiB / 1024, undefined, "MiB", "lower"),
      );
      return;
    }
    const ours: SeedResult[] = [];
    const go: SeedResult[] = [];
    for (let r = 0; r < REPS; r++) {
      if (r % 2 === 0) {
        ours.push(await runOurs(dir, book));
        go.push(await runGo(dir, book));
      } else {
        go.push(await runGo(dir, book));
        ours.push(await runOurs(dir, book));
      }
    }
    for (let i = 0; i < LEVELS.length; i++) {
      const lv = LEVELS[i];
      console.log(
        line(
          `seed throughput (concurrency ${lv})`,
          ours.map((x) => x.levels[i].perSec),
          go.map((x) => x.levels[i].perSec),
          "clients/s",
          0,
        ),
      );
      console.log(
        line(
          `seed CPU per client (concurrency ${lv})`,
          ours.map((x) => x.levels[i].seedCpuMsPerClient),
          go.map((x) => x.levels[i].seedCpuMsPerClient),
          "ms",
          2,
        ),
      );
    }
    const toMiB = (k: number) => k / 1024;
    console.log(
      line(
        "seed RSS idle",
        ours.map((x) => toMiB(x.idleRssKiB)),
        go.map((x) => toMiB(x.idleRssKiB)),
        "MiB",
        1,
      ),
    );
    for (const [name, k] of [["anon", "idleAnonKiB"], ["file", "idleFileKiB"]] as const) {
      console.log(
        line(
          `seed RSS idle, ${name}`,
          ours.map((x) => toMiB(x[k])),
          go.map((x) => toMiB(x[k])),
          "MiB",
          1,
        ),
      );
    }
    console.log(
      line(
        "seed RSS peak",
        ours.map((x) => toMiB(x.peakRssKiB)),
        go.map((x) => toMiB(x.peakRssKiB)),
        "MiB",
        1,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
