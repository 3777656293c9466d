/**
 * Settings of the PEX reactor: its timing defaults (CometBFT's constants and `[p2p.seed]` config
 * defaults), the seed-mode settings and the reactor's options.
 * @module
 */
import type { AddrBook } from "./addrbook.ts";
import type { DenyList } from "./deny_list.ts";
import { MIN_TIME_BETWEEN_CRAWLS_MS } from "./seed_crawler.ts";
import type { NetAddress, ParseOptions } from "../netaddress.ts";
import type { Logger } from "../../libs/log.ts";
import type { LineProfile } from "../cometbft_line.ts";

/** Ensure-peers period (`defaultEnsurePeersPeriod`, 30 s). */
export const DEFAULT_ENSURE_PEERS_PERIOD_MS = 30_000;
/** Share of new addresses in a seed's answer (`biasToSelectNewPeers`). */
export const BIAS_TO_SELECT_NEW_PEERS = 30;
/** `p2p.seed.disconnect_wait` default: a seed keeps a peer this long after answering it. */
export const DEFAULT_SEED_DISCONNECT_WAIT_MS = 3_000;
/** `p2p.seed.crawl_period` default (CometBFT `crawlPeerPeriod`). */
export const DEFAULT_SEED_CRAWL_PERIOD_MS = 30_000;
/** `p2p.seed.recheck_period` default. */
export const DEFAULT_SEED_RECHECK_PERIOD_MS = 30 * 60 * 1000;
/** `p2p.seed.address_expiry` default. */
export const DEFAULT_SEED_ADDRESS_EXPIRY_MS = 72 * 60 * 60 * 1000;
/** `p2p.seed.verify_workers` default. */
export const DEFAULT_SEED_VERIFY_WORKERS = 8;
/** `p2p.seed.verify_rate` default (checks started per second). */
export const DEFAULT_SEED_VERIFY_RATE = 10;
/**
 * A seed disconnects peers connected longer than this at its next crawl round (CometBFT
 * hard-codes 28 h; a switchyard seed answers and disconnects, so an idle peer goes sooner).
 */
export const DEFAULT_SEED_MAX_CONNECTION_MS = 2 * 60 * 1000;

/** Seed-mode settings (`[p2p.seed]`). */
export interface SeedModeConfig {
  disconnectWaitMs: number;
  crawlPeriodMs: number;
  recheckPeriodMs: number;
  addressExpiryMs: number;
  verifyWorkers: number;
  verifyRate: number;
  maxConnectionMs: number;
  minTimeBetweenCrawlsMs: number;
  /** How often the verifier scans the book for due checks. */
  verifyScanIntervalMs?: number;
}

/** Options of `PexReactor` (`pex_reactor.ts`). */
export interface PexReactorOptions {
  book: AddrBook;
  /**
   * The CometBFT line spoken (default: the default line). PEX messages are identical in every
   * line, so this only picks the channel's envelope type by name.
   */
  line?: LineProfile;
  /** `p2p.seeds` (`id@host:port`), resolved at start. */
  seeds?: readonly string[];
  /** `p2p.seed_mode`. */
  seedMode?: boolean;
  /** Default {@link DEFAULT_ENSURE_PEERS_PERIOD_MS}; the request rate limit is a third of it. */
  ensurePeersPeriodMs?: number;
  /** `p2p.persistent_peers_max_dial_period` (0 = uncapped backoff). */
  persistentPeersMaxDialPeriodMs?: number;
  /** Ban length of every reactor ban (Go `defaultBanTime`, 24 h). */
  banTimeMs?: number;
  /** Default `MAX_ATTEMPTS_TO_DIAL` (`ensure_peers.ts`). */
  maxAttemptsToDial?: number;
  seed?: Partial<SeedModeConfig>;
  /** `p2p.deny_list`: never stored, served or dialed. */
  denyList?: DenyList;
  /** Seed mode: how to verify an address (default: transport dial + handshake + close). */
  verifyDial?: (addr: NetAddress, signal: AbortSignal) => Promise<void>;
  /** Seed resolution (tests). */
  lookup?: ParseOptions["lookup"];
  random?: () => number;
  now?: () => number;
  logger?: Logger;
}

/** `opts.seed` over the `[p2p.seed]` defaults. */
export function resolveSeedModeConfig(seed: Partial<SeedModeConfig> = {}): SeedModeConfig {
  return {
    disconnectWaitMs: DEFAULT_SEED_DISCONNECT_WAIT_MS,
    crawlPeriodMs: DEFAULT_SEED_CRAWL_PERIOD_MS,
    recheckPeriodMs: DEFAULT_SEED_RECHECK_PERIOD_MS,
    addressExpiryMs: DEFAULT_SEED_ADDRESS_EXPIRY_MS,
    verifyWorkers: DEFAULT_SEED_VERIFY_WORKERS,
    verifyRate: DEFAULT_SEED_VERIFY_RATE,
    maxConnectionMs: DEFAULT_SEED_MAX_CONNECTION_MS,
    minTimeBetweenCrawlsMs: MIN_TIME_BETWEEN_CRAWLS_MS,
    ...seed,
  };
}
