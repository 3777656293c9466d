/**
 * Switch configuration, options, states and errors (split from `switch.ts` to keep it short),
 * and the peer-filter runner (Go `Switch.filterPeer`'s filter part).
 * @module
 */
import { InvalidParametersError, RejectedError } from "./errors.ts";
import type { MConnConfig } from "./conn/mconnection.ts";
import type { Peer } from "./peer.ts";
import type { IPeerSet } from "./peer_set.ts";
import {
  DEFAULT_REACTOR_ERROR_COOLDOWN_MS,
  DIAL_RANDOMIZER_INTERVAL_MS,
  type ReconnectSchedule,
  type Sleep,
} from "./reconnect.ts";
import type { Transport } from "./transport.ts";
import type { SwitchAddrBook } from "./switch_dial.ts";
import type { P2PMetrics } from "./metrics.ts";
import type { Logger } from "../libs/log.ts";

/** Go's default `max_num_inbound_peers`. */
export const DEFAULT_MAX_NUM_INBOUND_PEERS = 40;
/** Go's default `max_num_outbound_peers` (used by PEX, not enforced by the switch). */
export const DEFAULT_MAX_NUM_OUTBOUND_PEERS = 10;
/** Time allowed to the peer filters (Go `defaultFilterTimeout`). */
export const DEFAULT_FILTER_TIMEOUT_MS = 5_000;

/** A peer filter (Go `PeerFilterFunc`): return a reason to refuse the peer. */
export type PeerFilter = (
  peers: IPeerSet,
  peer: Peer,
) => string | undefined | Promise<string | undefined>;

/** Switch settings; defaults are CometBFT's. */
export interface SwitchConfig {
  maxNumInboundPeers: number;
  maxNumOutboundPeers: number;
  allowDuplicateIP: boolean;
  /** Random delay bound before each `dialPeersAsync` dial (Go 3000 ms). */
  dialRandomizerMs: number;
  /** Redial schedule of persistent peers. */
  reconnect: Partial<ReconnectSchedule>;
  /** Delay before redialing a persistent peer stopped for a protocol violation. */
  reactorErrorCooldownMs: number;
  filterTimeoutMs: number;
  mconnConfig: Partial<MConnConfig>;
}

/** The defaults of {@link SwitchConfig}. */
export const DEFAULT_SWITCH_CONFIG: Readonly<SwitchConfig> = {
  maxNumInboundPeers: DEFAULT_MAX_NUM_INBOUND_PEERS,
  maxNumOutboundPeers: DEFAULT_MAX_NUM_OUTBOUND_PEERS,
  allowDuplicateIP: false,
  dialRandomizerMs: DIAL_RANDOMIZER_INTERVAL_MS,
  reconnect: {},
  reactorErrorCooldownMs: DEFAULT_REACTOR_ERROR_COOLDOWN_MS,
  filterTimeoutMs: DEFAULT_FILTER_TIMEOUT_MS,
  mconnConfig: {},
};

/** Options of {@link Switch}. */
export interface SwitchOptions {
  transport: Transport;
  config?: Partial<SwitchConfig>;
  addrBook?: SwitchAddrBook;
  peerFilters?: PeerFilter[];
  logger?: Logger;
  metrics?: P2PMetrics;
  /** Injected for tests: sleep and U[0,1) source. */
  sleep?: Sleep;
  random?: () => number;
}

/** A reactor was registered wrongly (after start, duplicate name, duplicate channel). */
export class ReactorRegistrationError extends InvalidParametersError {}

/** A peer filter refused the peer (Go: `filtered ID<…>: …`). */
export class PeerFilteredError extends RejectedError {}

/** Lifecycle of the switch. */
export type SwitchState = "created" | "starting" | "running" | "stopping" | "stopped";

export type { PeerCounts } from "./reactor_api.ts";

/**
 * Runs every peer filter concurrently; throws {@link PeerFilteredError} for the first reason
 * given, or when they take longer than `timeoutMs` (Go: "filter timed out").
 */
export async function runPeerFilters(
  filters: readonly PeerFilter[],
  peers: IPeerSet,
  peer: Peer,
  timeoutMs: number,
): Promise<void> {
  if (filters.length === 0) return;
  const timeout = Promise.withResolvers<never>();
  const timer = setTimeout(
    () => timeout.reject(new PeerFilteredError(`filtered ID<${peer.id}>: filter timed out`)),
    timeoutMs,
  );
  try {
    const reasons = await Promise.race([
      Promise.all(filters.map(async (f) => await f(peers, peer))),
      timeout.promise,
    ]);
    const reason = reasons.find((r) => r !== undefined);
    if (reason !== undefined) throw new PeerFilteredError(`filtered ID<${peer.id}>: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}
