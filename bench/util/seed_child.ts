/**
 * A switchyard seed in its own process, for bench/seed.ts: a switch on 127.0.0.1 (port 0) with
 * the PEX reactor in seed mode, its book loaded from an addrbook.json and every address in it
 * marked verified live (so it serves them all and dials none). Answers once per inbound crawler
 * and disconnects without waiting (`disconnectWaitMs: 0`, as Go's seed does).
 *
 * Prints one JSON line `{"event":"ready","addr":"id@127.0.0.1:port","book":n,"verified":n}`
 * and runs until stdin reaches EOF, then stops.
 *
 * Run: deno run --allow-all bench/util/seed_child.ts <addrbook.json> <network>
 * @module
 */
import { makePexNode } from "../../tests/util/pex_harness.ts";

async function main(): Promise<void> {
  const [bookPath, network] = Deno.args;
  if (!bookPath || !network) {
    console.log(JSON.stringify({ event: "error", error: "usage: seed_child <book> <network>" }));
    Deno.exit(2);
  }
  const seed = await makePexNode({
    name: "seed",
    network,
    start: false,
    book: { filePath: bookPath },
    config: { maxNumInboundPeers: 10_000 },
    transport: { maxPendingHandshakes: 256 },
    pex: { seedMode: true, seed: { disconnectWaitMs: 0, crawlPeriodMs: 3_600_000 } },
  });
  try {
    await seed.book.start(); // before markLive; the reactor's start skips an active book
    for (const ka of seed.book.listOfKnownAddresses()) seed.pex!.verifier!.markLive(ka.addr);
    await seed.sw.start();
    console.log(JSON.stringify({
      event: "ready",
      addr: seed.addr.toString(),
      book: seed.book.size(),
      verified: seed.pex!.verifier!.liveCount,
    }));
    // Stdin EOF is the parent's stop signal.
    for await (const _ of Deno.stdin.readable) { /* drain */ }
  } finally {
    await seed.stop();
  }
}

await main();
