/**
 * The transaction relay's bounded dedup cache (Go `mempool.LRUTxCache`, `mempool.cache_size`
 * default 10000): txs keyed by SHA-256, least recently used evicted first, with the set of peers
 * each tx came from so it is never sent back to them (Go's `mempoolTx.senders`).
 * @module
 */
import { createHash } from "node:crypto";

/** Go's `mempool.cache_size` default. */
export const DEFAULT_TX_CACHE_SIZE = 10000;

/** SHA-256 of a tx (CometBFT `types.Tx.Hash` / `TxKey`). */
export function txHash(tx: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(tx).digest());
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase());

/** Upper-case hex (CometBFT's rendering of tx hashes in RPC results). */
export function toUpperHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

/** One cached tx. */
export interface TxEntry {
  readonly tx: Uint8Array;
  /** Upper-case hex SHA-256, the cache key. */
  readonly hash: string;
  /**
   * Our height when the tx entered (the last committed height we knew, 0 if none): a peer gets
   * it once its own reported height is ≥ this − 1, like Go's `mempoolTx.height`.
   */
  readonly height: number;
  /** When it entered (ms, `performance.now()` clock). */
  readonly admittedAt: number;
  /** IDs of peers that sent it to us (never relayed back to them). */
  readonly senders: Set<string>;
}

/** Result of {@link TxCache.push}. */
export type PushResult =
  | { readonly added: true; readonly entry: TxEntry }
  | { readonly added: false; readonly entry: TxEntry };

/** An LRU set of txs by hash. A `Map` keeps insertion order; refreshing is delete + set. */
export class TxCache {
  readonly capacity: number;
  readonly #map = new Map<string, TxEntry>();
  #evictions = 0;

  constructor(capacity = DEFAULT_TX_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`tx cache capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Number of cached txs. */
  get size(): number {
    return this.#map.size;
  }
  /** How many txs were evicted to make room. */
  get evictions(): number {
    return this.#evictions;
  }

  /** The entry for `hash` (upper-case hex), without refreshing it. */
  get(hash: string): TxEntry | undefined {
    return this.#map.get(hash);
  }
  /** True if a tx with this hash is cached. */
  has(hash: string): boolean {
    return this.#map.has(hash);
  }

  /**
   * Adds a tx, or refreshes it and records `sender` if it is already there (Go: `Push` returns
   * false and moves the key to the back). Evicts the least recently used entry when full.
   */
  push(tx: Uint8Array, height: number, sender?: string, hash?: string): PushResult {
    const key = hash ?? toUpperHex(txHash(tx));
    const existing = this.#map.get(key);
    if (existing) {
      this.#map.delete(key);
      this.#map.set(key, existing);
      if (sender !== undefined) existing.senders.add(sender);
      return { added: false, entry: existing };
    }
    if (this.#map.size >= this.capacity) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) {
        this.#map.delete(oldest);
        this.#evictions++;
      }
    }
    const entry: TxEntry = {
      tx,
      hash: key,
      height,
      admittedAt: performance.now(),
      senders: new Set(sender === undefined ? [] : [sender]),
    };
    this.#map.set(key, entry);
    return { added: true, entry };
  }

  /** Every cached entry, least recently used first. */
  values(): IterableIterator<TxEntry> {
    return this.#map.values();
  }

  /** Removes a tx (e.g. a test resetting state). */
  remove(hash: string): boolean {
    return this.#map.delete(hash);
  }
}
