/**
 * The PEX address book (CometBFT `p2p/pex/addrbook.go`, spec §9): new/old buckets, bucket hashing,
 * promotion and eviction, biased picking, selections for PexAddrs, bans with typed reasons, and
 * periodic atomic persistence in CometBFT's `addrbook.json` format.
 *
 * Entries are keyed by node ID. New entries occupy 1–4 of 256 new buckets, old (proven good) ones
 * exactly one of 64 old buckets; a bucket holds up to 65 entries (Go checks "more than 64" before
 * inserting). Banned entries leave every bucket and wait in the ban list until reinstated.
 *
 * @module
 */

import type { NetAddress } from "../netaddress.ts";
import { AlreadyStartedError, NotStartedError, P2PError } from "../errors.ts";
import type { Logger } from "../../libs/log.ts";
import { nopLogger } from "../../libs/log.ts";
import { BucketHasher, NEW_BUCKET_COUNT, OLD_BUCKET_COUNT } from "./bucket.ts";
import { type BanReason, KnownAddress, MAX_NEW_BUCKETS_PER_ADDRESS } from "./known_address.ts";
import { type AddrBookSnapshot, loadAddrBookFile, saveAddrBookFile } from "./addrbook_file.ts";

export { NEW_BUCKET_COUNT, OLD_BUCKET_COUNT } from "./bucket.ts";
export type { BanReason } from "./known_address.ts";

/** Max entries of a new bucket before eviction (`newBucketSize`). */
export const NEW_BUCKET_SIZE = 64;
/** Max entries of an old bucket before eviction (`oldBucketSize`). */
export const OLD_BUCKET_SIZE = 64;
/** Below this many addresses the book asks for more (`needAddressThreshold`). */
export const NEED_ADDRESS_THRESHOLD = 1000;
/** Save period (`dumpAddressInterval`, 2 min). */
export const DUMP_ADDRESS_INTERVAL_MS = 2 * 60 * 1000;
/** Percentage of the book returned by a selection (`getSelectionPercent`). */
export const GET_SELECTION_PERCENT = 23;
/** Minimum selection size (`minGetSelection`), bounded by the book size. */
export const MIN_GET_SELECTION = 32;
/** Maximum selection size (`maxGetSelection`), what fits a PexAddrs message. */
export const MAX_GET_SELECTION = 250;
/** Default ban length (`defaultBanTime`, 24 h) used by the PEX reactor. */
export const DEFAULT_BAN_TIME_MS = 24 * 60 * 60 * 1000;
/** Length in hex chars of the persisted book key. */
export const BOOK_KEY_HEX_LEN = 24;

/** Why `addAddress` refused an address, in the order the checks run. */
export type AddrBookRejection =
  | "nil"
  | "invalid"
  | "banned"
  | "private"
  | "privateSrc"
  | "self"
  | "nonRoutable";

/** Base of the typed `addAddress` rejections (Go `ErrAddrBook*`). */
export class AddrBookError extends P2PError {
  /** Which check refused the address. */
  readonly reason: AddrBookRejection;
  constructor(reason: AddrBookRejection, message: string) {
    super("rejected", message);
    this.reason = reason;
  }
}
/** addr or src missing. */
export class AddrBookNilAddrError extends AddrBookError {
  constructor(addr: unknown, src: unknown) {
    super("nil", `Cannot add a nil address. Got (addr, src) = (${addr}, ${src})`);
  }
}
/** `!addr.valid()`. */
export class AddrBookInvalidAddrError extends AddrBookError {
  constructor(addr: NetAddress, why: string) {
    super("invalid", `Cannot add invalid address ${addr}: ${why}`);
  }
}
/** The ID is in the ban list. */
export class AddrBookBannedError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("banned", `Address: ${addr} is currently banned`);
  }
}
/** The address's ID is private. */
export class AddrBookPrivateError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("private", `Cannot add private peer with address ${addr}`);
  }
}
/** The source's ID is private (we never gossip what private peers told us). */
export class AddrBookPrivateSrcError extends AddrBookError {
  constructor(src: NetAddress) {
    super("privateSrc", `Cannot add peer coming from private peer with address ${src}`);
  }
}
/** One of our own addresses. */
export class AddrBookSelfError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("self", `Cannot add ourselves with address ${addr}`);
  }
}
/** Strict mode and not routable. */
export class AddrBookNonRoutableError extends AddrBookError {
  constructor(addr: NetAddress) {
    super("nonRoutable", `Cannot add non-routable address ${addr}`);
  }
}

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

/** Service lifecycle of the book. */
export type AddrBookStatus =
  | { readonly code: "inactive" }
  | { readonly code: "active"; readonly controller: AbortController; readonly loop: Promise<void> }
  | { readonly code: "stopped" };

/** Selection size for a book of `size` entries (spec §8.3). */
export function selectionSize(size: number): number {
  if (size <= 0) return 0;
  const n = Math.max(
    Math.min(MIN_GET_SELECTION, size),
    Math.floor(size * GET_SELECTION_PERCENT / 100),
  );
  return Math.min(MAX_GET_SELECTION, n);
}

function randomHex(chars: number): string {
  const b = crypto.getRandomValues(new Uint8Array(Math.ceil(chars / 2)));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").slice(0, chars);
}

/** The address book. Synchronous API; only persistence is async. */
export class AddrBook {
  readonly filePath: string | undefined;
  readonly routabilityStrict: boolean;
  #log: Logger;
  #random: () => number;
  #now: () => number;
  #hashKey: Uint8Array;
  #saveIntervalMs: number;
  #key = randomHex(BOOK_KEY_HEX_LEN);
  #hasher: BucketHasher;
  #ourAddrs = new Set<string>();
  #privateIds = new Set<string>();
  #lookup = new Map<string, KnownAddress>();
  #banned = new Map<string, KnownAddress>();
  #bucketsNew: Map<string, KnownAddress>[] = [];
  #bucketsOld: Map<string, KnownAddress>[] = [];
  // Flat per-type lists give O(1) uniform sampling for selections.
  #newList: KnownAddress[] = [];
  #oldList: KnownAddress[] = [];
  #status: AddrBookStatus = { code: "inactive" };

  constructor(opts: AddrBookOptions = {}) {
    this.filePath = opts.filePath;
    this.routabilityStrict = opts.routabilityStrict ?? true;
    this.#log = (opts.logger ?? nopLogger).with({ book: opts.filePath ?? "(memory)" });
    this.#random = opts.random ?? Math.random;
    this.#now = opts.now ?? Date.now;
    this.#hashKey = opts.hashKey ?? crypto.getRandomValues(new Uint8Array(32));
    this.#saveIntervalMs = opts.saveIntervalMs ?? DUMP_ADDRESS_INTERVAL_MS;
    this.#hasher = new BucketHasher(this.#key, this.#hashKey, this.routabilityStrict);
    this.#resetBuckets();
  }

  /** The persisted bucket-placement key (24 hex chars). */
  get key(): string {
    return this.#key;
  }

  /** Lifecycle state. */
  get status(): AddrBookStatus {
    return this.#status;
  }

  // ---- service --------------------------------------------------------------------------------

  /** Loads the file (missing → empty; corrupt → moved aside) and starts the periodic save. */
  async start(): Promise<void> {
    if (this.#status.code !== "inactive") throw new AlreadyStartedError("addrbook already started");
    if (this.filePath) {
      const snap = await loadAddrBookFile(this.filePath, this.#log);
      if (snap) this.restore(snap);
    }
    const controller = new AbortController();
    const loop = this.#saveLoop(controller.signal);
    this.#status = { code: "active", controller, loop };
  }

  /** Stops the periodic save, then saves once more. */
  async stop(): Promise<void> {
    const s = this.#status;
    if (s.code !== "active") throw new NotStartedError("addrbook not started");
    this.#status = { code: "stopped" };
    s.controller.abort();
    await s.loop;
    await this.save();
  }

  /** Writes the book atomically to {@link filePath} (no-op without a path). Never throws. */
  async save(): Promise<void> {
    if (!this.filePath) return;
    this.#log.info("Saving AddrBook to file", { size: this.size() });
    try {
      await saveAddrBookFile(this.filePath, this.snapshot());
    } catch (err) {
      this.#log.error("Failed to save AddrBook to file", { file: this.filePath, err: String(err) });
    }
  }

  async #saveLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const tick = Promise.withResolvers<void>();
      const timer = setTimeout(tick.resolve, this.#saveIntervalMs);
      const onAbort = () => tick.resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      await tick.promise;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (!signal.aborted) await this.save();
    }
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
    this.#log.info("Remove address from book", { addr: ka.key });
    this.#removeFromAllBuckets(ka);
  }

  // ---- queries --------------------------------------------------------------------------------

  /** Whether the ID is in the book (new or old). */
  hasAddress(addr: NetAddress): boolean {
    return this.#lookup.has(addr.id);
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
    return this.#newList.length + this.#oldList.length;
  }

  /** Entries in new buckets. */
  get nNew(): number {
    return this.#newList.length;
  }

  /** Entries in old buckets. */
  get nOld(): number {
    return this.#oldList.length;
  }

  /** No addresses. */
  empty(): boolean {
    return this.size() === 0;
  }

  /** Every entry in the book (new and old), as live read-only objects. */
  listOfKnownAddresses(): readonly KnownAddress[] {
    return [...this.#newList, ...this.#oldList];
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

  /**
   * A random address to dial: old vs new weighted by sqrt(count) × bias (spec §9.4), then a random
   * non-empty bucket and a random entry in it. `undefined` when the chosen class is empty.
   */
  pickAddress(biasTowardsNewAddrs: number): NetAddress | undefined {
    const nNew = this.#newList.length, nOld = this.#oldList.length;
    if (nNew + nOld === 0) return undefined;
    const bias = Math.min(100, Math.max(0, biasTowardsNewAddrs));
    const oldWeight = Math.sqrt(nOld) * (100 - bias);
    const newWeight = Math.sqrt(nNew) * bias;
    const pickOld = (oldWeight + newWeight) * this.#random() < oldWeight;
    if ((pickOld && nOld === 0) || (!pickOld && nNew === 0)) return undefined;
    const buckets = pickOld ? this.#bucketsOld : this.#bucketsNew;
    let bucket = buckets[Math.floor(this.#random() * buckets.length)];
    while (bucket.size === 0) bucket = buckets[Math.floor(this.#random() * buckets.length)];
    let i = Math.floor(this.#random() * bucket.size);
    for (const ka of bucket.values()) if (i-- === 0) return ka.addr;
    return undefined;
  }

  /** Uniform random selection of {@link selectionSize} addresses (PexAddrs answer). */
  getSelection(): NetAddress[] {
    const nNew = this.#newList.length;
    const idx = this.#sample(this.size(), selectionSize(this.size()));
    return idx.map((i) => (i < nNew ? this.#newList[i] : this.#oldList[i - nNew]).addr);
  }

  /**
   * Selection with `bias`% new addresses first (at least enough to fill when old ones run short),
   * then old ones (seed mode uses 30).
   */
  getSelectionWithBias(biasTowardsNewAddrs: number): NetAddress[] {
    const n = selectionSize(this.size());
    if (n === 0) return [];
    const bias = Math.min(100, Math.max(0, biasTowardsNewAddrs));
    const wantNew = Math.max(Math.round(bias / 100 * n), n - this.#oldList.length);
    const out = this.#sample(this.#newList.length, Math.min(wantNew, n))
      .map((i) => this.#newList[i].addr);
    for (const i of this.#sample(this.#oldList.length, n - out.length)) {
      out.push(this.#oldList[i].addr);
    }
    return out;
  }

  /** `k` distinct uniform indices of [0, n) (partial Fisher–Yates over a sparse swap map). */
  #sample(n: number, k: number): number[] {
    k = Math.min(k, n);
    const swaps = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.#random() * (n - i));
      const vj = swaps.get(j) ?? j;
      swaps.set(j, swaps.get(i) ?? i);
      out.push(vj);
    }
    return out;
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
        this.#listAdd(ka);
        this.#lookup.set(ka.id, ka);
      } else if (s.kind === "new" && s.buckets.length > 0) {
        for (const b of s.buckets) this.#bucketsNew[b].set(ka.key, ka);
        this.#listAdd(ka);
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
    this.#newList = [];
    this.#oldList = [];
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
      this.#listAdd(ka);
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
    this.#log.info("new bucket is full, expiring new", { addr: victim.key });
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
        this.#log.info("old bucket is full, dropping oldest", { addr: oldest.key, bucket: idx });
        bucket.delete(oldest.key);
        this.#forget(oldest);
      }
    }
    ka.promote(idx);
    bucket.set(ka.key, ka);
    this.#listAdd(ka);
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
    this.#listRemove(ka);
  }

  #listAdd(ka: KnownAddress): void {
    const list = ka.isOld() ? this.#oldList : this.#newList;
    ka.listIndex = list.length;
    list.push(ka);
  }

  #listRemove(ka: KnownAddress): void {
    const i = ka.listIndex;
    if (i < 0) return;
    for (const list of [this.#newList, this.#oldList]) {
      if (list[i] !== ka) continue;
      const last = list.pop()!;
      if (last !== ka) {
        list[i] = last;
        last.listIndex = i;
      }
      break;
    }
    ka.listIndex = -1;
  }
}
