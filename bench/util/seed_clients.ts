/**
 * Crawl clients and the loopback address book shared by bench/seed.ts and
 * bench/util/seed_profile.ts.
 *
 * A crawl client is one full exchange with a fresh node key, in this process: TCP connect,
 * SecretConnection, NodeInfo exchange, MConnection, PexRequest on channel 0x00, PexAddrs
 * received, then the seed's disconnect awaited (counted when the seed closes first; the client
 * hangs up itself after {@link DISCONNECT_WAIT_MS}).
 * @module
 */
import { MConnection } from "../../p2p/conn/mconnection.ts";
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import { encode } from "../../p2p/proto.ts";
import { AddrBook } from "../../p2p/pex/addrbook.ts";
import { PEX_CHANNEL, PEX_MESSAGE } from "../../p2p/pex/pex_reactor.ts";
import { dialTcp, upgradeOutbound } from "../../p2p/upgrade.ts";

/** Port of every book address: nothing listens there, so crawl dials fail at once. */
export const BOOK_PORT = 9;
const REQUEST = encode(PEX_MESSAGE, { pex_request: {} });
const CLIENT_TIMEOUT_MS = 10_000;
/** How long a client waits, after PexAddrs, for the seed to hang up. */
export const DISCONNECT_WAIT_MS = 2_000;

/** Outcome of one crawl. */
export interface Crawl {
  addrs: number;
  seedClosed: boolean;
}

/** One crawl client against `seed` on chain `network`. */
export async function crawlOnce(seed: NetAddress, network: string): Promise<Crawl> {
  const key = NodeKey.generate();
  const raw = await dialTcp(seed);
  // Go's net package sets TCP_NODELAY on every TCP conn, Deno does not: without it the
  // client's back-to-back handshake writes wait out the seed's 40 ms delayed ACK.
  raw.setNoDelay(true);
  const { secretConn } = await upgradeOutbound(raw, {
    nodeKey: key,
    // 0.0.0.0 is an invalid address: neither seed stores crawlers (as with real crawlers).
    nodeInfo: makeNodeInfo({ id: key.id, network, moniker: "crawler", channels: [0] }),
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

/** Totals of {@link runClients}. */
export interface ClientRun {
  served: number;
  failed: number;
  addrs: number;
  seedClosed: number;
  ms: number;
}

/** `level` concurrent clients crawl `seed` back to back for `seconds`. */
export async function runClients(
  seed: NetAddress,
  network: string,
  level: number,
  seconds: number,
): Promise<ClientRun> {
  const run: ClientRun = { served: 0, failed: 0, addrs: 0, seedClosed: 0, ms: 0 };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        const c = await crawlOnce(seed, network); // (not `run.addrs += await`: it races)
        run.addrs += c.addrs;
        if (c.seedClosed) run.seedClosed++;
        run.served++;
      } catch {
        run.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: level }, worker));
  run.ms = performance.now() - t0;
  return run;
}

/** Writes a book of `size` loopback addresses (127.x.y.1:9), each its own source. */
export async function writeBook(path: string, size: number): Promise<void> {
  const book = new AddrBook({ filePath: path, routabilityStrict: false });
  for (let i = 0; i < size; i++) {
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
  console.log(`seed book: ${check.size()} loopback addresses (of ${size} added)`);
}
