/**
 * One entry of the address book (Go's `knownAddress`) and its new/old/banned state machine.
 *
 * The state is one discriminated union so the bucket bookkeeping cannot disagree with the type:
 * `new` holds 1..4 new-bucket indices, `old` exactly one old bucket, `banned` none (a banned entry is
 * out of every bucket and lives only in the book's ban list). Transitions are the named methods below;
 * each throws {@link KnownAddressStateError} when called from a state it does not leave.
 *
 * @module
 */

import type { NetAddress } from "../netaddress.ts";

/** Go's `bucketTypeNew`, as written in `addrbook.json`. */
export const BUCKET_TYPE_NEW = 1;
/** Go's `bucketTypeOld`, as written in `addrbook.json`. */
export const BUCKET_TYPE_OLD = 2;
/** Max new buckets one address may occupy (`maxNewBucketsPerAddress`). */
export const MAX_NEW_BUCKETS_PER_ADDRESS = 4;

/** Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix milliseconds. */
export const GO_ZERO_TIME_MS = -62135596800000;

/** An entry untouched this recently is never "bad" (1 min). */
export const BAD_GRACE_MS = 60_000;
/** Last attempt older than this → bad (`numMissingDays` = 7 d). */
export const NUM_MISSING_DAYS = 7;
/** Attempts without any success → bad (`numRetries`). */
export const NUM_RETRIES = 3;
/** Attempts since a success older than {@link MIN_BAD_DAYS} → bad (`maxFailures`). */
export const MAX_FAILURES = 10;
/** See {@link MAX_FAILURES} (`minBadDays` = 7 d). */
export const MIN_BAD_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Why an address was banned (our extension; CometBFT bans without a reason). Kept in the ban list,
 * in logs and in the saved book's `banned` section.
 */
export type BanReason =
  | "unsolicited_addrs"
  | "request_flood"
  | "malformed_addrs"
  | "incompatible_network"
  | "bad_handshake"
  | "too_many_attempts"
  | "other";

/** Every {@link BanReason}, for validation of loaded files and config. */
export const BAN_REASONS: readonly BanReason[] = [
  "unsolicited_addrs",
  "request_flood",
  "malformed_addrs",
  "incompatible_network",
  "bad_handshake",
  "too_many_attempts",
  "other",
];

/** The lifecycle state of a known address. */
export type KnownAddressState =
  | { readonly kind: "new"; readonly buckets: readonly number[] }
  | { readonly kind: "old"; readonly bucket: number }
  | {
    readonly kind: "banned";
    /** The type it had when banned (Go keeps it; we use it only for logs). */
    readonly was: "new" | "old";
    readonly reason: BanReason;
    /** Ban end, Unix ms. */
    readonly untilMs: number;
  };

/** A transition was called from a state that does not allow it (a bug in the caller). */
export class KnownAddressStateError extends Error {
  override name = "KnownAddressStateError";
}

/** An address the book knows, with its source, counters and state. */
export class KnownAddress {
  /** The stored address; a later gossip of the same ID with another IP never replaces it. */
  readonly addr: NetAddress;
  /** Who told us (the stored source; used for reinstatement placement). */
  readonly src: NetAddress;
  /** Failed dial attempts since the last success. */
  attempts = 0;
  /** Unix ms; Go sets it to "now" at creation, so a fresh entry is not immediately "bad". */
  lastAttemptMs: number;
  /** Unix ms, {@link GO_ZERO_TIME_MS} when never. */
  lastSuccessMs = GO_ZERO_TIME_MS;
  /** Unix ms, {@link GO_ZERO_TIME_MS} when never banned; never moves backwards. */
  lastBanTimeMs = GO_ZERO_TIME_MS;
  #state: KnownAddressState;

  /** Internal: position in the book's per-type list (O(1) random selection). */
  listIndex = -1;
  /** `addr.toString()`, cached: it is the bucket map key. */
  readonly key: string;

  constructor(addr: NetAddress, src: NetAddress, state: KnownAddressState, nowMs: number) {
    this.addr = addr;
    this.src = src;
    this.#state = state;
    this.lastAttemptMs = nowMs;
    this.key = addr.toString();
  }

  /** The node ID (book key). */
  get id(): string {
    return this.addr.id;
  }

  /** Current state. */
  get state(): KnownAddressState {
    return this.#state;
  }

  /** Bucket indices this entry occupies (empty when banned). */
  get buckets(): readonly number[] {
    const s = this.#state;
    return s.kind === "new" ? s.buckets : s.kind === "old" ? [s.bucket] : [];
  }

  /** True in state `new`. */
  isNew(): boolean {
    return this.#state.kind === "new";
  }

  /** True in state `old`. */
  isOld(): boolean {
    return this.#state.kind === "old";
  }

  /** new → new: one more new bucket (at most {@link MAX_NEW_BUCKETS_PER_ADDRESS}). */
  addNewBucket(idx: number): void {
    const s = this.#expect("new");
    if (s.buckets.includes(idx)) return;
    if (s.buckets.length >= MAX_NEW_BUCKETS_PER_ADDRESS) {
      throw new KnownAddressStateError(`${this.key}: already in ${s.buckets.length} new buckets`);
    }
    this.#state = { kind: "new", buckets: [...s.buckets, idx] };
  }

  /** new → new (or out of the book when it was the last bucket; returns the buckets left). */
  removeNewBucket(idx: number): number {
    const s = this.#expect("new");
    const buckets = s.buckets.filter((b) => b !== idx);
    this.#state = { kind: "new", buckets };
    return buckets.length;
  }

  /** new → old: the entry leaves every new bucket and occupies exactly one old bucket. */
  promote(oldBucket: number): void {
    this.#expect("new");
    this.#state = { kind: "old", bucket: oldBucket };
  }

  /** new|old → banned, until `untilMs` (extended, never shortened, by a later ban). */
  ban(reason: BanReason, untilMs: number): void {
    const s = this.#state;
    if (s.kind === "banned") {
      if (untilMs > s.untilMs) this.#state = { ...s, reason, untilMs };
    } else {
      this.#state = { kind: "banned", was: s.kind, reason, untilMs };
    }
    if (untilMs > this.lastBanTimeMs) this.lastBanTimeMs = untilMs;
  }

  /**
   * banned → new, into `newBucket`. An entry that was old is demoted (CometBFT v0.38 instead refuses
   * and forgets it; demotion keeps a once-good address around at the lowest trust level).
   */
  reinstate(newBucket: number): void {
    this.#expect("banned");
    this.#state = { kind: "new", buckets: [newBucket] };
  }

  /** The ban record while banned, else undefined. */
  banInfo(): { reason: BanReason; untilMs: number } | undefined {
    const s = this.#state;
    return s.kind === "banned" ? { reason: s.reason, untilMs: s.untilMs } : undefined;
  }

  /** A dial attempt failed (Go `markAttempt`). */
  markAttempt(nowMs: number): void {
    this.lastAttemptMs = nowMs;
    this.attempts++;
  }

  /** The peer proved useful (Go `markGood`): attempts reset, success and attempt time now. */
  markGood(nowMs: number): void {
    this.lastAttemptMs = nowMs;
    this.lastSuccessMs = nowMs;
    this.attempts = 0;
  }

  /**
   * Go's `isBad`: only new entries not attempted in the last minute; last attempt older than 7 days,
   * or ≥ 3 attempts and never a success, or ≥ 10 attempts and no success in 7 days.
   */
  isBad(nowMs: number): boolean {
    if (this.#state.kind === "old") return false;
    if (this.lastAttemptMs > nowMs - BAD_GRACE_MS) return false;
    if (this.lastAttemptMs < nowMs - NUM_MISSING_DAYS * DAY_MS) return true;
    if (this.lastSuccessMs === GO_ZERO_TIME_MS && this.attempts >= NUM_RETRIES) return true;
    return this.lastSuccessMs < nowMs - MIN_BAD_DAYS * DAY_MS && this.attempts >= MAX_FAILURES;
  }

  #expect<K extends KnownAddressState["kind"]>(
    kind: K,
  ): Extract<KnownAddressState, { kind: K }> {
    const s = this.#state;
    if (s.kind !== kind) {
      throw new KnownAddressStateError(`${this.key}: expected state ${kind}, is ${s.kind}`);
    }
    return s as Extract<KnownAddressState, { kind: K }>;
  }
}
