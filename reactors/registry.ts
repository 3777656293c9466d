/**
 * The built-in reactors the daemon can run, by the name `node.reactors` uses. Adding a reactor
 * is one entry in {@link REACTOR_REGISTRY}: a factory that receives the {@link NodeContext} and
 * returns the reactor, plus any RPC routes it serves (e.g. `broadcast_tx_async`).
 *
 * Registration order is the order of this table (it decides the MConnection channel order and
 * NodeInfo `channels`). CometBFT registers MEMPOOL, BLOCKSYNC, CONSENSUS, EVIDENCE, STATESYNC,
 * then PEX; keep PEX last here too.
 * @module
 */
import type { Config, ReactorName } from "../config/mod.ts";
import type { Logger } from "../libs/log.ts";
import type { NodeKey } from "../p2p/key.ts";
import type { P2PMetrics } from "../p2p/metrics.ts";
import type { AddrBook } from "../p2p/pex/addrbook.ts";
import type { DenyList } from "../p2p/pex/deny_list.ts";
import { PexReactor, type PexReactorOptions } from "../p2p/pex/pex_reactor.ts";
import { lineProfile } from "../p2p/cometbft_line.ts";
import { join } from "node:path";
import { CRAWL_DB_FILE } from "../crawler/store.ts";
import {
  CrawlingSeedReactor,
  SeedCrawlSchedule,
  seedCrawlStart,
} from "../crawler/seed_schedule.ts";
import type { Reactor } from "../p2p/reactor.ts";
import type { Switch } from "../p2p/switch.ts";
import type { Route } from "../rpc/types.ts";
import { chatEntry, consensusWatcherEntry, txRelayEntry } from "./demo_entries.ts";

/** What a reactor factory may use. Everything is built, nothing is started yet. */
export interface NodeContext {
  readonly config: Config;
  /** The chain ID we advertise (NodeInfo `network`). */
  readonly chainId: string;
  /** The root logger; derive a module logger with `logger.with({ module: "…" })`. */
  readonly logger: Logger;
  readonly nodeKey: NodeKey;
  readonly sw: Switch;
  /** The address book (the node starts, saves and stops it). */
  readonly addrBook: AddrBook;
  /** `p2p.deny_list` (the node already applies it to the transport and switch). */
  readonly denyList: DenyList;
  readonly metrics: P2PMetrics;
}

/** A factory's result. */
export interface BuiltReactor {
  readonly reactor: Reactor;
  /** RPC routes this reactor serves (names must not clash with the node's). */
  readonly routes?: readonly Route[];
}

/** One built-in reactor. */
export interface ReactorEntry {
  /** Name in `node.reactors`. */
  readonly name: ReactorName;
  /** Name given to `Switch.addReactor` (CometBFT's upper-case names: `PEX`, `MEMPOOL`). */
  readonly switchName: string;
  create(ctx: NodeContext): BuiltReactor | Promise<BuiltReactor>;
}

/** Every built-in reactor, in registration order. */
export const REACTOR_REGISTRY: readonly ReactorEntry[] = [
  txRelayEntry,
  consensusWatcherEntry,
  chatEntry,
  {
    name: "pex",
    switchName: "PEX",
    create: ({ config, chainId, nodeKey, addrBook, denyList, logger }) => {
      const opts: PexReactorOptions = {
        line: lineProfile(config.cometbftLine),
        book: addrBook,
        seeds: config.p2p.seeds,
        seedMode: config.p2p.seedMode,
        persistentPeersMaxDialPeriodMs: config.p2p.persistentPeersMaxDialPeriodMs,
        seed: { ...config.p2p.seed },
        denyList,
        logger,
      };
      if (!config.p2p.seedMode || config.p2p.seed.crawlIntervalMs === 0) {
        return { reactor: new PexReactor(opts) };
      }
      // A seed with a crawl schedule (crawler/seed_schedule.ts) also serves RPC `peers`.
      const reactor = new CrawlingSeedReactor(opts, () =>
        new SeedCrawlSchedule({
          chainId,
          selfId: nodeKey.id,
          dbPath: config.p2p.seed.crawlHistory ? join(config.home, CRAWL_DB_FILE) : undefined,
          config: config.p2p.seed,
          startAddresses: () => seedCrawlStart(addrBook, config.p2p.seeds),
          logger: logger.with({ module: "crawl" }),
        }));
      return { reactor, routes: [reactor.schedule.route()] };
    },
  },
];

/** The entries of `names` in registration order. @throws Error for a name with no entry. */
export function selectReactors(
  names: readonly ReactorName[],
  registry: readonly ReactorEntry[] = REACTOR_REGISTRY,
): ReactorEntry[] {
  const wanted = new Set(names);
  for (const n of wanted) {
    if (!registry.some((e) => e.name === n)) {
      throw new Error(
        `node.reactors: reactor "${n}" is not available in this build (available: ${
          registry.map((e) => e.name).join(", ") || "none"
        })`,
      );
    }
  }
  return registry.filter((e) => wanted.has(e.name));
}
