/**
 * Seed benchmark: how many crawl clients per second a seed serves, ours and CometBFT v0.38.25's
 * (the Go interop program in `serve --pex --seed-mode`), in the same run, from the same clients.
 *
 * Each client is one full exchange with a fresh node key, in this process: TCP connect,
 * SecretConnection, NodeInfo exchange, MConnection, PexRequest on channel 0x00, PexAddrs
 * received, then the seed's disconnect awaited (counted when the seed closes first; the client
 * hangs up itself after {@link DISCONNECT_WAIT_MS}). Clients run at concurrency 1, 16 and 64.
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
import { MConnection } from "../p2p/conn/mconnection.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { makeNodeInfo } from "../p2p/node_info.ts";
import { encode } from "../p2p/proto.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { PEX_CHANNEL, PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";
import { dialTcp, upgradeOutbound } from "../p2p/upgrade.ts";
import { buildGoPeer, hasGo, MISSING_GO_MESSAGE } from "../tests/interop/go_peer.ts";
import { compareLine } from "./util/compare.ts";
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
/** Port of every book address: nothing listens there, so crawl dials fail at once. */
const BOOK_PORT = 9;
const REQUEST = encode(PEX_MESSAGE, { pex_request: {} });
const CLIENT_TIMEOUT_MS = 10_000;
/** How long a client waits, after PexAddrs, for the seed to hang up. */
const DISCONNECT_WAIT_MS = 2_000;

/** Outcome of one crawl. */
interface Crawl {
  addrs: number;
  seedClosed: boolean;
}

/** One crawl client against `seed`. */
async function crawlOnce(seed: NetAddress): Promise<Crawl> {
  const key = NodeKey.generate();
  const raw = await dialTcp(seed);
  // Go's net package sets TCP_NODELAY on every TCP conn, Deno does not: without it the
  // client's back-to-back handshake writes wait out the seed's 40 ms delayed ACK.
  raw.setNoDelay(true);
  const { secretConn } = await upgradeOutbound(raw, {
    nodeKey: key,
    // 0.0.0.0 is an invalid address: neither seed stores crawlers (as with real crawlers).
    nodeInfo: makeNodeInfo({ id: key.id, network: NETWORK, moniker: "crawler", channels: [0] }),
    dialedId: seed.id,
  });
  const got = Promise.withResolvers<number>();
  const closed = Promise.withResolvers<boolean>();
  const timer = setTimeout(() => got.reject(new Error("no answer")), CLIENT_TIMEOUT_MS);
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  const mconn = new MConnection(
    secretConn,
    [{ id: PEX_CHANNEL, priority: 1, sendQueueCapacity: 10, recvMessageCapacity: 64000 }],
    (_ch, msg) => {
      const m = PEX_MESSAGE.decode(msg) as unknown as { pex_addrs?: { addrs?: unknown[] } };
      got.resolve(m.pex_addrs?.addrs?.length ?? 0);
    },
    (err) => {
      got.reject(err);
      closed.resolve(true);
    },
    { flushThrottleMs: 0 },
  );
  mconn.start();
  try {
    await mconn.send(PEX_CHANNEL, REQUEST);
    const addrs = await got.promise;
    closeTimer = setTimeout(() => closed.resolve(false), DISCONNECT_WAIT_MS);
    return { addrs, seedClosed: await closed.promise };
  } finally {
    clearTimeout(timer);
    clearTimeout(closeTimer);
    await mconn.stop();
    secretConn.close();
  }
}

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
  let served = 0, failed = 0, addrs = 0, seedClosed = 0;
  const cpu0 = readProcCpuMs(pid), self0 = readProcCpuMs(Deno.pid);
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        const c = await crawlOnce(seed); // (not `addrs += await`: it races)
        addrs += c.addrs;
        if (c.seedClosed) seedClosed++;
        served++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: level }, worker));
  const ms = performance.now() - t0;
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

/** Writes the shared book: BOOK_SIZE loopback addresses, each its own source, 256 /16 groups. */
async function writeBook(path: string): Promise<void> {
  const book = new AddrBook({ filePath: path, routabilityStrict: false });
  for (let i = 0; i < BOOK_SIZE; i++) {
    const ip = `127.${i & 0xff}.${(i >> 8) & 0xff}.1`;
    const addr = NetAddress.fromIPPort(ip, BOOK_PORT, NodeKey.generate().id);
    if (!addr.local()) throw new Error(`bench book address ${addr} is not loopback`);
    book.addAddress(addr, addr);
  }
  await book.save();
  // A Go process has no loopback-only guard: re-read what it will load and check every entry.
  const check = new AddrBook({ filePath: path, routabilityStrict: false });
  await check.start();
  const bad = check.listOfKnownAddresses().filter((ka) => !ka.addr.local());
  await check.stop();
  if (bad.length > 0) throw new Error(`bench book has non-loopback addresses: ${bad[0].addr}`);
  console.log(`seed book: ${check.size()} loopback addresses (of ${BOOK_SIZE} added)`);
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "seed-bench-" });
  try {
    const book = `${dir}/addrbook.json`;
    await writeBook(book);
    await Deno.copyFile(book, `${dir}/ours.json`);
    await Deno.copyFile(book, `${dir}/go.json`);

    const oursChild = await spawnReadyChild("switchyard seed", Deno.execPath(), [
      "run",
      "--allow-all",
      new URL("./util/seed_child.ts", import.meta.url).pathname,
      `${dir}/ours.json`,
      NETWORK,
    ], { inheritStderr: true });
    console.log(
      `seed ours: ${oursChild.ready.book} addresses, ${oursChild.ready.verified} verified, ` +
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
