/**
 * One direction of an in-memory test pipe: the chunks written and not yet read, the writer's
 * EOF, and at most one reader waiting for more. Shared by `pipe.ts` ({@link bytePipe},
 * {@link rawPipe}) and `mem_stream.ts` ({@link memPipe}): their ends differ in close and write
 * semantics (which error, stalls, partial writes), not in how bytes queue up and are read out,
 * so only that part lives here.
 * @module
 */

/** Queued chunks from one writer to one reader. */
export class ChunkQueue {
  chunks: Uint8Array[] = [];
  /** Writer side closed: EOF once the queue drains. */
  eof = false;
  #waiter: (() => void) | null = null;

  /** Queues a copy of `p` (the writer may reuse its buffer) and wakes the waiting reader. */
  push(p: Uint8Array): void {
    this.chunks.push(p.slice());
    this.wake();
  }

  /** The writer's side closed: EOF once the queue drains; wakes the waiting reader to see it. */
  end(): void {
    this.eof = true;
    this.wake();
  }

  /** Wakes the waiting reader, if any, to look at the queue and the ends' state again. */
  wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** Resolves on the next {@link wake} (or {@link push}). */
  wait(): Promise<void> {
    return new Promise((r) => (this.#waiter = r));
  }

  /**
   * Moves up to `p.length` bytes of the oldest chunk into `p` and returns how many (a read
   * never spans chunks, like a socket read returning what one write delivered); undefined
   * when nothing is queued.
   */
  take(p: Uint8Array): number | undefined {
    if (this.chunks.length === 0) return undefined;
    const head = this.chunks[0];
    const n = Math.min(head.length, p.length);
    p.set(head.subarray(0, n));
    if (n === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    return n;
  }
}
