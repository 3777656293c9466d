/**
 * In-process switchyard nodes for crawler tests and the crawl bench: each listens on its own
 * loopback host (127.0.0.x / 127.1.x.y), runs the PEX reactor with a memory book the test fills,
 * and never dials (no outbound slots), so what it answers to a PexRequest is exactly its book.
 * @module
 */
import { AddrBook } from "../../p2p/pex/addrbook.ts";
import { PEX_CHANNEL, PexReactor } from "../../p2p/pex/pex_reactor.ts";
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import { Switch } from "../../p2p/switch.ts";
import { Transport } from "../../p2p/transport.ts";
import { nopLogger } from "../../libs/log.ts";

/** A running in-process node. */
export interface CrawlTestNode {
  key: NodeKey;
  addr: NetAddress;
  book: AddrBook;
  moniker: string;
  network: string;
  version: string;
  stop(): Promise<void>;
}

/** Options of {@link startCrawlNode}. */
export interface CrawlNodeOptions {
  host: string;
  network: string;
  moniker: string;
  /** NodeInfo software version (default 0.38.25). */
  version?: string;
  /** Seed mode: answers once, then disconnects (CometBFT seeds do the same). */
  seedMode?: boolean;
}

/** Starts a node listening on `host:0`. */
export async function startCrawlNode(o: CrawlNodeOptions): Promise<CrawlTestNode> {
  const key = NodeKey.generate();
  const book = new AddrBook({ routabilityStrict: false });
  const version = o.version ?? "0.38.25";
  const transport = new Transport({
    nodeKey: key,
    nodeInfo: makeNodeInfo({ id: key.id, network: o.network, moniker: o.moniker, channels: [0] }),
    allowDuplicateIP: true,
    logger: nopLogger,
  });
  const sw = new Switch({
    transport,
    logger: nopLogger,
    addrBook: book,
    config: { allowDuplicateIP: true, dialRandomizerMs: 0, maxNumOutboundPeers: 0 },
  });
  sw.addReactor(
    "PEX",
    new PexReactor({
      book,
      logger: nopLogger,
      seedMode: o.seedMode ?? false,
      seed: { disconnectWaitMs: 0 },
    }),
  );
  const la = transport.listen({ hostname: o.host, port: 0 });
  transport.nodeInfo = makeNodeInfo({
    id: key.id,
    network: o.network,
    moniker: o.moniker,
    version,
    channels: [PEX_CHANNEL],
    listenAddr: `tcp://${o.host}:${la.port}`,
  });
  const addr = NetAddress.fromIPPort(o.host, la.port, key.id);
  book.addOurAddress(addr);
  await sw.start();
  return {
    key,
    addr,
    book,
    moniker: o.moniker,
    network: o.network,
    version,
    stop: () => sw.stop(),
  };
}

/** Puts `addrs` into `node`'s book (source: the node itself), so its PEX answer lists them. */
export function teach(node: CrawlTestNode, ...addrs: NetAddress[]): void {
  for (const a of addrs) node.book.addAddress(a, node.addr);
}

/** An `id@host:port` where nothing listens (a port bound on `host`, then released). */
export function deadAddressOn(host: string): NetAddress {
  const l = Deno.listen({ hostname: host, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return NetAddress.fromIPPort(host, port, NodeKey.generate().id);
}

/** Stops every node. */
export async function stopCrawlNodes(nodes: readonly CrawlTestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
}
