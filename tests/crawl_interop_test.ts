/**
 * The crawler against a mixed loopback network of real CometBFT v0.38.25 nodes, a switchyard
 * daemon process and in-process switchyard nodes on distinct 127.0.0.x hosts, with an address
 * nobody listens on and a CometBFT node on another chain. The Go nodes' address books are written by us beforehand
 * (`p2p.addr_book_file`) and they never dial (`max_num_outbound_peers = 0`), so their PEX
 * answers are known. Checks: every node found, NodeInfo fields as Go sends them, the edges,
 * the failure reasons; then the crawl's `addrbook.json` is given to a fresh CometBFT node,
 * which loads it (a bad file makes Go panic at start) and dials the verified nodes from it.
 * @module
 */
import { assert, assertEquals } from "./util/assert.ts";
import { type CometbftNode, freePort, interopTest, startCometbft } from "./interop/cometbft.ts";
import { crawl } from "../crawler/crawl.ts";
import { writeAddrBook } from "../crawler/outputs.ts";
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { saveAddrBookFile } from "../p2p/pex/addrbook_file.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import { deadAddressOn, startCrawlNode, stopCrawlNodes, teach } from "./util/crawl_net.ts";
import { type Daemon, spawnDaemon, waitFor } from "./util/daemon.ts";

const CHAIN = "crawl-interop";

/** Writes a CometBFT address book holding `addrs` (source: the first one). */
async function bookFile(path: string, addrs: NetAddress[]): Promise<void> {
  const book = new AddrBook({ routabilityStrict: false });
  for (const a of addrs) book.addAddress(a, addrs[0]);
  await saveAddrBookFile(path, book.snapshot());
}

/** A CometBFT node listening on `host`, with a prepared book and no outbound dialing. */
async function comet(
  host: string,
  chainId: string,
  moniker: string,
  book?: string,
  outbound = 0,
): Promise<{ node: CometbftNode; addr: NetAddress }> {
  const port = freePort();
  const node = await startCometbft({
    chainId,
    moniker,
    p2pPort: port,
    config: {
      "p2p.laddr": `tcp://${host}:${port}`,
      "p2p.max_num_outbound_peers": outbound,
      ...(book ? { "p2p.addr_book_file": book } : {}),
    },
  });
  return { node, addr: NetAddress.fromIPPort(host, port, node.id) };
}

interopTest(
  "crawl interop: mixed cometbft/switchyard network; our addrbook loads in cometbft",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "switchyard-crawl-interop-" });
    const nodes: CometbftNode[] = [];
    const s1 = await startCrawlNode({ host: "127.0.0.40", network: CHAIN, moniker: "s1" });
    const s2 = await startCrawlNode({ host: "127.0.0.44", network: CHAIN, moniker: "s2" });
    let daemon: Daemon | undefined;
    try {
      // A switchyard daemon (the real process) on its own host; port 0 advertises the bound port.
      daemon = await spawnDaemon(`${dir}/daemon`, {
        flags: ["--chain-id", CHAIN, "--moniker", "d", "--p2p.laddr", "tcp://127.0.0.47:0"],
      });
      const st = await daemon.rpc.call<{ node_info: { id: string; listen_addr: string } }>(
        "status",
      );
      const d = NetAddress.parseNoLookup(
        `${st.node_info.id}@${st.node_info.listen_addr.replace("tcp://", "")}`,
      );
      const dead = deadAddressOn("127.0.0.45");
      const w = await comet("127.0.0.43", "another-chain", "w");
      nodes.push(w.node);
      // C1's book (written by us) names C2, S2, the dead address, W and the daemon.
      const c2Node = await comet("127.0.0.42", CHAIN, "c2");
      nodes.push(c2Node.node);
      const c1Book = `${dir}/c1-addrbook.json`;
      await bookFile(c1Book, [c2Node.addr, s2.addr, dead, w.addr, d]);
      const c1Node = await comet("127.0.0.41", CHAIN, "c1", c1Book);
      nodes.push(c1Node.node);
      teach(s1, c1Node.addr);

      const r = await crawl({
        seeds: [s1.addr],
        chainId: CHAIN,
        concurrency: 4,
        ratePerSec: 0,
        handshakeTimeoutMs: 3000,
      });
      const byId = new Map(r.nodes.map((n) => [n.id, n]));
      const c1 = byId.get(c1Node.node.id);
      assert(c1?.reachable, "C1 reached");
      assertEquals(c1.info?.moniker, "c1");
      assertEquals(c1.info?.version, "0.38.25");
      assertEquals(c1.info?.network, CHAIN);
      assertEquals(c1.info?.protocol, { p2p: 8, block: 11, app: 1 });
      assertEquals(c1.info?.txIndex, "on");
      assert(c1.info?.rpcAddress.startsWith("tcp://127.0.0.1:"), `rpc ${c1.info?.rpcAddress}`);
      assert(
        c1.info?.channels.includes("00") && c1.info.channels.includes("20"),
        c1.info?.channels,
      );
      assertEquals(c1.pexAddrs, 5);
      const dn = byId.get(d.id);
      assert(dn?.reachable, "the switchyard daemon reached");
      assertEquals([dn.info?.moniker, dn.info?.version, dn.info?.network], ["d", "0.38.25", CHAIN]);
      assert(byId.get(c2Node.node.id)?.reachable, "C2 reached");
      assert(byId.get(s1.key.id)?.reachable, "S1 reached");
      assert(byId.get(s2.key.id)?.reachable, "S2 reached");
      assertEquals(byId.get(dead.id)?.failure, "refused");
      const wn = byId.get(w.node.id);
      assertEquals(wn?.failure, "wrong_network");
      assertEquals(wn?.info?.network, "another-chain");
      assertEquals(r.nodes.length, 7);
      const edges = r.edges.map(([f, t]) => `${f}>${t}`).sort();
      const want = [
        [s1.key.id, c1Node.node.id],
        [c1Node.node.id, c2Node.node.id],
        [c1Node.node.id, s2.key.id],
        [c1Node.node.id, dead.id],
        [c1Node.node.id, w.node.id],
        [c1Node.node.id, d.id],
      ].map(([f, t]) => `${f}>${t}`).sort();
      assertEquals(edges, want);
      // A second crawl right away (fresh key, as every crawl): C1 answers again and neither crawl
      // broke a PEX rule (Go logs and bans a too-early request or an unsolicited PexAddrs).
      const again = await crawl({
        seeds: [c1Node.addr],
        chainId: CHAIN,
        maxDepth: 0,
        ratePerSec: 0,
      });
      assertEquals(again.nodes[0].pexAddrs, 5);
      const log = c1Node.node.logText();
      for (const bad of ["too soon", "unsolicited"]) {
        assert(!log.includes(bad), `C1 log has "${bad}"`);
      }

      // The published book: five verified addresses; a fresh Go node loads it and dials them.
      const published = `${dir}/published-addrbook.json`;
      assertEquals(await writeAddrBook(published, r), 5);
      const fresh = await comet("127.0.0.46", CHAIN, "fresh", published, 10);
      nodes.push(fresh.node);
      const expected = new Set([c1Node.node.id, c2Node.node.id, s1.key.id, s2.key.id, d.id]);
      const seen = new Set<string>();
      await waitFor("the fresh cometbft to dial every node of its book", async () => {
        const ni = await fresh.node.netInfo();
        for (const p of ni.peers) seen.add(p.node_info.id);
        return [...expected].every((id) => seen.has(id)) ? true : undefined;
      }, 30_000);
      for (const id of seen) assert(expected.has(id), `peer ${id} came from the book`);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await daemon?.stop();
      await stopCrawlNodes([s1, s2]);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
