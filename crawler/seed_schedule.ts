/**
 * The seed's scheduled network crawl (`p2p.seed.crawl_interval`): every interval the seed runs
 * the `crawl` command's engine from its address book and configured seeds, keeps the latest
 * verified set (nodes that completed a handshake on our chain), and serves it on RPC `peers`
 * (`GET /peers`, JSON-RPC method `peers`), so operators point their nodes at a live list.
 *
 * {@link CrawlingSeedReactor} is the PEX reactor with the schedule bound to its lifecycle: the
 * schedule starts after the reactor and ends (its crawl aborted, sockets closed) before it stops.
 * @module
 */
import type { SeedConfig } from "../config/mod.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import { NetAddress } from "../p2p/netaddress.ts";
import type { AddrBook } from "../p2p/pex/addrbook.ts";
import { PexReactor, type PexReactorOptions } from "../p2p/pex/pex_reactor.ts";
import { abortableSleep } from "../p2p/reconnect.ts";
import type { Route } from "../rpc/types.ts";
import { crawl, type CrawlResult, PexPacer } from "./crawl.ts";
import { bestPeers, verifiedAddresses } from "./outputs.ts";
import { summarize } from "./summary.ts";
import { CrawlStore } from "./store.ts";

/** The scheduled crawl's settings (the `crawl*` keys of `[p2p.seed]`). */
export type SeedCrawlConfig = Pick<
  SeedConfig,
  "crawlIntervalMs" | "crawlConcurrency" | "crawlRate" | "crawlDepth" | "crawlTimeoutMs"
>;

/** One served node. */
export interface PeersEntry {
  id: string;
  /** `id@ip:port`, the fastest verified address. */
  address: string;
  moniker: string;
  version: string;
  latency_ms: number;
}

/** The `peers` route's result. */
export interface PeersResult {
  chain_id: string;
  /** When the crawl behind this list finished (ISO time); empty before the first one. */
  crawled_at: string;
  /** Nodes heard of in that crawl. */
  found: number;
  /** Number of verified peers. */
  count: number;
  /** Verified peers, best (lowest latency) first. */
  peers: PeersEntry[];
  /** The same list as a `persistent_peers` value. */
  persistent_peers: string;
}

/** Options of {@link SeedCrawlSchedule}. */
export interface SeedCrawlScheduleOptions {
  chainId: string;
  config: SeedCrawlConfig;
  /** Where each crawl starts: called at every run (the book changes). */
  startAddresses(): NetAddress[];
  logger?: Logger;
  /** Store each complete crawl in this history database (`crawl history` reads it). */
  dbPath?: string;
  /** The seed's own node ID: never served (the list is for its clients' other peers). */
  selfId?: string;
  /** Runs one crawl (tests substitute). */
  crawlFn?: typeof crawl;
}

/** Runs the crawl every interval and keeps the latest verified set. */
export class SeedCrawlSchedule {
  readonly #o: SeedCrawlScheduleOptions;
  readonly #log: Logger;
  readonly #pacer = new PexPacer();
  #latest: PeersResult;
  #runs = 0;

  constructor(opts: SeedCrawlScheduleOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? nopLogger;
    this.#latest = {
      chain_id: opts.chainId,
      crawled_at: "",
      found: 0,
      count: 0,
      peers: [],
      persistent_peers: "",
    };
  }

  /** The latest verified set. */
  latest(): PeersResult {
    return this.#latest;
  }

  /** Completed crawls so far. */
  get runs(): number {
    return this.#runs;
  }

  /** Crawls now, then every interval, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const c = this.#o.config;
    while (!signal.aborted) {
      await this.runOnce(signal);
      try {
        await abortableSleep(c.crawlIntervalMs, signal);
      } catch {
        return;
      }
    }
  }

  /** One crawl; its result replaces the served set unless it was cut short by `signal`. */
  async runOnce(signal: AbortSignal): Promise<void> {
    const c = this.#o.config;
    const seeds = this.#o.startAddresses();
    if (seeds.length === 0) {
      this.#log.info("Scheduled crawl skipped: no address to start from");
      return;
    }
    let r: CrawlResult;
    try {
      r = await (this.#o.crawlFn ?? crawl)({
        seeds,
        chainId: this.#o.chainId,
        concurrency: c.crawlConcurrency,
        ratePerSec: c.crawlRate,
        maxDepth: c.crawlDepth,
        maxTimeMs: c.crawlTimeoutMs,
        pacer: this.#pacer,
        signal,
      });
    } catch (err) {
      this.#log.error("Scheduled crawl failed", { err });
      return;
    }
    if (r.end === "interrupted") return;
    this.#latest = peersResult(r, this.#o.selfId);
    this.#runs++;
    if (this.#o.dbPath !== undefined) await this.#store(r, this.#o.dbPath);
    const s = summarize(r);
    this.#log.info("Scheduled crawl done", {
      found: s.found,
      reached: s.reached,
      failed: s.failed,
      end: s.end,
      ms: s.duration_ms,
    });
  }

  /** Adds the crawl to the history; a failure is logged, never fatal to the seed. */
  async #store(r: CrawlResult, path: string): Promise<void> {
    try {
      const store = await CrawlStore.open(path);
      try {
        store.saveCrawl(r);
      } finally {
        store.close();
      }
    } catch (err) {
      this.#log.error("Could not store the scheduled crawl", { file: path, err });
    }
  }

  /** The RPC route `peers` (no parameters). */
  route(): Route {
    return { name: "peers", params: [], handler: () => this.latest() };
  }
}

/** The served form of a crawl: every verified node but `selfId`, best first. */
export function peersResult(r: CrawlResult, selfId?: string): PeersResult {
  const byId = new Map(r.nodes.map((n) => [n.id, n]));
  const best = bestPeers(r, Number.MAX_SAFE_INTEGER).filter((a) => !a.startsWith(`${selfId}@`));
  const peers = best.map((address): PeersEntry => {
    const n = byId.get(address.slice(0, address.indexOf("@")))!;
    return {
      id: n.id,
      address: verifiedAddresses(n)[0].toString(),
      moniker: n.info?.moniker ?? "",
      version: n.info?.version ?? "",
      latency_ms: n.latencyMs ?? 0,
    };
  });
  return {
    chain_id: r.chainId,
    crawled_at: new Date(r.finishedMs).toISOString(),
    found: r.nodes.length,
    count: peers.length,
    peers,
    persistent_peers: best.join(","),
  };
}

/**
 * Where a seed's scheduled crawl starts: every address in its book, plus the configured seeds
 * given as IP addresses (host names are resolved by the PEX reactor, not here).
 */
export function seedCrawlStart(book: AddrBook, seeds: readonly string[]): NetAddress[] {
  const out = book.listOfKnownAddresses().map((ka) => ka.addr);
  for (const s of seeds) {
    try {
      out.push(NetAddress.parseNoLookup(s));
    } catch {
      // a host name: the book holds what the seed learned from it
    }
  }
  return out;
}

/** The PEX reactor with a {@link SeedCrawlSchedule} running while it runs. */
export class CrawlingSeedReactor extends PexReactor {
  readonly schedule: SeedCrawlSchedule;
  #loop: Promise<void> | undefined;

  constructor(
    opts: PexReactorOptions,
    schedule: (reactor: PexReactor) => SeedCrawlSchedule,
  ) {
    super(opts);
    this.schedule = schedule(this);
  }

  protected override async onStart(): Promise<void> {
    await super.onStart();
    this.#loop = this.schedule.run(this.signal);
  }

  protected override async onStop(): Promise<void> {
    await this.#loop;
    await super.onStop();
  }
}
