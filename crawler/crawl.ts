/**
 * The crawl engine: starting from seed addresses, {@link probe}s every address it learns of
 * (handshake, NodeInfo, one PexRequest per node) and follows the answers breadth first.
 *
 * Bounds: `concurrency` probes in flight, `ratePerSec` probe starts per second (spaced like the
 * seed's verifier), `maxDepth` hops from a seed, `maxTimeMs` for the whole crawl, and each
 * `id@ip:port` tried at most once per crawl. Two probes of one node ID never run at once (a Go
 * node drops a second connection from the same key as a duplicate).
 *
 * PEX pacing: one PexRequest per node per crawl, and none to an ID asked less than
 * {@link PEX_MIN_REQUEST_INTERVAL_MS} ago by this process (a {@link PexPacer} shared across the
 * crawls of a seed's schedule): a Go node bans a peer whose second request comes sooner than
 * `ensurePeersPeriod / 3` after the previous one (`pex_reactor.go` `receiveRequest`).
 * @module
 */
import { isValidId, NodeKey } from "../p2p/key.ts";
import type { HostResolver, NetAddress } from "../p2p/netaddress.ts";
import { MAX_GET_SELECTION } from "../p2p/pex/addrbook_select.ts";
import { DEFAULT_ENSURE_PEERS_PERIOD_MS } from "../p2p/pex/pex_config.ts";
import { StartSpacer } from "../p2p/pex/verifier.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "../p2p/upgrade.ts";
import { probe, type ProbeResult } from "./probe.ts";
import { type AddrRecord, type CrawlNode, SEED_SOURCE } from "./types.ts";

/** Go's minimum time between two accepted PexRequests from one peer (30 s / 3). */
export const PEX_MIN_REQUEST_INTERVAL_MS = DEFAULT_ENSURE_PEERS_PERIOD_MS / 3;
/**
 * At most this many distinct node IDs are tried at one `ip:port` per crawl (a node that changed
 * its key shows up as a second ID; dozens mean someone aims the crawler at that address).
 */
export const MAX_IDS_PER_ADDRESS = 3;
/**
 * At most this many addresses of one PexAddrs answer are followed: Go's `maxGetSelection`, the
 * most an honest node ever sends. A longer answer (up to what the 64 kB message limit allows)
 * is hostile; its size is still recorded, the rest ignored, so no node can grow the crawl's
 * node table by more than this per answer.
 */
export const MAX_ADDRS_PER_ANSWER = MAX_GET_SELECTION;
/**
 * Default bound of the node table. A record costs about 0.4 KiB (`bench/crawl_flood.ts`), so
 * this caps it near 40 MiB: hostile nodes each listing {@link MAX_ADDRS_PER_ANSWER} made-up IDs
 * cannot grow a crawl's memory without bound. Real networks are far smaller.
 */
export const DEFAULT_CRAWL_MAX_NODES = 100_000;
/** Default probes in flight. */
export const DEFAULT_CRAWL_CONCURRENCY = 16;
/** Default probe starts per second (0 = unlimited). */
export const DEFAULT_CRAWL_RATE = 50;
/** Default hops followed from a seed. */
export const DEFAULT_CRAWL_DEPTH = 8;
/** Default bound of a whole crawl. */
export const DEFAULT_CRAWL_MAX_TIME_MS = 5 * 60_000;
/**
 * Default TCP connect timeout per address. CometBFT's own dials give up after 1 s, tuned for
 * peers it already knows; a crawler reaching nodes across the world waits a little longer.
 */
export const DEFAULT_CRAWL_DIAL_TIMEOUT_MS = 3_000;
/** Default wait for a PexAddrs answer (a Go node answers at once; a seed may be slower). */
export const DEFAULT_ANSWER_TIMEOUT_MS = 5_000;

/** Remembers when this process last sent each node ID a PexRequest. */
export class PexPacer {
  readonly #last = new Map<string, number>();
  constructor(readonly minIntervalMs = PEX_MIN_REQUEST_INTERVAL_MS) {}
  /** True (and the request recorded) if `id` may be asked now. */
  mayAsk(id: string, nowMs: number): boolean {
    const last = this.#last.get(id);
    if (last !== undefined && nowMs - last < this.minIntervalMs) return false;
    this.#last.set(id, nowMs);
    if (this.#last.size > 100_000) this.prune(nowMs);
    return true;
  }
  /** Forgets requests older than the interval. */
  prune(nowMs: number): void {
    for (const [id, t] of this.#last) if (nowMs - t >= this.minIntervalMs) this.#last.delete(id);
  }
}

/** Options of {@link Crawler}. */
export interface CrawlOptions {
  seeds: readonly NetAddress[];
  chainId: string;
  concurrency?: number;
  /** Probe starts per second; 0 = unlimited. */
  ratePerSec?: number;
  maxDepth?: number;
  maxTimeMs?: number;
  /** Node IDs recorded at most; IDs learned past it are counted in `droppedNodes` only. */
  maxNodes?: number;
  dialTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  answerTimeoutMs?: number;
  /** Resolves NodeInfo `listen_addr` host names (default /etc/hosts then DNS), bounded in time. */
  lookup?: HostResolver;
  /** The crawler's identity; default a fresh key per crawl. */
  nodeKey?: NodeKey;
  pacer?: PexPacer;
  /** Aborting ends the crawl early (Ctrl-C); what was found is kept. */
  signal?: AbortSignal;
  /**
   * A node's probes so far are all done. Called again for the same node when it changed after
   * (more sources or addresses); the last call per ID carries its final state.
   */
  onNode?: (node: CrawlNode) => void;
  /** Node `from` answered our PexRequest with these addresses. */
  onPex?: (from: string, addrs: readonly NetAddress[]) => void;
  now?: () => number;
}

/** Why a crawl ended. */
export type CrawlEnd = "complete" | "time_limit" | "interrupted";

/** The outcome of one crawl. */
export interface CrawlResult {
  chainId: string;
  seeds: string[];
  startedMs: number;
  finishedMs: number;
  end: CrawlEnd;
  nodes: CrawlNode[];
  /** `[from, to]` node IDs: `from`'s PexAddrs listed `to`. */
  edges: [string, string][];
  /** New node IDs not recorded because the table was full (`maxNodes`). */
  droppedNodes: number;
}

/** Live counters, for the progress line. */
export interface CrawlProgress {
  found: number;
  reached: number;
  failed: number;
  probes: number;
  inFlight: number;
  queued: number;
}

interface Item {
  addr: NetAddress;
  depth: number;
}

interface NodeState {
  node: CrawlNode;
  /** Addresses queued or in flight. */
  pending: number;
  busy: boolean;
  asked: boolean;
  /** What the node looked like when last emitted ("" = never emitted). */
  emittedSig: string;
}

/** One crawl. Create, then `run()` once. */
export class Crawler {
  readonly #o: CrawlOptions;
  readonly #now: () => number;
  readonly #key: NodeKey;
  readonly #pacer: PexPacer;
  readonly #nodes = new Map<string, NodeState>();
  readonly #edges = new Set<string>();
  readonly #tried = new Set<string>();
  /** Distinct IDs queued per `ip:port`. */
  readonly #idsPerAddr = new Map<string, number>();
  /** `ip:port` → the ID whose key answered there (a handshake, or an ID mismatch, told us). */
  readonly #owners = new Map<string, string>();
  /**
   * `ip:port` → IDs gossiped there beyond {@link MAX_IDS_PER_ADDRESS}, kept until the address's
   * owner is known: the one that is the owner is then tried, the rest never are. So made-up IDs
   * listed ahead of a real node at its address cannot use up its tries and hide it.
   */
  readonly #deferred = new Map<string, Item[]>();
  readonly #queue: Item[] = [];
  #inFlight = 0;
  #probes = 0;
  #dropped = 0;
  #waiters: (() => void)[] = [];

  constructor(opts: CrawlOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#key = opts.nodeKey ?? NodeKey.generate();
    this.#pacer = opts.pacer ?? new PexPacer();
  }

  /** Counters right now. */
  progress(): CrawlProgress {
    let reached = 0, failed = 0;
    for (const s of this.#nodes.values()) {
      if (s.node.reachable) reached++;
      else if (s.node.failure !== undefined && s.pending === 0) failed++;
    }
    return {
      found: this.#nodes.size,
      reached,
      failed,
      probes: this.#probes,
      inFlight: this.#inFlight,
      queued: this.#queue.length,
    };
  }

  /** Crawls until nothing is left, the time limit passes or the signal aborts. */
  async run(): Promise<CrawlResult> {
    const o = this.#o;
    const startedMs = this.#now();
    const limit = AbortSignal.timeout(o.maxTimeMs ?? DEFAULT_CRAWL_MAX_TIME_MS);
    const signal = o.signal ? AbortSignal.any([o.signal, limit]) : limit;
    for (const seed of o.seeds) this.#learn(seed, 0, SEED_SOURCE);
    const spacer = new StartSpacer(o.ratePerSec ?? DEFAULT_CRAWL_RATE, () => Date.now());
    const onAbort = () => this.#wake();
    signal.addEventListener("abort", onAbort, { once: true });
    const workers = Math.max(1, o.concurrency ?? DEFAULT_CRAWL_CONCURRENCY);
    try {
      await Promise.all(Array.from({ length: workers }, () => this.#worker(spacer, signal)));
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    // Nodes never emitted (untried) and nodes that changed since (gossiped again later) get a
    // final report: for each ID the last one is complete.
    for (const s of this.#nodes.values()) if (s.emittedSig !== signature(s.node)) this.#emit(s);
    const end: CrawlEnd = o.signal?.aborted
      ? "interrupted"
      : limit.aborted
      ? "time_limit"
      : "complete";
    return {
      chainId: o.chainId,
      seeds: o.seeds.map(String),
      startedMs,
      finishedMs: this.#now(),
      end,
      nodes: [...this.#nodes.values()].map((s) => s.node),
      edges: [...this.#edges].map((e) => e.split(">") as [string, string]),
      droppedNodes: this.#dropped,
    };
  }

  /** Takes queued addresses and probes them until nothing is queued or in flight. */
  async #worker(spacer: StartSpacer, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const item = this.#take();
      if (item === undefined) {
        if (this.#inFlight === 0) {
          this.#wake(); // nothing queued, nothing running: every worker may end
          return;
        }
        const w = Promise.withResolvers<void>();
        this.#waiters.push(w.resolve);
        await w.promise;
        continue;
      }
      const state = this.#nodes.get(item.addr.id)!;
      state.busy = true;
      this.#inFlight++;
      try {
        await spacer.take(signal);
        this.#probes++;
        const result = await probe(item.addr, {
          nodeKey: this.#key,
          chainId: this.#o.chainId,
          // One request per node, decided after a handshake succeeded (an earlier address of
          // the node may have failed), and never within Go's interval of the last one.
          askAddrs: () => {
            if (state.asked || !this.#pacer.mayAsk(item.addr.id, this.#now())) return false;
            state.asked = true;
            return true;
          },
          dialTimeoutMs: this.#o.dialTimeoutMs ?? DEFAULT_CRAWL_DIAL_TIMEOUT_MS,
          handshakeTimeoutMs: this.#o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
          answerTimeoutMs: this.#o.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
          lookup: this.#o.lookup,
          signal,
        });
        this.#apply(state, item, result);
      } catch (err) {
        // Only an abort gets here (probe reports every peer failure as a result).
        if (!signal.aborted) throw err;
      } finally {
        state.busy = false;
        state.pending--;
        this.#inFlight--;
        if (state.pending === 0 && !signal.aborted) this.#emit(state);
        this.#wake();
      }
    }
  }

  /**
   * The first queued item whose node has no probe in flight. Items at an address now known to
   * belong to another ID are dropped undialed (the answer is known: an ID mismatch).
   */
  #take(): Item | undefined {
    for (let i = 0; i < this.#queue.length; i++) {
      const item = this.#queue[i];
      const state = this.#nodes.get(item.addr.id)!;
      const owner = this.#owners.get(item.addr.dialString());
      if (owner !== undefined && owner !== item.addr.id) {
        this.#queue.splice(i--, 1);
        state.pending--;
        if (state.pending === 0 && !state.busy) this.#emit(state);
        continue;
      }
      if (!state.busy) {
        this.#queue.splice(i, 1);
        return item;
      }
    }
    return undefined;
  }

  /** Records who answered at `dial`; releases that ID's deferred try there, drops the rest. */
  #setOwner(dial: string, id: string): void {
    if (this.#owners.has(dial)) return;
    this.#owners.set(dial, id);
    const deferred = this.#deferred.get(dial);
    this.#deferred.delete(dial);
    const mine = deferred?.find((it) => it.addr.id === id);
    if (mine === undefined) return;
    this.#nodes.get(id)!.pending++;
    this.#queue.push(mine);
    this.#wake();
  }

  #apply(state: NodeState, item: Item, r: ProbeResult): void {
    const node = state.node;
    const rec = node.addrs.find((a) => a.addr === item.addr.dialString())!;
    const now = this.#now();
    if (r.kind === "failed") {
      if (r.remoteId !== undefined) this.#setOwner(rec.addr, r.remoteId);
      rec.state = "failed";
      rec.reason = r.reason;
      rec.error = r.error;
      if (!node.reachable) node.failure = r.reason;
      if (r.info && node.info === undefined) node.info = r.info;
      return;
    }
    this.#setOwner(rec.addr, node.id);
    rec.state = "reachable";
    rec.latencyMs = r.latencyMs;
    node.reachable = true;
    delete node.failure;
    node.info = r.info;
    node.lastSeenMs = now;
    if (node.latencyMs === undefined || r.latencyMs < node.latencyMs) node.latencyMs = r.latencyMs;
    if (r.addrs === undefined) {
      if (r.answerError !== undefined && node.pexAddrs === undefined) node.pexError = r.answerError;
      return;
    }
    delete node.pexError;
    node.pexAddrs = r.addrs.length;
    this.#o.onPex?.(node.id, r.addrs);
    for (const a of r.addrs.slice(0, MAX_ADDRS_PER_ANSWER)) this.#learn(a, item.depth + 1, node.id);
  }

  /** Records that `source` told us about `addr`; queues it when new and within depth. */
  #learn(addr: NetAddress, depth: number, source: string): void {
    // An entry whose ID is not 40 hex digits can never authenticate (Go's `NetAddress.Valid`
    // refuses it too): not a node.
    if (!isValidId(addr.id) || addr.id === this.#key.id || !addr.valid() || addr.port === 0) {
      return;
    }
    const now = this.#now();
    let state = this.#nodes.get(addr.id);
    if (state === undefined) {
      if (this.#nodes.size >= (this.#o.maxNodes ?? DEFAULT_CRAWL_MAX_NODES)) {
        this.#dropped++;
        return;
      }
      state = {
        node: {
          id: addr.id,
          addrs: [],
          reachable: false,
          gossipedBy: [],
          firstSeenMs: now,
          lastSeenMs: now,
        },
        pending: 0,
        busy: false,
        asked: false,
        emittedSig: "",
      };
      this.#nodes.set(addr.id, state);
    }
    const node = state.node;
    if (!node.reachable) node.lastSeenMs = now;
    if (!node.gossipedBy.includes(source)) node.gossipedBy.push(source);
    if (source !== SEED_SOURCE && source !== addr.id) this.#edges.add(`${source}>${addr.id}`);
    const dial = addr.dialString();
    let rec: AddrRecord | undefined = node.addrs.find((a) => a.addr === dial);
    if (rec === undefined) {
      rec = { addr: dial, state: "untried", depth };
      node.addrs.push(rec);
    }
    const key = addr.toString();
    if (depth > (this.#o.maxDepth ?? DEFAULT_CRAWL_DEPTH) || this.#tried.has(key)) return;
    // A node gossiping many made-up IDs at one ip:port must not turn the crawl into a flood of
    // connections to that address: only the first few IDs seen there are tried.
    const owner = this.#owners.get(dial);
    if (owner !== undefined && owner !== addr.id) return; // known to be another node's address
    this.#tried.add(key);
    if (owner === undefined) {
      const ids = this.#idsPerAddr.get(dial) ?? 0;
      if (ids >= MAX_IDS_PER_ADDRESS) {
        const d = this.#deferred.get(dial) ?? [];
        d.push({ addr, depth });
        this.#deferred.set(dial, d);
        return;
      }
      this.#idsPerAddr.set(dial, ids + 1);
    }
    state.pending++;
    this.#queue.push({ addr, depth });
    this.#wake();
  }

  #emit(state: NodeState): void {
    state.emittedSig = signature(state.node);
    this.#o.onNode?.(state.node);
  }

  #wake(): void {
    const ws = this.#waiters.splice(0);
    for (const w of ws) w();
  }
}

/** Changes whenever a node's report would (sources, addresses and their states, reachability). */
function signature(n: CrawlNode): string {
  return `${n.reachable}|${n.gossipedBy.length}|${n.addrs.map((a) => a.state).join(",")}`;
}

/** Runs one crawl with `opts` (a {@link Crawler} made and run). */
export function crawl(opts: CrawlOptions): Promise<CrawlResult> {
  return new Crawler(opts).run();
}
