/**
 * The crawler across CometBFT release lines: one real node of v0.34.35, v0.37.18 and v1.0.1
 * (binaries from the tools cache, `tests/interop/lines.ts`; skipped locally when one is missing,
 * failing under `CI=true`), each on its own 127.0.8.x host, none dialing out. The v0.34 node is
 * the seed; its address book (written by us) lists the other two. Every node must be found and reached, and each NodeInfo field the crawl records
 * must equal what that node reports about itself on its own RPC `/status` (version, protocol
 * versions, channels, tx_index, rpc_address), plus the line's known values (version string,
 * p2p protocol 8 or 9, block protocol 11).
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { type CometbftNode, freePort, startCometbft } from "./interop/cometbft.ts";
import {
  LINE_BINARIES,
  type LineBinary,
  lineBinaryPath,
  missingLineMessage,
} from "./interop/lines.ts";
import { crawl } from "../crawler/crawl.ts";
import { nodeLine } from "../crawler/summary.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { saveAddrBookFile } from "../p2p/pex/addrbook_file.ts";
import { NetAddress } from "../p2p/netaddress.ts";

const CHAIN = "crawl-lines";
/** The lines crawled, oldest first: the seed is the first. */
const TAGS = ["0.34.35", "0.37.18", "1.0.1"];
const LINES: LineBinary[] = TAGS.map((t) => LINE_BINARIES.find((b) => b.tag === t)!);
const BINS = LINES.map(lineBinaryPath);
const MISSING = LINES.filter((_, i) => BINS[i] === null);
const CI = Deno.env.get("CI") === "true";
/** Tries per node start (freePort's port may be taken by another process before cometbft binds). */
const START_ATTEMPTS = 3;

/** What `/status` says about the node itself (the fields the crawl records). */
interface SelfInfo {
  node_info: {
    protocol_version: { p2p: string; block: string; app: string };
    id: string;
    network: string;
    version: string;
    channels: string;
    moniker: string;
    other: { tx_index: string; rpc_address: string };
  };
}

async function bookFile(path: string, addrs: NetAddress[]): Promise<void> {
  const book = new AddrBook({ routabilityStrict: false });
  for (const a of addrs) book.addAddress(a, addrs[0]);
  await saveAddrBookFile(path, book.snapshot());
}

async function startLineNode(
  bin: string,
  host: string,
  moniker: string,
  book?: string,
): Promise<{ node: CometbftNode; addr: NetAddress }> {
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    try {
      const node = await startCometbft({
        bin,
        chainId: CHAIN,
        moniker,
        p2pPort: port,
        config: {
          "p2p.laddr": `tcp://${host}:${port}`,
          "p2p.max_num_outbound_peers": 0,
          ...(book ? { "p2p.addr_book_file": book } : {}),
        },
      });
      return { node, addr: NetAddress.fromIPPort(host, port, node.id) };
    } catch (e) {
      if (attempt >= START_ATTEMPTS || !String(e).includes("address already in use")) throw e;
    }
  }
}

if (MISSING.length > 0 && !CI) {
  for (const b of MISSING) console.error(`skipping crawl lines: ${missingLineMessage(b)}`);
}

Deno.test({
  name: `crawl lines: cometbft ${TAGS.map((t) => `v${t}`).join(", ")} found with their versions`,
  ignore: MISSING.length > 0 && !CI,
  async fn() {
    if (MISSING.length > 0) throw new Error(MISSING.map(missingLineMessage).join("; "));
    const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-lines-" });
    const started: { node: CometbftNode; addr: NetAddress }[] = [];
    try {
      // v0.37 and v1.0 first: their addresses go into the seed's book.
      const v037 = await startLineNode(BINS[1]!, "127.0.8.2", "line-v037");
      started.push(v037);
      const seedBook = `${dir}/seed-addrbook.json`;
      const v1 = await startLineNode(BINS[2]!, "127.0.8.3", "line-v1");
      started.push(v1);
      await bookFile(seedBook, [v037.addr, v1.addr]);
      const seed = await startLineNode(BINS[0]!, "127.0.8.1", "line-v034", seedBook);
      started.push(seed);

      const t0 = performance.now();
      const r = await crawl({
        seeds: [seed.addr],
        chainId: CHAIN,
        concurrency: 4,
        ratePerSec: 0,
        handshakeTimeoutMs: 3_000,
        maxTimeMs: 60_000,
      });
      const crawlMs = performance.now() - t0;
      console.error(`crawl of ${r.nodes.length} nodes took ${crawlMs.toFixed(0)} ms`);
      assertEquals(r.end, "complete");
      assertEquals(r.nodes.length, 3, "one node per line, nothing else");
      const byId = new Map(r.nodes.map((n) => [n.id, n]));
      const order = [seed, v037, v1];
      for (let i = 0; i < LINES.length; i++) {
        const b = LINES[i];
        const { node } = order[i];
        const n = byId.get(node.id);
        assert(n?.reachable, `v${b.tag} reached: ${JSON.stringify(n)}`);
        const self = (await node.rpc<SelfInfo>("status")).node_info;
        const info = n.info!;
        assertEquals(info.version, b.reported, `v${b.tag} version`);
        assertEquals(info.version, self.version);
        assertEquals(info.protocol.p2p, b.p2pProtocol, `v${b.tag} p2p protocol`);
        assertEquals(info.protocol.block, 11, `v${b.tag} block protocol`);
        assertEquals(
          info.protocol,
          {
            p2p: Number(self.protocol_version.p2p),
            block: Number(self.protocol_version.block),
            app: Number(self.protocol_version.app),
          },
        );
        assertEquals(info.network, CHAIN);
        assertEquals(info.moniker, self.moniker);
        assertEquals(info.channels, self.channels);
        assertEquals(info.txIndex, self.other.tx_index);
        assertEquals(info.rpcAddress, self.other.rpc_address);
        JSON.parse(nodeLine(n));
        // Go logs a PEX rule broken by a peer (request too soon, unsolicited PexAddrs) before
        // banning it; the crawl must break none on any line.
        for (const bad of ["too soon", "unsolicited"]) {
          assert(!node.logText().includes(bad), `v${b.tag} log has "${bad}"`);
        }
      }
      assertEquals(byId.get(seed.node.id)!.pexAddrs, 2, "the seed's book: two addresses");
      const edges = r.edges.map(([f, t]) => `${f}>${t}`).sort();
      assertEquals(
        edges,
        [`${seed.node.id}>${v037.node.id}`, `${seed.node.id}>${v1.node.id}`].sort(),
      );
    } finally {
      await Promise.all(started.map((s) => s.node.stop()));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
