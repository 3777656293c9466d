/**
 * The PEX address book (CometBFT `p2p/pex/addrbook.go`, spec §9): new/old buckets, bucket hashing,
 * promotion and eviction, bans with typed reasons, and periodic atomic persistence in CometBFT's
 * `addrbook.json` format. Picking and selections are in `addrbook_select.ts`, the typed
 * `addAddress` rejections in `addrbook_errors.ts` (both re-exported here), the load/save service in
 * `addrbook_service.ts`.
 *
 * Entries are keyed by node ID. New entries occupy 1–4 of 256 new buckets, old (proven good) ones
 * exactly one of 64 old buckets; a bucket holds up to 65 entries (Go checks "more than 64" before
 * inserting). Banned entries leave every bucket and wait in the ban list until reinstated.
 *
 * @module
 */

import type { NetAddress } from "../netaddress.ts";
import type { Logger } from "../../libs/log.ts";
import { nopLogger } from "../../libs/log.ts";
import { BucketHasher, NEW_BUCKET_COUNT, newBookKey, OLD_BUCKET_COUNT } from "./bucket.ts";
import { type BanReason, KnownAddress, MAX_NEW_BUCKETS_PER_ADDRESS } from "./known_address.ts";
import type { AddrBookSnapshot } from "./addrbook_file.ts";
import { AddrBookService, type AddrBookStatus } from "./addrbook_service.ts";
import {
  AddrBookBannedError,
  AddrBookInvalidAddrError,
  AddrBookNilAddrError,
  AddrBookNonRoutableError,
  AddrBookPrivateError,
  AddrBookPrivateSrcError,
  AddrBookSelfError,
} from "./addrbook_errors.ts";
import {
  type AddrBookView,
  getSelection,
  getSelectionWithBias,
  pickAddress,
  SelectionLists,
} from "./addrbook_select.ts";

export { BOOK_KEY_HEX_LEN, NEW_BUCKET_COUNT, OLD_BUCKET_COUNT } from "./bucket.ts";
export type { BanReason } from "./known_address.ts";
export type { AddrBookStatus } from "./addrbook_service.ts";
// The error classes and the selection rules live in their own modules; re-exported so callers
// keep importing the whole book API from here.
export * from "./addrbook_errors.ts";
export {
  GET_SELECTION_PERCENT,
  MAX_GET_SELECTION,
  MIN_GET_SELECTION,
  selectionSize,
} from "./addrbook_select.ts";

/** Max entries of a new bucket before eviction (`newBucketSize`). */
export const NEW_BUCKET_SIZE = 64;
/** Max entries of an old bucket before eviction (`oldBucketSize`). */
export const OLD_BUCKET_SIZE = 64;
/** Below this many addresses the book asks for more (`needAddressThreshold`). */
export const NEED_ADDRESS_THRESHOLD = 1000;
/** Save period (`dumpAddressInterval`, 2 min). */
export const DUMP_ADDRESS_INTERVAL_MS = 2 * 60 * 1000;
/** Default ban length (`defaultBanTime`, 24 h) used by the PEX reactor. */
export const DEFAULT_BAN_TIME_MS = 24 * 60 * 60 * 1000;

/** Options of {@link AddrBook}. */
export interface AddrBookOptions {
  /** `addrbook.json` path; without it the book is memory-only. */
  filePath?: string;
  /** `addr_book_strict` (default true): refuse and group non-routable addresses. */
  routabilityStrict?: boolean;
  logger?: Logger;
  /** Uniform [0,1) source (tests inject a seeded one). */
  random?: () => number;
  /** Clock in Unix ms (tests inject one). */
  now?: () => number;
  /** HighwayHash key (32 bytes); random per process by default, as in Go. */
  hashKey?: Uint8Array;
  /** Save period; default {@link DUMP_ADDRESS_INTERVAL_MS}. */
  saveIntervalMs?: number;
}

/** The address book. Synchronous API; only persistence is async. */
export class AddrBook {
  readonly filePath: string | undefined;
  readonly routabilityStrict: boolean;
  #log: Logger;
  #random: () => number;
  #now: () => number;
  #hashKey: Uint8Array;
  #key = newBookKey();
  #hasher: BucketHasher;
  #ourAddrs = new Set<string>();
  #privateIds = new Set<string>();
  #lookup = new Map<string, KnownAddress>();
  #banned = new Map<string, KnownAddress>();
  #bucketsNew: Map<string, KnownAddress>[] = [];
  #bucketsOld: Map<string, KnownAddress>[] = [];
  // Flat per-type lists give O(1) uniform sampling for selections.
  #lists = new SelectionLists();
  readonly #service: AddrBookService;

  constructor(opts: AddrBookOptions = {}) {
    this.filePath = opts.filePath;
    this.routabilityStrict = opts.routabilityStrict ?? true;
    this.#log = (opts.logger ?? nopLogger).with({ book: opts.filePath ?? "(memory)" });
    this.#random = opts.random ?? Math.random;
    this.#now = opts.now ?? Date.now;
    this.#hashKey = opts.hashKey ?? crypto.getRandomValues(new Uint8Array(32));
    this.#hasher = new BucketHasher(this.#key, this.#hashKey, this.routabilityStrict);
    this.#resetBuckets();
    this.#service = new AddrBookService({
      filePath: this.filePath,
      log: this.#log,
      saveIntervalMs: opts.saveIntervalMs ?? DUMP_ADDRESS_INTERVAL_MS,
      snapshot: () => this.snapshot(),
      restore: (snap) => this.restore(snap),
      size: () => this.size(),
    });
  }

  /** The persisted bucket-placement key (24 hex chars). */
  get key(): string {
    return this.#key;
  }

  /** Lifecycle state. */
  get status(): AddrBookStatus {
    return this.#service.status;
  }

  // ---- service (addrbook_service.ts) ----------------------------------------------------------

  /** Loads the file (missing → empty; corrupt → moved aside) and starts the periodic save. */
  start(): Promise<void> {
    return this.#service.start();
  }

  /** Stops the periodic save, then saves once more. */
  stop(): Promise<void> {
    return this.#service.stop();
  }

  /** Writes the book atomically to {@link filePath} (no-op without a path). Never throws. */
  save(): Promise<void> {
    return this.#service.save();
  }

  // ---- our addresses, private IDs -------------------------------------------------------------

  /** Registers one of our own addresses (never added to the book). */
  addOurAddress(addr: NetAddress): void {
    this.#log.info("Add our address to book", { addr: addr.toString() });
    this.#ourAddrs.add(addr.toString());
  }

  /** Whether `addr` (full `id@ip:port`) is one of ours. */
  ourAddress(addr: NetAddress): boolean {
    return this.#ourAddrs.has(addr.toString());
  }

  /** IDs never stored, and whose gossip is never stored (`private_peer_ids`). */
  addPrivateIds(ids: Iterable<string>): void {
    for (const id of ids) this.#privateIds.add(id);
  }

  // ---- adding and removing --------------------------------------------------------------------

  /**
   * Adds `addr` learnt from `src` to a new bucket (spec §9.2). A known new entry is added to one
   * more new bucket with probability 1/(2×buckets), up to 4; a known old entry is left alone.
   * @throws AddrBookError subclasses, in Go's check order.
   */
  addAddress(addr: NetAddress | null | undefined, src: NetAddress | null | undefined): void {
    if (addr == null || src == null) throw new AddrBookNilAddrError(addr, src);
    const invalid = addr.invalidReason();
    if (invalid !== null) throw new AddrBookInvalidAddrError(addr, invalid);
    if (this.#banned.has(addr.id)) throw new AddrBookBannedError(addr);
    if (this.#privateIds.has(addr.id)) throw new AddrBookPrivateError(addr);
    if (this.#privateIds.has(src.id)) throw new AddrBookPrivateSrcError(src);
    if (this.#ourAddrs.has(addr.toString())) throw new AddrBookSelfError(addr);
    if (this.routabilityStrict && !addr.routable()) throw new AddrBookNonRoutableError(addr);

    let ka = this.#lookup.get(addr.id);
    if (ka) {
      // Keyed by ID: an old entry keeps its address (no eclipse by re-announcing a known ID).
      if (ka.isOld()) return;
      const n = ka.buckets.length;
      if (n >= MAX_NEW_BUCKETS_PER_ADDRESS) return;
      if (Math.floor(this.#random() * 2 * n) !== 0) return;
    } else {
      ka = new KnownAddress(addr, src, { kind: "new", buckets: [] }, this.#now());
    }
    this.#addToNewBucket(ka, this.#hasher.newBucket(addr, src));
  }

  /** Removes the entry with `addr`'s ID from the book (not from the ban list). */
  removeAddress(addr: NetAddress): void {
    const ka = this.#lookup.get(addr.id);
    if (!ka) return;
    this.#log.debug("Remove address from book", { addr: ka.key });
    this.#removeFromAllBuckets(ka);
  }

  // ---- queries --------------------------------------------------------------------------------

  /** Whether the ID is in the book (new or old). */
  hasAddress(addr: NetAddress): boolean {
    return this.#lookup.has(addr.id);
  }

  /** The entry with this ID (new or old; not banned ones), as a live read-only object. */
  knownAddress(id: string): KnownAddress | undefined {
    return this.#lookup.get(id);
  }

  /** Entries in old buckets, as a live read-only view (no copy; do not hold across changes). */
  get oldEntries(): readonly KnownAddress[] {
    return this.#lists.oldList;
  }

  /** Whether the ID is old (was marked good). */
  isGood(addr: NetAddress): boolean {
    return this.#lookup.get(addr.id)?.isOld() ?? false;
  }

  /** Whether the ID is in the ban list (until reinstated, as in Go). */
  isBanned(addr: NetAddress): boolean {
    return this.#banned.has(addr.id);
  }

  /** Ban reason and end for a banned ID. */
  banInfo(id: string): { reason: BanReason; untilMs: number } | undefined {
    return this.#banned.get(id)?.banInfo();
  }

  /** Fewer than {@link NEED_ADDRESS_THRESHOLD} addresses. */
  needMoreAddrs(): boolean {
    return this.size() < NEED_ADDRESS_THRESHOLD;
  }

  /** Number of addresses in buckets (new + old; banned ones excluded). */
  size(): number {
    return this.#lists.newList.length + this.#lists.oldList.length;
  }

  /** Entries in new buckets. */
  get nNew(): number {
    return this.#lists.newList.length;
  }

  /** Entries in old buckets. */
  get nOld(): number {
    return this.#lists.oldList.length;
  }

  /** No addresses. */
  empty(): boolean {
    return this.size() === 0;
  }

  /** Every entry in the book (new and old), as live read-only objects. */
  listOfKnownAddresses(): readonly KnownAddress[] {
    return [...this.#lists.newList, ...this.#lists.oldList];
  }

  /** Every banned entry. */
  listOfBanned(): readonly KnownAddress[] {
    return [...this.#banned.values()];
  }

  /** Number of entries in one bucket (tests and metrics). */
  bucketSize(type: "new" | "old", idx: number): number {
    return (type === "new" ? this.#bucketsNew : this.#bucketsOld)[idx]?.size ?? 0;
  }

  // ---- picking and selections -----------------------------------------------------------------

  /** A random address to dial, old vs new weighted by sqrt(count) × bias (spec §9.4). */
  pickAddress(biasTowardsNewAddrs: number): NetAddress | undefined {
    return pickAddress(this.#view(), biasTowardsNewAddrs, this.#random);
  }

  /** Uniform random selection of {@link selectionSize} addresses (PexAddrs answer). */
  getSelection(): NetAddress[] {
    return getSelection(this.#view(), this.#random);
  }

  /**
   * Selection with `bias`% new addresses first (at least enough to fill when old ones run short),
   * then old ones (seed mode uses 30).
   */
  getSelectionWithBias(biasTowardsNewAddrs: number): NetAddress[] {
    return getSelectionWithBias(this.#view(), biasTowardsNewAddrs, this.#random);
  }

  /** The live buckets and lists, for the sampling functions. */
  #view(): AddrBookView {
    return {
      bucketsNew: this.#bucketsNew,
      bucketsOld: this.#bucketsOld,
      newList: this.#lists.newList,
      oldList: this.#lists.oldList,
    };
  }

  // ---- marking --------------------------------------------------------------------------------

  /** The peer proved useful: attempts reset and the entry moves to an old bucket (spec §9.3). */
  markGood(id: string): void {
    const ka = this.#lookup.get(id);
    if (!ka) return;
    ka.markGood(this.#now());
    if (ka.isNew()) this.#moveToOld(ka);
  }

  /** A dial to `addr`'s ID failed. */
  markAttempt(addr: NetAddress): void {
    this.#lookup.get(addr.id)?.markAttempt(this.#now());
  }

  /**
   * Bans `addr`'s ID for `durationMs` (only if it is in the book or already banned; an existing ban
   * is extended, never shortened) and takes it out of every bucket.
   */
  markBad(addr: NetAddress, durationMs: number, reason: BanReason = "other"): void {
    const until = this.#now() + durationMs;
    const banned = this.#banned.get(addr.id);
    if (banned) {
      banned.ban(reason, until);
      return;
    }
    const ka = this.#lookup.get(addr.id);
    if (!ka) return;
    this.#removeFromAllBuckets(ka);
    ka.ban(reason, until);
    this.#banned.set(ka.id, ka);
    this.#log.info("Add address to blacklist", { addr: ka.key, reason, until: new Date(until) });
  }

  /** Every ban that has expired ends; the entry goes back into a new bucket from its stored source. */
  reinstateBadPeers(): void {
    const now = this.#now();
    for (const ka of [...this.#banned.values()]) {
      const info = ka.banInfo();
      if (!info || info.untilMs > now) continue;
      this.#banned.delete(ka.id);
      if (this.#lookup.has(ka.id)) continue; // re-learnt meanwhile (cannot happen; defensive)
      const bucket = this.#hasher.newBucket(ka.addr, ka.src);
      if (this.#bucketsNew[bucket].size > NEW_BUCKET_SIZE) this.#expireNew(bucket);
      ka.reinstate(bucket);
      this.#placeNew(ka, bucket);
      this.#log.info("Reinstated address", { addr: ka.key, reason: info.reason });
    }
  }

  // ---- persistence hooks ----------------------------------------------------------------------

  /** The book as persisted (key, in-bucket entries, ban list). */
  snapshot(): AddrBookSnapshot {
    return {
      key: this.#key,
      addrs: this.listOfKnownAddresses(),
      banned: this.listOfBanned(),
    };
  }

  /**
   * Replaces the content with a loaded snapshot: saved bucket indices are kept (the hash key is
   * per process, so they could not be recomputed anyway).
   */
  restore(snap: AddrBookSnapshot): void {
    this.#key = snap.key;
    this.#hasher = new BucketHasher(this.#key, this.#hashKey, this.routabilityStrict);
    this.#resetBuckets();
    for (const ka of snap.addrs) {
      if (this.#lookup.has(ka.id)) continue;
      const s = ka.state;
      if (s.kind === "old") {
        this.#bucketsOld[s.bucket].set(ka.key, ka);
        this.#lists.add(ka);
        this.#lookup.set(ka.id, ka);
      } else if (s.kind === "new" && s.buckets.length > 0) {
        for (const b of s.buckets) this.#bucketsNew[b].set(ka.key, ka);
        this.#lists.add(ka);
        this.#lookup.set(ka.id, ka);
      }
    }
    for (const ka of snap.banned) {
      if (!this.#lookup.has(ka.id) && ka.state.kind === "banned") this.#banned.set(ka.id, ka);
    }
  }

  // ---- bucket internals -----------------------------------------------------------------------

  #resetBuckets(): void {
    this.#bucketsNew = Array.from({ length: NEW_BUCKET_COUNT }, () => new Map());
    this.#bucketsOld = Array.from({ length: OLD_BUCKET_COUNT }, () => new Map());
    this.#lists.clear();
    this.#lookup.clear();
    this.#banned.clear();
  }

  #addToNewBucket(ka: KnownAddress, idx: number): void {
    const bucket = this.#bucketsNew[idx];
    if (bucket.has(ka.key)) return;
    if (bucket.size > NEW_BUCKET_SIZE) this.#expireNew(idx);
    ka.addNewBucket(idx);
    this.#placeNew(ka, idx);
  }

  /** Puts a new-state entry that already lists `idx` into that bucket (room made by the caller). */
  #placeNew(ka: KnownAddress, idx: number): void {
    this.#bucketsNew[idx].set(ka.key, ka);
    if (ka.buckets.length === 1) {
      this.#lists.add(ka);
      this.#lookup.set(ka.id, ka);
    }
  }

  /** Makes room in a full new bucket: the first bad entry, else the one attempted longest ago. */
  #expireNew(idx: number): void {
    const bucket = this.#bucketsNew[idx];
    const now = this.#now();
    let victim: KnownAddress | undefined;
    for (const ka of bucket.values()) {
      if (ka.isBad(now)) {
        victim = ka;
        break;
      }
    }
    if (!victim) victim = this.#pickOldest(bucket);
    if (!victim) return;
    this.#log.debug("new bucket is full, expiring new", { addr: victim.key });
    bucket.delete(victim.key);
    if (victim.removeNewBucket(idx) === 0) this.#forget(victim);
  }

  #pickOldest(bucket: Map<string, KnownAddress>): KnownAddress | undefined {
    let oldest: KnownAddress | undefined;
    for (const ka of bucket.values()) {
      if (!oldest || ka.lastAttemptMs < oldest.lastAttemptMs) oldest = ka;
    }
    return oldest;
  }

  /**
   * new → old. When the target old bucket already holds more than 64, its entry attempted longest
   * ago drops out of the book (what v0.38 ends up doing: its demotion to a new bucket is refused).
   */
  #moveToOld(ka: KnownAddress): void {
    this.#removeFromAllBuckets(ka);
    const idx = this.#hasher.oldBucket(ka.addr);
    const bucket = this.#bucketsOld[idx];
    if (bucket.size > OLD_BUCKET_SIZE) {
      const oldest = this.#pickOldest(bucket);
      if (oldest) {
        this.#log.debug("old bucket is full, dropping oldest", { addr: oldest.key, bucket: idx });
        bucket.delete(oldest.key);
        this.#forget(oldest);
      }
    }
    ka.promote(idx);
    bucket.set(ka.key, ka);
    this.#lists.add(ka);
    this.#lookup.set(ka.id, ka);
  }

  /** Out of every bucket and out of the lookup; the state is left for the caller to transition. */
  #removeFromAllBuckets(ka: KnownAddress): void {
    const s = ka.state;
    if (s.kind === "new") { for (const b of s.buckets) this.#bucketsNew[b].delete(ka.key); }
    else if (s.kind === "old") this.#bucketsOld[s.bucket].delete(ka.key);
    this.#forget(ka);
  }

  #forget(ka: KnownAddress): void {
    if (this.#lookup.get(ka.id) === ka) this.#lookup.delete(ka.id);
    this.#lists.remove(ka);
  }
}
