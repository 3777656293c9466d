/**
 * Seed (crawler) mode routine (CometBFT `crawlPeersRoutine`, spec §8.7), used instead of the
 * ensure-peers loop when `seed_mode = true`: at start dial the seeds (else crawl once), then
 * every crawl period disconnect non-persistent peers connected for longer than the maximum
 * connection time, crawl the book (dial addresses not crawled recently and ask each new
 * connection for addresses), and forget old crawl records.
 *
 * Differences from CometBFT (switchyard extras): the period and the maximum connection time
 * are configurable (CometBFT: 30 s and a hard-coded 28 h); a crawl round dials a bounded number
 * of addresses concurrently instead of one after another; and the reactor disconnects a crawled
 * peer as soon as its PexAddrs arrived.
 * @module
 */
import type { DialHost, PexDialer } from "./ensure_peers.ts";
import type { NetAddress } from "../netaddress.ts";
import type { Peer } from "../reactor_api.ts";
import { abortableSleep } from "../reconnect.ts";

/** Minimum time between two crawls of one address (`minTimeBetweenCrawls`, 2 min). */
export const MIN_TIME_BETWEEN_CRAWLS_MS = 2 * 60 * 1000;
/** Crawl records older than this are dropped (Go: 24 h). */
export const CRAWL_RECORD_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Crawl dials in flight at once within a round (CometBFT: 1). */
export const CRAWL_CONCURRENCY = 8;

/** Timing of the crawler. */
export interface CrawlerTiming {
  /** `p2p.seed.crawl_period` (CometBFT `crawlPeerPeriod`, 30 s). */
  crawlPeriodMs: number;
  /** Peers connected longer than this are disconnected gracefully at the next round. */
  maxConnectionMs: number;
  /** See {@link MIN_TIME_BETWEEN_CRAWLS_MS}. */
  minTimeBetweenCrawlsMs: number;
}

/** The crawl loop of a seed node. */
export class SeedCrawler {
  readonly #h: DialHost;
  readonly #dialer: PexDialer;
  readonly #t: CrawlerTiming;
  readonly #connectedAt: (peer: Peer) => number | undefined;
  /** ID → last crawl (or crawl attempt), Unix ms. */
  readonly #lastCrawled = new Map<string, number>();

  constructor(
    host: DialHost,
    dialer: PexDialer,
    timing: CrawlerTiming,
    connectedAt: (peer: Peer) => number | undefined,
  ) {
    this.#h = host;
    this.#dialer = dialer;
    this.#t = timing;
    this.#connectedAt = connectedAt;
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const h = this.#h;
    if (h.seeds.length > 0) await this.#dialer.dialSeeds();
    else await this.crawl(h.book.getSelection(), signal);
    while (!signal.aborted) {
      try {
        await abortableSleep(this.#t.crawlPeriodMs, signal);
      } catch {
        return;
      }
      await this.attemptDisconnects();
      await this.crawl(h.book.getSelection(), signal);
      this.cleanup();
    }
  }

  /** Gracefully stops every non-persistent peer connected for at least the maximum time. */
  async attemptDisconnects(): Promise<void> {
    const now = this.#h.now();
    const stops: Promise<void>[] = [];
    for (const peer of this.#h.sw.peers().list()) {
      if (peer.isPersistent) continue;
      const since = this.#connectedAt(peer);
      if (since === undefined || now - since < this.#t.maxConnectionMs) continue;
      stops.push(this.#h.sw.stopPeerGracefully(peer));
    }
    await Promise.all(stops);
  }

  /**
   * Dials each address not crawled within the minimum interval (backoff applies) and sends a
   * PexRequest on every new connection. Already-connected addresses are skipped, as in Go.
   */
  async crawl(addrs: readonly NetAddress[], signal: AbortSignal): Promise<void> {
    const h = this.#h;
    const now = h.now();
    const due = addrs.filter((a) => {
      const last = this.#lastCrawled.get(a.id);
      if (last !== undefined && now - last < this.#t.minTimeBetweenCrawlsMs) return false;
      this.#lastCrawled.set(a.id, now);
      return true;
    });
    let next = 0;
    const worker = async () => {
      while (next < due.length && !signal.aborted) {
        const addr = due[next++];
        const r = await this.#dialer.dialPeer(addr);
        if (r !== "connected") continue;
        const peer = h.sw.peers().get(addr.id);
        if (peer) h.requestAddrs(peer);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CRAWL_CONCURRENCY, due.length) }, worker));
  }

  /** Drops crawl records older than {@link CRAWL_RECORD_RETENTION_MS}. */
  cleanup(): void {
    const now = this.#h.now();
    for (const [id, t] of this.#lastCrawled) {
      if (now - t > CRAWL_RECORD_RETENTION_MS) this.#lastCrawled.delete(id);
    }
  }
}
