/**
 * Seed benchmark: how many crawl clients per second a switchyard seed serves. Each client is one
 * full exchange with a fresh node key: TCP connect, SecretConnection, NodeInfo exchange,
 * MConnection, PexRequest, PexAddrs received, disconnect. Clients run concurrently in the same
 * process (so their crypto shares the CPU with the seed). The seed's book holds 1000 addresses,
 * all verified live, so each answer carries 230 addresses (23 % of the book).
 *
 * Prints plain lines: clients/s per concurrency level, and the process RSS.
 * Run: deno run --allow-all bench/seed.ts [seconds-per-level]
 * @module
 */
import { MConnection } from "../p2p/conn/mconnection.ts";
import { NodeKey } from "../p2p/key.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { makeNodeInfo } from "../p2p/node_info.ts";
import { encode } from "../p2p/proto.ts";
import { PEX_CHANNEL, PEX_MESSAGE } from "../p2p/pex/pex_reactor.ts";
import { dialTcp, upgradeOutbound } from "../p2p/upgrade.ts";
import { makePexNode } from "../tests/util/pex_harness.ts";

const NETWORK = "seed-bench";
const BOOK_SIZE = 1000;
const LEVELS = [1, 16, 64];
const SECONDS = Number(Deno.args[0] ?? 5);
const REQUEST = encode(PEX_MESSAGE, { pex_request: {} });
const CLIENT_TIMEOUT_MS = 10_000;

function mib(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}

/** One crawl client: returns the number of addresses received. */
async function crawlOnce(seed: NetAddress): Promise<number> {
  const key = NodeKey.generate();
  const raw = await dialTcp(seed);
  const { secretConn } = await upgradeOutbound(raw, {
    nodeKey: key,
    // 0.0.0.0 is an invalid address: the seed does not store crawlers (as with real crawlers).
    nodeInfo: makeNodeInfo({ id: key.id, network: NETWORK, moniker: "crawler", channels: [0] }),
    dialedId: seed.id,
  });
  const got = Promise.withResolvers<number>();
  const timer = setTimeout(() => got.reject(new Error("no answer")), CLIENT_TIMEOUT_MS);
  const mconn = new MConnection(
    secretConn,
    [{ id: PEX_CHANNEL, priority: 1, sendQueueCapacity: 10, recvMessageCapacity: 64000 }],
    (_ch, msg) => {
      const m = PEX_MESSAGE.decode(msg) as unknown as { pex_addrs?: { addrs?: unknown[] } };
      got.resolve(m.pex_addrs?.addrs?.length ?? 0);
    },
    (err) => got.reject(err),
    { flushThrottleMs: 0 },
  );
  mconn.start();
  try {
    await mconn.send(PEX_CHANNEL, REQUEST);
    return await got.promise;
  } finally {
    clearTimeout(timer);
    await mconn.stop();
    secretConn.close();
  }
}

async function main(): Promise<void> {
  const seed = await makePexNode({
    name: "seed",
    network: NETWORK,
    start: false,
    config: { maxNumInboundPeers: 10_000 },
    transport: { maxPendingHandshakes: 256 },
    pex: { seedMode: true, seed: { disconnectWaitMs: 0, crawlPeriodMs: 3_600_000 } },
  });
  for (let i = 0; i < BOOK_SIZE; i++) {
    // Loopback only (the seed's first crawl dials book addresses: they must fail locally), in
    // distinct /16 groups: Go's hashing puts one (addr group, src group) pair in one bucket.
    const ip = `127.${i & 0xff}.${(i >> 8) & 0xff}.1`;
    // Each address is its own source, so per-source-group bucket limits do not cap the book.
    const addr = NetAddress.fromIPPort(ip, 26656, NodeKey.generate().id);
    seed.book.addAddress(addr, addr);
  }
  // Mark every address verified (no dials to made-up IPs during the run).
  for (const ka of seed.book.listOfKnownAddresses()) seed.pex!.verifier!.markLive(ka.addr);
  await seed.sw.start();
  console.log(
    `seed book: ${seed.book.size()} addresses, ${seed.pex!.verifier!.liveCount} verified`,
  );
  let peakRss = Deno.memoryUsage().rss;
  try {
    for (const level of LEVELS) {
      let served = 0, failed = 0, addrs = 0;
      const deadline = performance.now() + SECONDS * 1000;
      const t0 = performance.now();
      const worker = async () => {
        while (performance.now() < deadline) {
          try {
            const k = await crawlOnce(seed.addr); // (not `addrs += await`: it races)
            addrs += k;
            served++;
          } catch {
            failed++;
          }
          peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
        }
      };
      await Promise.all(Array.from({ length: level }, worker));
      const secs = (performance.now() - t0) / 1000;
      console.log(
        `seed crawl clients/s (concurrency ${level}): ${(served / secs).toFixed(0)} ` +
          `(served ${served}, failed ${failed}, ${
            (addrs / Math.max(1, served)).toFixed(0)
          } addrs/answer)`,
      );
      // Let the seed finish removing the last peers before the next level.
      const settle = performance.now() + 5_000;
      while (seed.sw.peers().size > 0 && performance.now() < settle) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    console.log(
      `seed RSS: ${mib(Deno.memoryUsage().rss)} MiB at end, ${mib(peakRss)} MiB peak ` +
        `(seed and clients in one process)`,
    );
  } finally {
    await seed.stop();
  }
}

await main();
