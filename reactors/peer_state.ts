/**
 * The per-peer consensus state that reactors share through the peer key/value store (CometBFT
 * `consensus.PeerState`, stored under `types.PeerStateKey`, spec §11.1).
 *
 * The consensus height watcher ({@link ./consensus_watcher.ts}) creates one {@link PeerState} per
 * peer in `initPeer` and stores it under {@link PEER_STATE_KEY}; `NewRoundStep` messages move it
 * forward. Other reactors (our transaction relay, or a user's evidence reactor) read it with
 * {@link peerHeightOf} to decide whether a peer is caught up, exactly as Go's mempool and
 * evidence reactors call `GetHeight()` on the same key.
 *
 * Only height, round, step and the derived round start time are tracked: the watcher does not
 * take part in consensus, so the proposal/vote bit arrays of Go's `PeerRoundState` have no use.
 * @module
 */
import type { Peer } from "../p2p/reactor_api.ts";

/** The key of the per-peer store (Go `types.PeerStateKey`), shared with Go's naming. */
export const PEER_STATE_KEY = "ConsensusReactor.peerState";

/** Consensus round steps (Go `cstypes.RoundStepType`, values 1…8 on the wire). */
export const RoundStep = {
  NewHeight: 1,
  NewRound: 2,
  Propose: 3,
  Prevote: 4,
  PrevoteWait: 5,
  Precommit: 6,
  PrecommitWait: 7,
  Commit: 8,
} as const;

/** A valid round step value. */
export type RoundStepValue = typeof RoundStep[keyof typeof RoundStep];

const STEP_NAMES: readonly string[] = [
  "",
  "RoundStepNewHeight",
  "RoundStepNewRound",
  "RoundStepPropose",
  "RoundStepPrevote",
  "RoundStepPrevoteWait",
  "RoundStepPrecommit",
  "RoundStepPrecommitWait",
  "RoundStepCommit",
];

/** Go's name of a step (`RoundStepPropose`), or `Unknown` for 0 / out-of-range values. */
export function roundStepName(step: number): string {
  return STEP_NAMES[step] || "Unknown";
}

/** True for a step Go accepts (`RoundStepType.IsValid`: 1 … 8). */
export function isValidRoundStep(step: number): step is RoundStepValue {
  return Number.isInteger(step) && step >= RoundStep.NewHeight && step <= RoundStep.Commit;
}

/**
 * The reader side of the contract, all another reactor may rely on: Go's mempool reactor
 * declares the same one-method interface (`mempool.PeerState`).
 */
export interface HeightReporter {
  /** The peer's last reported consensus height (0 until it reported one). */
  getHeight(): number;
}

/** Compares (height, round, step) triples lexicographically (Go `CompareHRS`): −1, 0 or 1. */
export function compareHRS(
  h1: bigint,
  r1: number,
  s1: number,
  h2: bigint,
  r2: number,
  s2: number,
): -1 | 0 | 1 {
  if (h1 !== h2) return h1 < h2 ? -1 : 1;
  if (r1 !== r2) return r1 < r2 ? -1 : 1;
  if (s1 !== s2) return s1 < s2 ? -1 : 1;
  return 0;
}

/** The fields of a validated `NewRoundStep`, with the int64s as bigint. */
export interface RoundStepUpdate {
  readonly height: bigint;
  readonly round: number;
  readonly step: number;
  readonly secondsSinceStartTime: bigint;
  readonly lastCommitRound: number;
}

/** A JSON-friendly copy of a peer's state (for RPC and logs). */
export interface PeerRoundSnapshot {
  /** Decimal string, as CometBFT renders int64 in JSON. */
  readonly height: string;
  readonly round: number;
  readonly step: number;
  readonly stepName: string;
  /** Estimated start of round 0 at this height (ISO time), or null before the first update. */
  readonly startTime: string | null;
  /** How many `NewRoundStep` messages were applied. */
  readonly updates: number;
}

/**
 * One peer's consensus position as it reported it. Starts at Go's initial `PeerRoundState`:
 * height 0, round −1, step 0. Updates only move forward.
 */
export class PeerState implements HeightReporter {
  /** The peer this state belongs to. */
  readonly peerId: string;
  #height = 0n;
  #round = -1;
  #step = 0;
  #startTimeMs: number | undefined;
  #lastCommitRound = -1;
  #updates = 0;
  readonly #now: () => number;

  /** `now` (ms since epoch) is injectable for tests of the start-time estimate. */
  constructor(peerId: string, now: () => number = Date.now) {
    this.peerId = peerId;
    this.#now = now;
  }

  /** Reported height as a number (exact below 2^53, i.e. for every real chain). */
  getHeight(): number {
    return Number(this.#height);
  }
  /** Reported height, exact. */
  get height(): bigint {
    return this.#height;
  }
  /** Reported round (−1 before the first update). */
  get round(): number {
    return this.#round;
  }
  /** Reported step (0 before the first update). */
  get step(): number {
    return this.#step;
  }
  /** Last commit round of the last update (−1 if none). */
  get lastCommitRound(): number {
    return this.#lastCommitRound;
  }
  /** Number of applied updates. */
  get updates(): number {
    return this.#updates;
  }

  /**
   * Applies a validated `NewRoundStep` (Go `ApplyNewRoundStepMessage`): ignored unless its
   * (height, round, step) is strictly greater than the current one. Returns whether it applied.
   */
  applyNewRoundStep(m: RoundStepUpdate): boolean {
    if (compareHRS(m.height, m.round, m.step, this.#height, this.#round, this.#step) <= 0) {
      return false;
    }
    this.#height = m.height;
    this.#round = m.round;
    this.#step = m.step;
    this.#lastCommitRound = m.lastCommitRound;
    // Go: StartTime = now − SecondsSinceStartTime; clamp absurd values instead of overflowing.
    const secs = Number(m.secondsSinceStartTime);
    this.#startTimeMs = Number.isFinite(secs) && Math.abs(secs) < 1e12
      ? this.#now() - secs * 1000
      : undefined;
    this.#updates++;
    return true;
  }

  /** A JSON-friendly copy. */
  snapshot(): PeerRoundSnapshot {
    return {
      height: this.#height.toString(),
      round: this.#round,
      step: this.#step,
      stepName: roundStepName(this.#step),
      startTime: this.#startTimeMs === undefined ? null : new Date(this.#startTimeMs).toISOString(),
      updates: this.#updates,
    };
  }
}

/** True if `v` is a {@link HeightReporter} (duck-typed, so a user's own state class works too). */
export function isHeightReporter(v: unknown): v is HeightReporter {
  return typeof v === "object" && v !== null &&
    typeof (v as { getHeight?: unknown }).getHeight === "function";
}

/** The peer's state under {@link PEER_STATE_KEY}, if a watcher created one. */
export function peerStateOf(peer: Pick<Peer, "get">): HeightReporter | undefined {
  const v = peer.get(PEER_STATE_KEY);
  return isHeightReporter(v) ? v : undefined;
}

/**
 * The peer's reported height, or `undefined` when no consensus watcher keeps a state for it
 * (no watcher registered). Reads only through the key/value store: no import of the watcher.
 */
export function peerHeightOf(peer: Pick<Peer, "get">): number | undefined {
  return peerStateOf(peer)?.getHeight();
}

/**
 * The `consensus_height` of a peer's `/net_info` entry: its recorded height as a decimal string
 * (CometBFT renders int64 as strings), or `undefined` when no watcher tracks the peer.
 */
export function netInfoConsensusHeight(peer: Pick<Peer, "get">): string | undefined {
  const v = peer.get(PEER_STATE_KEY);
  if (v instanceof PeerState) return v.height.toString();
  return isHeightReporter(v) ? String(v.getHeight()) : undefined;
}
