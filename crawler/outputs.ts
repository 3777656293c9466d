/**
 * The files operators publish by hand today, made from a crawl: an `addrbook.json` in
 * CometBFT's format holding only addresses that completed a handshake in this crawl (built with
 * our own {@link AddrBook}, so buckets, key and layout are the ones `p2p/pex/addrbook_file.ts`
 * writes and CometBFT v0.38 loads), and a `persistent_peers` line of the best nodes.
 * @module
 */
import { AddrBook } from "../p2p/pex/addrbook.ts";
import { saveAddrBookFile } from "../p2p/pex/addrbook_file.ts";
import { writeFileAtomic } from "../libs/tempfile.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { CrawlResult } from "./crawl.ts";
import type { AddrRecord, CrawlNode } from "./types.ts";

/** Default number of entries in the `--peers` line. */
export const DEFAULT_PEERS_COUNT = 10;
/** Mode of the `--peers` file. */
const PEERS_FILE_MODE = 0o644;

/** `id@ip:port` for every address of `n` that completed a handshake, fastest first. */
export function verifiedAddresses(n: CrawlNode): NetAddress[] {
  if (!n.reachable) return [];
  return n.addrs
    .filter((a): a is AddrRecord & { latencyMs: number } =>
      a.state === "reachable" && a.latencyMs !== undefined
    )
    .sort((a, b) => a.latencyMs - b.latencyMs)
    .map((a) => NetAddress.parseNoLookup(`${n.id}@${a.addr}`));
}

/**
 * An address book of the crawl's verified addresses: each added with itself as source and
 * marked good (CometBFT's "old" bucket: a successful connection), like a node's own book after
 * it connected to them.
 */
export function verifiedAddrBook(r: CrawlResult, now: () => number = Date.now): AddrBook {
  // Not strict: an operator crawling a private or local network wants those addresses too.
  const book = new AddrBook({ routabilityStrict: false, now });
  for (const n of r.nodes) {
    // A book keeps one address per ID (Go's too): the fastest verified one.
    const addr = verifiedAddresses(n)[0];
    if (addr === undefined) continue;
    try {
      book.addAddress(addr, addr);
    } catch {
      continue; // refused by the book (e.g. an unusable IP): not publishable
    }
    book.markGood(n.id);
  }
  return book;
}

/** Writes {@link verifiedAddrBook} to `path` atomically; returns the number of addresses. */
export async function writeAddrBook(path: string, r: CrawlResult): Promise<number> {
  const book = verifiedAddrBook(r);
  await saveAddrBookFile(path, book.snapshot());
  return book.size();
}

/**
 * The best `count` nodes for `persistent_peers`: reachable ones, lowest handshake latency first,
 * ties broken by the most recent handshake, then by ID (a stable order); each with its fastest
 * address.
 */
export function bestPeers(r: CrawlResult, count: number): string[] {
  return r.nodes
    .filter((n) => n.reachable && n.latencyMs !== undefined)
    .sort((a, b) =>
      a.latencyMs! - b.latencyMs! || b.lastSeenMs - a.lastSeenMs || (a.id < b.id ? -1 : 1)
    )
    .slice(0, count)
    .map((n) => verifiedAddresses(n)[0].toString());
}

/** Writes the `persistent_peers` line (comma-separated, newline-terminated); returns its length. */
export async function writePeersFile(path: string, r: CrawlResult, count: number): Promise<number> {
  const peers = bestPeers(r, count);
  await writeFileAtomic(path, new TextEncoder().encode(peers.join(",") + "\n"), PEERS_FILE_MODE);
  return peers.length;
}
