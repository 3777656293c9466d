/**
 * The senders waiting for room in one channel's send queue, with O(1) amortised bookkeeping per
 * enqueue, admission, timeout and abort, however many wait:
 *
 * - admission order is a FIFO array with a head index; a waiter that timed out or was aborted
 *   is only marked done and skipped when it reaches the head (the array is compacted once done
 *   entries outnumber live ones);
 * - timeouts: waiters are queued per distinct `timeoutMs`, where arrival order is deadline
 *   order, and one timer per channel is armed for the earliest head deadline;
 * - aborts: one listener per distinct AbortSignal (many senders usually share a peer's quit
 *   signal), removed when its last waiter is done; it ends exactly that signal's waiters.
 * @module
 */

interface Waiter {
  readonly msg: Uint8Array;
  readonly resolve: (ok: boolean) => void;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  done: boolean;
}

/** A FIFO of waiters with a head index and lazily dropped done entries. */
class WaiterFifo {
  items: Waiter[] = [];
  head = 0;
  dead = 0;

  push(w: Waiter): void {
    this.items.push(w);
  }

  /** The oldest waiter not done, or undefined; drops done ones from the head. */
  peek(): Waiter | undefined {
    while (this.head < this.items.length) {
      const w = this.items[this.head];
      if (!w.done) return w;
      this.items[this.head++] = undefined as unknown as Waiter;
      this.dead--;
    }
    this.reset();
    return undefined;
  }

  /** Removes the head (after {@link peek} returned it). */
  drop(): void {
    this.items[this.head++] = undefined as unknown as Waiter;
    if (this.head === this.items.length) this.reset();
    else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Notes that a queued waiter became done elsewhere; compacts when most entries are done. */
  markDead(): void {
    this.dead++;
    const size = this.items.length - this.head;
    if (this.dead > 64 && this.dead * 2 > size) {
      this.items = this.items.slice(this.head).filter((w) => !w.done);
      this.head = 0;
      this.dead = 0;
    }
  }

  get isEmpty(): boolean {
    return this.head === this.items.length;
  }

  reset(): void {
    this.items = [];
    this.head = 0;
    this.dead = 0;
  }
}

/** Per-signal bookkeeping: its waiters and the one listener registered for them. */
interface SignalEntry {
  readonly waiters: Waiter[];
  live: number;
  readonly onAbort: () => void;
}

/** Senders waiting for queue room on one channel; single-threaded, owned by the Channel. */
export class SendWaiters {
  readonly #fifo = new WaiterFifo();
  readonly #byTimeout = new Map<number, WaiterFifo>();
  readonly #bySignal = new Map<AbortSignal, SignalEntry>();
  #live = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /** Number of senders still waiting. */
  get size(): number {
    return this.#live;
  }

  /**
   * Waits for {@link admit} to take `msg`; resolves true then, or false after `timeoutMs`,
   * when `signal` aborts, or on {@link cancelAll}. The caller checked `timeoutMs > 0` and that
   * `signal` is not aborted.
   */
  wait(msg: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        msg,
        resolve,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        signal,
        done: false,
      };
      this.#live++;
      this.#fifo.push(w);
      let byDeadline = this.#byTimeout.get(timeoutMs);
      if (byDeadline === undefined) {
        byDeadline = new WaiterFifo();
        this.#byTimeout.set(timeoutMs, byDeadline);
      }
      byDeadline.push(w);
      if (signal !== undefined) this.#watch(signal, w);
      if (w.deadline < this.#timerAt) this.#arm(w.deadline);
    });
  }

  /** Takes the oldest waiting sender's message and resolves its send with true. */
  admit(): Uint8Array | undefined {
    const w = this.#fifo.peek();
    if (w === undefined) return undefined;
    this.#fifo.drop();
    this.#finish(w, true, false, true);
    return w.msg;
  }

  /** Resolves every waiting send with false (connection stopping). */
  cancelAll(): void {
    const items = this.#fifo.items;
    for (let i = this.#fifo.head; i < items.length; i++) {
      const w = items[i];
      if (!w.done) this.#finish(w, false, false, false);
    }
    this.#fifo.reset();
    this.#byTimeout.clear();
    this.#disarm();
  }

  /**
   * Marks `w` done, updates the bookkeeping and resolves its promise. `inFifo` / `inDeadlines`:
   * whether `w` is still in the admission FIFO / its deadline queue (then it is dropped lazily
   * when it reaches the head, or compacted away).
   */
  #finish(w: Waiter, ok: boolean, inFifo: boolean, inDeadlines: boolean): void {
    w.done = true;
    this.#live--;
    if (inFifo) this.#fifo.markDead();
    if (inDeadlines) this.#byTimeout.get(w.timeoutMs)?.markDead();
    if (w.signal !== undefined) {
      const entry = this.#bySignal.get(w.signal);
      if (entry !== undefined && --entry.live === 0) {
        w.signal.removeEventListener("abort", entry.onAbort);
        this.#bySignal.delete(w.signal);
      }
    }
    if (this.#live === 0) {
      // Everything left in the queues is done: drop it all at once.
      this.#fifo.reset();
      this.#byTimeout.clear();
      this.#disarm();
    }
    w.resolve(ok);
  }

  #watch(signal: AbortSignal, w: Waiter): void {
    let entry = this.#bySignal.get(signal);
    if (entry === undefined) {
      const waiters: Waiter[] = [];
      entry = {
        waiters,
        live: 0,
        onAbort: () => {
          for (const x of waiters) if (!x.done) this.#finish(x, false, true, true);
        },
      };
      this.#bySignal.set(signal, entry);
      signal.addEventListener("abort", entry.onAbort, { once: true });
    } else if (entry.waiters.length > 64 && entry.waiters.length > 2 * entry.live) {
      // Keep the list proportional to the live waiters.
      const live = entry.waiters.filter((x) => !x.done);
      entry.waiters.length = 0;
      entry.waiters.push(...live);
    }
    entry.waiters.push(w);
    entry.live++;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - performance.now()));
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Ends every waiter whose deadline passed, then arms the timer for the next deadline. */
  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [timeoutMs, q] of this.#byTimeout) {
      for (let w = q.peek(); w !== undefined; w = q.peek()) {
        if (w.deadline > now) {
          next = Math.min(next, w.deadline);
          break;
        }
        q.drop();
        this.#finish(w, false, true, false);
        if (this.#live === 0) return; // the queues were cleared
      }
      if (q.isEmpty) this.#byTimeout.delete(timeoutMs);
    }
    if (next < Infinity && this.#live > 0) this.#arm(next);
  }
}
