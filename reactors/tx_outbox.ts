/**
 * A peer's outbound tx queue for the transaction relay: a bounded FIFO with one consumer (the
 * peer's sender loop) that can wait for the next entry. Overflow drops the oldest entry, so a
 * peer that cannot keep up loses old txs rather than making memory grow.
 * @module
 */
import type { TxEntry } from "./tx_cache.ts";

/** Bounded FIFO of txs for one peer. */
export class PeerOutbox {
  readonly #limit: number;
  readonly #onDrop: () => void;
  readonly #ac = new AbortController();
  #items: TxEntry[] = [];
  #head = 0;
  #waiter: ((e: TxEntry | undefined) => void) | undefined;

  /**
   * @param limit most entries kept
   * @param parent closing it closes the outbox (the reactor's stop signal)
   * @param onDrop called once per entry dropped on overflow
   */
  constructor(limit: number, parent: AbortSignal, onDrop: () => void) {
    this.#limit = Math.max(1, limit);
    this.#onDrop = onDrop;
    if (parent.aborted) this.close();
    else parent.addEventListener("abort", () => this.close(), { once: true, signal: this.signal });
  }

  /** Aborted when the outbox is closed (peer removed or reactor stopped). */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }
  /** Entries waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an entry (hands it straight to a waiting consumer). */
  push(e: TxEntry): void {
    if (this.#ac.signal.aborted) return;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w(e);
      return;
    }
    if (this.length >= this.#limit) {
      this.#head++;
      this.#onDrop();
    }
    this.#items.push(e);
  }

  /** The next entry, waiting if empty; `undefined` once closed. One consumer only. */
  next(): Promise<TxEntry | undefined> {
    if (this.#ac.signal.aborted) return Promise.resolve(undefined);
    if (this.length > 0) {
      const e = this.#items[this.#head++];
      // Compact now and then instead of shifting on every pop.
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve(e);
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Drops everything and wakes the consumer with `undefined`. Idempotent. */
  close(): void {
    if (this.#ac.signal.aborted) return;
    this.#ac.abort();
    this.#items = [];
    this.#head = 0;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(undefined);
  }
}
