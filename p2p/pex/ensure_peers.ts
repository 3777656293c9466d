/**
 * Outbound dialing policy of the PEX reactor (CometBFT `pex_reactor.go` `ensurePeers`,
 * `dialPeer`, `dialSeeds`; spec §8.4–8.6): the per-address dial backoff, seed dialing, and one
 * ensure-peers round. The reactor owns the loop that runs the rounds; this module owns what a
 * round does, so it can be read (and tested) on its own.
 * @module
 */
import type { AddrBook, BanReason } from "./addrbook.ts";
import type { NetAddress } from "../netaddress.ts";
import type { Peer } from "../reactor_api.ts";
import { CurrentlyDialingOrExistingAddressError, type Switch } from "../switch.ts";
import type { Logger } from "../../libs/log.ts";

/** Failed dials after which a non-persistent address is banned (`maxAttemptsToDial`). */
export const MAX_ATTEMPTS_TO_DIAL = 16;
/** Backoff unit: the wait before the n-th redial is 2^n of these plus jitter (Go: 1 s). */
export const DIAL_BACKOFF_UNIT_MS = 1_000;
/** Upper bound of the uniform jitter added to each backoff (Go: 1 s). */
export const DIAL_BACKOFF_JITTER_MS = 1_000;
/** Outbound count above which the new-address bias stops growing (Go: `min(out, 8)`). */
export const NEW_BIAS_MAX_OUTBOUND = 8;

/** What the dialing code needs from the reactor. */
export interface DialHost {
  readonly sw: Switch;
  readonly book: AddrBook;
  readonly log: Logger;
  readonly random: () => number;
  readonly now: () => number;
  readonly signal: AbortSignal;
  /** Ban length for reactor bans. */
  readonly banTimeMs: number;
  /** The resolved seeds. */
  readonly seeds: readonly NetAddress[];
  /** Deny-list verdict for an address (undefined = allowed). */
  denied(addr: NetAddress): string | undefined;
  /** Sends a PexRequest unless one is outstanding. */
  requestAddrs(peer: Peer): void;
  /** Keeps a background task so stop can await it. */
  track<T>(p: Promise<T>): Promise<T>;
}

/** Outcome of {@link PexDialer.dialPeer}. */
export type DialPeerResult =
  | "connected"
  | "already" // dialing or connected already (not a failure)
  | "too_early" // inside the backoff window
  | "max_attempts" // banned for too many failures
  | "denied" // on the deny-list
  | "failed";

interface Attempts {
  readonly n: number;
  readonly lastMs: number;
}

/** Dials with CometBFT's per-address exponential backoff. */
export class PexDialer {
  readonly #host: DialHost;
  readonly #maxAttempts: number;
  readonly #persistentMaxDialPeriodMs: number;
  /** Dial string → failures since the last success. */
  readonly #attempts = new Map<string, Attempts>();
  /** Whether the last round found nothing to dial and fell back to the seeds. */
  #fellBackToSeeds = false;

  constructor(host: DialHost, opts: { maxAttempts: number; persistentMaxDialPeriodMs: number }) {
    this.#host = host;
    this.#maxAttempts = opts.maxAttempts;
    this.#persistentMaxDialPeriodMs = opts.persistentMaxDialPeriodMs;
  }

  /**
   * Records whether this round falls back to the seeds; true when that is a change, so the
   * fallback is logged at info once per change instead of every 30 s while it lasts.
   */
  noteSeedFallback(fallingBack: boolean): boolean {
    const changed = fallingBack !== this.#fellBackToSeeds;
    this.#fellBackToSeeds = fallingBack;
    return changed;
  }

  /** Failed attempts recorded for `addr` (0 if never failed or since succeeded). */
  attemptsToDial(addr: NetAddress): number {
    return this.#attempts.get(addr.dialString())?.n ?? 0;
  }

  /**
   * Go's `dialPeer`: ban after too many failures (unless persistent), honour the backoff
   * 2^attempts s + U[0, 1 s) (capped for persistent peers), dial through the switch, and
   * record the outcome. Synchronous up to the switch call, so the switch counts the dial at once.
   */
  async dialPeer(addr: NetAddress): Promise<DialPeerResult> {
    const h = this.#host;
    const denied = h.denied(addr);
    if (denied !== undefined) {
      h.log.debug("Not dialing deny-listed address", { addr, why: denied });
      return "denied";
    }
    const key = addr.dialString();
    const rec = this.#attempts.get(key);
    const n = rec?.n ?? 0;
    const persistent = h.sw.isPeerPersistent(addr);
    if (!persistent && n > this.#maxAttempts) {
      const reason: BanReason = "too_many_attempts";
      h.book.markBad(addr, h.banTimeMs, reason);
      h.log.debug(`reached max attempts ${this.#maxAttempts} to dial`, { addr, reason });
      return "max_attempts";
    }
    if (rec && n > 0) {
      let backoff = h.random() * DIAL_BACKOFF_JITTER_MS + 2 ** n * DIAL_BACKOFF_UNIT_MS;
      const cap = this.#persistentMaxDialPeriodMs;
      if (persistent && cap > 0 && backoff > cap) backoff = cap;
      if (h.now() - rec.lastMs < backoff) return "too_early";
    }
    try {
      await h.sw.dialPeerWithAddress(addr);
    } catch (e) {
      if (e instanceof CurrentlyDialingOrExistingAddressError) return "already";
      if (h.signal.aborted || !h.sw.isRunning) return "failed";
      h.book.markAttempt(addr);
      this.#attempts.set(key, { n: n + 1, lastMs: h.now() });
      h.log.debug(`dialing failed (attempts: ${n + 1})`, { addr, err: e });
      return "failed";
    }
    this.#attempts.delete(key);
    return "connected";
  }

  /** Go's `dialSeeds`: random order, stop at the first success or "already connected". */
  async dialSeeds(): Promise<void> {
    const h = this.#host;
    const order = h.seeds.map((a) => ({ a, k: h.random() })).sort((x, y) => x.k - y.k);
    for (const { a } of order) {
      if (h.signal.aborted) return;
      try {
        await h.sw.dialPeerWithAddress(a);
        return;
      } catch (e) {
        if (e instanceof CurrentlyDialingOrExistingAddressError) return;
        if (h.signal.aborted || !h.sw.isRunning) return;
        // One dead seed is normal when several are configured; only "none worked" is an error.
        h.log.info("Error dialing seed", { err: e, seed: a });
      }
    }
    if (h.seeds.length > 0) h.log.error("Couldn't connect to any seeds", {});
  }
}

/**
 * One ensure-peers round (spec §8.4). `periodic` is false for the extra round a seed's
 * PexAddrs triggers (it skips asking a random peer). Dials run as tracked background tasks;
 * the seed fallback is awaited.
 */
export async function ensurePeersRound(
  h: DialHost,
  dialer: PexDialer,
  periodic: boolean,
): Promise<void> {
  const { outbound, inbound, dialing } = h.sw.numPeers();
  const numToDial = h.sw.maxNumOutboundPeers() - (outbound + dialing);
  // Every 30 s, even when nothing needs doing: debug (CometBFT: info, a log-noise complaint).
  h.log.debug("Ensure peers", {
    numOutPeers: outbound,
    numInPeers: inbound,
    numDialing: dialing,
    numToDial,
  });
  if (numToDial <= 0) {
    dialer.noteSeedFallback(false);
    return;
  }

  // Prefer vetted (old) addresses while we have few connections: bias 10 … 90 % new.
  const newBias = Math.min(outbound, NEW_BIAS_MAX_OUTBOUND) * 10 + 10;
  const toDial = new Map<string, NetAddress>();
  const maxPicks = numToDial * 3;
  for (let i = 0; i < maxPicks && toDial.size < numToDial; i++) {
    const a = h.book.pickAddress(newBias);
    if (a === undefined || toDial.has(a.id)) continue;
    // The switch redials persistent peers itself; never race it.
    if (h.sw.isDialingOrExistingAddress(a) || h.sw.isReconnecting(a.id)) continue;
    if (h.denied(a) !== undefined) continue;
    toDial.set(a.id, a);
  }
  for (const a of toDial.values()) h.track(dialer.dialPeer(a));

  if (h.book.needMoreAddrs()) h.book.reinstateBadPeers();
  if (!h.book.needMoreAddrs()) return;
  const peers = h.sw.peers().list();
  if (peers.length > 0 && periodic) {
    const peer = peers[Math.floor(h.random() * peers.length)];
    h.log.debug("We need more addresses. Sending pexRequest to random peer", { peer });
    h.requestAddrs(peer);
  }
  const fallBack = toDial.size === 0;
  // CometBFT logs this at info every round; while nothing changes (a connected node whose book
  // has nothing new) that is a line every 30 s, so only the change is at info.
  if (dialer.noteSeedFallback(fallBack) && fallBack) {
    h.log.info("No addresses to dial. Falling back to seeds", {});
  } else if (fallBack) h.log.debug("No addresses to dial. Falling back to seeds", {});
  if (fallBack) {
    await h.track(dialer.dialSeeds());
  }
}
