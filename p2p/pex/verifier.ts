/**
 * Liveness verification of a seed's address book (a switchyard extra; CometBFT seeds serve
 * whatever they heard). Every address in the book is dialed with a real handshake — TCP,
 * SecretConnection (the ID must match), NodeInfo exchange (the network must match) — and the
 * connection is closed right after; it never becomes a peer. Only addresses whose last check
 * succeeded are served. Each address is re-checked every `recheckPeriodMs`; one that stays dead
 * for `addressExpiryMs` is removed from the book. Verification runs in a bounded worker pool
 * whose dial starts are rate-limited. Status lives in memory only.
 * @module
 */
import type { AddrBook, BanReason } from "./addrbook.ts";
import { clampBias, selectionSize } from "./addrbook_select.ts";
import type { NetAddress } from "../netaddress.ts";
import {
  AuthSigError,
  FrameError,
  IdMismatchError,
  IncompatibleNodeInfoError,
  InvalidNodeInfoError,
  MessageTooLargeError,
  SelfConnectionError,
} from "../errors.ts";
import { ConnRejectedError } from "../transport.ts";
import { abortableSleep } from "../reconnect.ts";
import { type Logger, nopLogger } from "../../libs/log.ts";

/** How often the book is scanned for addresses due for a (re)check. */
export const DEFAULT_VERIFY_SCAN_INTERVAL_MS = 1_000;

/** Verification state of one address. */
export type VerifyState = "pending" | "live" | "dead";

/** What the verifier knows about one address (keyed by node ID). */
export interface VerifyRecord {
  addr: NetAddress;
  state: VerifyState;
  /** Unix ms of the last finished check (0 = never). */
  lastCheckMs: number;
  /** Unix ms of the last successful check (0 = never). */
  lastLiveMs: number;
  /** Unix ms of the first failure since the last success (0 = not dead). */
  deadSinceMs: number;
  /** Failed checks since the last success. */
  failures: number;
  /** Text of the last failure. */
  lastError: string;
  /** @internal position in the live list (-1 = not live). */
  liveIndex: number;
}

/** The result of one check, as {@link classifyVerifyError} sees it. */
export type VerifyOutcome =
  | { readonly kind: "live" }
  | { readonly kind: "dead"; readonly error: string }
  | { readonly kind: "ban"; readonly reason: BanReason; readonly error: string }
  | { readonly kind: "self" }
  | { readonly kind: "denied"; readonly error: string }
  | { readonly kind: "inconclusive"; readonly error: string };

/** Dials, handshakes and closes; resolves when the handshake succeeded, rejects with its error. */
export type VerifyDial = (addr: NetAddress, signal: AbortSignal) => Promise<void>;

/**
 * Maps a failed verification to what it means for the address. Only failures that prove the
 * address lies are bans: a wrong key or ID there, an invalid NodeInfo (bad_handshake), another
 * network (incompatible_network). Refused connections, timeouts and early EOFs only mean
 * "dead now" — a node at its connection limit looks like that too.
 */
export function classifyVerifyError(e: unknown): VerifyOutcome {
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (e instanceof IncompatibleNodeInfoError) {
    return { kind: "ban", reason: "incompatible_network", error };
  }
  if (
    e instanceof IdMismatchError || e instanceof AuthSigError || e instanceof FrameError ||
    e instanceof MessageTooLargeError || e instanceof InvalidNodeInfoError
  ) {
    return { kind: "ban", reason: "bad_handshake", error };
  }
  if (e instanceof SelfConnectionError) return { kind: "self" };
  if (e instanceof ConnRejectedError) {
    return e.reason === "denied" ? { kind: "denied", error } : { kind: "inconclusive", error };
  }
  return { kind: "dead", error };
}

/** Options of {@link AddressVerifier}. */
export interface VerifierOptions {
  book: AddrBook;
  dial: VerifyDial;
  /**
   * True if we hold an outbound connection to this ID (a handshake at that very address, so no
   * dial is needed). Inbound connections prove nothing about the listen address.
   */
  isConnected(id: string): boolean;
  /** Concurrent checks (`p2p.seed.verify_workers`). */
  workers: number;
  /** Check starts per second (`p2p.seed.verify_rate`, 0 = unlimited). */
  ratePerSec: number;
  /** `p2p.seed.recheck_period`. */
  recheckPeriodMs: number;
  /** `p2p.seed.address_expiry`. */
  addressExpiryMs: number;
  /** Ban length for addresses that fail verification in a way that proves them wrong. */
  banTimeMs: number;
  scanIntervalMs?: number;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
}

/** Spaces dial starts `1000 / rate` ms apart across all workers (also used by `crawler/`). */
export class StartSpacer {
  #next = 0;
  constructor(readonly ratePerSec: number, readonly now: () => number) {}
  async take(signal: AbortSignal): Promise<void> {
    if (this.ratePerSec <= 0) return;
    const now = this.now();
    const at = Math.max(now, this.#next);
    this.#next = at + 1000 / this.ratePerSec;
    if (at > now) await abortableSleep(at - now, signal);
  }
}

/** The verifier. `start` runs the scan loop and the workers; `stop` ends and awaits them. */
export class AddressVerifier {
  readonly #o: VerifierOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #records = new Map<string, VerifyRecord>();
  readonly #live: VerifyRecord[] = [];
  #perm = new Int32Array(0);
  readonly #queue: VerifyRecord[] = [];
  readonly #queued = new Set<string>();
  readonly #spacer: StartSpacer;
  #ac: AbortController | undefined;
  #loops: Promise<void>[] = [];
  #workWaiters: (() => void)[] = [];
  #scanWaker: (() => void) | undefined;

  constructor(opts: VerifierOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.logger ?? nopLogger;
    this.#spacer = new StartSpacer(opts.ratePerSec, this.#now);
  }

  /** Starts the scan loop and `workers` workers. */
  start(): void {
    if (this.#ac) return;
    const ac = new AbortController();
    this.#ac = ac;
    this.#loops.push(this.#scanLoop(ac.signal));
    for (let i = 0; i < Math.max(1, this.#o.workers); i++) {
      this.#loops.push(this.#worker(ac.signal));
    }
  }

  /** Aborts every check in flight and waits for the loops. */
  async stop(): Promise<void> {
    this.#ac?.abort();
    this.#wakeWorkers();
    this.#scanWaker?.();
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  /** Asks for an early scan (new addresses arrived). */
  wake(): void {
    this.#scanWaker?.();
  }

  /** Records that `addr` answered a real handshake just now (e.g. we connected to it). */
  markLive(addr: NetAddress): void {
    if (!this.#o.book.hasAddress(addr)) return;
    const rec = this.#record(addr);
    this.#apply(rec, { kind: "live" });
  }

  /** The record of an ID, if any. */
  record(id: string): Readonly<VerifyRecord> | undefined {
    return this.#records.get(id);
  }

  /** Whether the ID's last check succeeded. */
  isLive(id: string): boolean {
    return this.#records.get(id)?.state === "live";
  }

  /** Number of addresses currently verified live. */
  get liveCount(): number {
    return this.#live.length;
  }

  /**
   * A PexAddrs selection drawn only from verified-live addresses still in the book:
   * `selectionSize(live)` addresses, about `biasNew`% of them new (unproven) ones, the rest old.
   */
  selection(biasNew: number, allow?: (a: NetAddress) => boolean): NetAddress[] {
    const book = this.#o.book;
    const pool = this.#live;
    const len = pool.length;
    const n = selectionSize(len);
    const wantNew = Math.round(clampBias(biasNew) / 100 * n);
    // Eligible old addresses in the pool, counted from the book's old list (short on a seed,
    // where addresses rarely turn old): once all were met, and the new quota is full, no later
    // draw can change the answer, so the scan stops instead of walking the whole pool.
    // Over-counting only delays that stop.
    let oldLeft = 0;
    for (const ka of book.oldEntries) {
      const rec = this.#records.get(ka.id);
      if (rec !== undefined && rec.liveIndex >= 0 && this.#eligible(rec.addr, allow) === "old") {
        oldLeft++;
      }
    }
    const newer: NetAddress[] = [], older: NetAddress[] = [], spare: NetAddress[] = [];
    // Partial Fisher–Yates over a reused index array, drawing `random()` exactly as
    // `shuffledIndices` does (one draw per index taken, none after the last).
    const perm = this.#permutation(len);
    for (let i = 0; i < len; i++) {
      const j = i + Math.floor(this.#random() * (len - i));
      const idx = perm[j];
      perm[j] = perm[i];
      const addr = pool[idx].addr;
      const kind = this.#eligible(addr, allow);
      if (kind === undefined) continue;
      const old = kind === "old";
      if (old) oldLeft--;
      if (!old && newer.length < wantNew) newer.push(addr);
      else if (old && older.length < n - wantNew) older.push(addr);
      else spare.push(addr);
      const placed = newer.length + older.length;
      if (placed >= n) break;
      // Later draws could only add to `spare`, beyond the part of it the answer uses.
      if (
        newer.length >= wantNew && (older.length >= n - wantNew || oldLeft <= 0) &&
        placed + spare.length >= n
      ) break;
    }
    const picked = newer;
    for (const a of older) picked.push(a);
    for (const a of spare) {
      if (picked.length >= n) break;
      picked.push(a);
    }
    return picked;
  }

  /** `undefined` when `addr` may not be served (not in the book, banned, refused by `allow`). */
  #eligible(
    addr: NetAddress,
    allow: ((a: NetAddress) => boolean) | undefined,
  ): "old" | "new" | undefined {
    const book = this.#o.book;
    const ka = book.knownAddress(addr.id);
    if (ka === undefined || book.isBanned(addr) || (allow !== undefined && !allow(addr))) {
      return undefined;
    }
    return ka.isOld() ? "old" : "new";
  }

  /** The identity permutation of [0, n) in a buffer reused across selections. */
  #permutation(n: number): Int32Array {
    if (this.#perm.length < n) this.#perm = new Int32Array(Math.max(n, 2 * this.#perm.length));
    const perm = this.#perm;
    for (let i = 0; i < n; i++) perm[i] = i;
    return perm;
  }

  /** One scan: forget IDs that left the book, queue those never checked or due a recheck. */
  scanOnce(): void {
    const book = this.#o.book;
    const now = this.#now();
    for (const [id, rec] of this.#records) {
      if (!book.hasAddress(rec.addr)) this.#forget(id);
    }
    let added = false;
    for (const ka of book.listOfKnownAddresses()) {
      const rec = this.#record(ka.addr);
      if (this.#queued.has(ka.id)) continue;
      if (rec.lastCheckMs !== 0 && now - rec.lastCheckMs < this.#o.recheckPeriodMs) continue;
      this.#queued.add(ka.id);
      this.#queue.push(rec);
      added = true;
    }
    if (added) this.#wakeWorkers();
  }

  async #scanLoop(signal: AbortSignal): Promise<void> {
    const interval = this.#o.scanIntervalMs ?? DEFAULT_VERIFY_SCAN_INTERVAL_MS;
    while (!signal.aborted) {
      this.scanOnce();
      const tick = Promise.withResolvers<void>();
      const timer = setTimeout(tick.resolve, interval);
      this.#scanWaker = tick.resolve;
      await tick.promise;
      clearTimeout(timer);
      this.#scanWaker = undefined;
    }
  }

  async #worker(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const rec = this.#queue.shift();
      if (rec === undefined) {
        const w = Promise.withResolvers<void>();
        this.#workWaiters.push(w.resolve);
        await w.promise;
        continue;
      }
      try {
        await this.#spacer.take(signal);
        await this.#check(rec, signal);
      } catch (e) {
        if (!signal.aborted) this.#log.error("Address verification failed", { err: e });
      } finally {
        this.#queued.delete(rec.addr.id);
      }
    }
  }

  async #check(rec: VerifyRecord, signal: AbortSignal): Promise<void> {
    const addr = rec.addr;
    if (this.#records.get(addr.id) !== rec || !this.#o.book.hasAddress(addr)) return;
    let outcome: VerifyOutcome;
    if (this.#o.isConnected(addr.id)) {
      outcome = { kind: "live" };
    } else {
      try {
        await this.#o.dial(addr, signal);
        outcome = { kind: "live" };
      } catch (e) {
        if (signal.aborted) return;
        outcome = classifyVerifyError(e);
      }
    }
    if (this.#records.get(addr.id) === rec) this.#apply(rec, outcome);
  }

  #apply(rec: VerifyRecord, o: VerifyOutcome): void {
    const book = this.#o.book;
    const now = this.#now();
    const addr = rec.addr;
    // An inconclusive check (e.g. our own connection to that socket was in the way) does not
    // count: the address is queued again at the next scan.
    if (o.kind !== "inconclusive") rec.lastCheckMs = now;
    switch (o.kind) {
      case "live":
        if (rec.state !== "live") this.#log.debug("Address verified live", { addr });
        rec.state = "live";
        rec.lastLiveMs = now;
        rec.deadSinceMs = 0;
        rec.failures = 0;
        rec.lastError = "";
        this.#liveAdd(rec);
        return;
      case "dead":
        this.#liveRemove(rec);
        rec.state = "dead";
        rec.failures++;
        rec.lastError = o.error;
        if (rec.deadSinceMs === 0) rec.deadSinceMs = now;
        book.markAttempt(addr);
        if (now - rec.deadSinceMs >= this.#o.addressExpiryMs) {
          this.#log.info("Expiring address that stayed dead", {
            addr,
            deadSince: new Date(rec.deadSinceMs),
            err: o.error,
          });
          book.removeAddress(addr);
          this.#forget(addr.id);
        }
        return;
      case "ban":
        this.#log.info("Banning address that failed verification", {
          addr,
          reason: o.reason,
          err: o.error,
        });
        book.markBad(addr, this.#o.banTimeMs, o.reason);
        this.#forget(addr.id);
        return;
      case "self":
        book.removeAddress(addr);
        book.addOurAddress(addr);
        this.#forget(addr.id);
        return;
      case "denied":
        book.removeAddress(addr);
        this.#forget(addr.id);
        return;
      case "inconclusive":
        rec.lastError = o.error;
        return;
    }
  }

  #record(addr: NetAddress): VerifyRecord {
    let rec = this.#records.get(addr.id);
    if (rec === undefined) {
      rec = {
        addr,
        state: "pending",
        lastCheckMs: 0,
        lastLiveMs: 0,
        deadSinceMs: 0,
        failures: 0,
        lastError: "",
        liveIndex: -1,
      };
      this.#records.set(addr.id, rec);
    }
    return rec;
  }

  #forget(id: string): void {
    const rec = this.#records.get(id);
    if (!rec) return;
    this.#liveRemove(rec);
    this.#records.delete(id);
  }

  #liveAdd(rec: VerifyRecord): void {
    if (rec.liveIndex >= 0) return;
    rec.liveIndex = this.#live.length;
    this.#live.push(rec);
  }

  #liveRemove(rec: VerifyRecord): void {
    const i = rec.liveIndex;
    if (i < 0) return;
    const last = this.#live.pop()!;
    if (last !== rec) {
      this.#live[i] = last;
      last.liveIndex = i;
    }
    rec.liveIndex = -1;
  }

  #wakeWorkers(): void {
    const ws = this.#workWaiters.splice(0);
    for (const w of ws) w();
  }
}
