/**
 * In-memory duplex pipes for tests: {@link bytePipe} gives two connected {@link ByteStream}s,
 * {@link rawPipe} two connected {@link RawConn}s (optionally with partial writes, like a real
 * socket). Bytes written on one end are read on the other, in order, with unbounded buffering.
 *
 * Close semantics mimic a TCP socket under Deno: closing an end makes its own pending and later
 * reads reject (`Deno.errors.BadResource`), lets the other end drain what was already written and
 * then read `null` (EOF), and makes writes on either end reject (`Deno.errors.BrokenPipe`).
 * @module
 */
import type { ByteStream, RawConn } from "../../p2p/conn/stream.ts";
import { ChunkQueue } from "./chunk_queue.ts";

/** Counters a test can assert on. */
export interface PipeStats {
  /** Number of write calls that carried bytes. */
  writes: number;
  /** Total bytes written. */
  bytesWritten: number;
}

class PipeEnd {
  closed = false;
  readonly stats: PipeStats = { writes: 0, bytesWritten: 0 };
  peer!: PipeEnd;

  constructor(
    readonly inbound: ChunkQueue,
    readonly outbound: ChunkQueue,
    readonly maxWrite: number,
  ) {}

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.closed) throw new Deno.errors.BadResource("pipe end is closed");
      const n = this.inbound.take(p);
      if (n !== undefined) return n;
      if (this.inbound.eof) return null;
      if (p.length === 0) return 0;
      await this.inbound.wait();
    }
  }

  /** Writes up to `maxWrite` bytes of `p` (raw-socket semantics). */
  writeSome(p: Uint8Array): number {
    if (this.closed || this.peer.closed) throw new Deno.errors.BrokenPipe("pipe is closed");
    const n = Math.min(p.length, this.maxWrite);
    if (n > 0) {
      this.stats.writes++;
      this.stats.bytesWritten += n;
      this.outbound.push(p.subarray(0, n));
    }
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outbound.end();
    // Wake our own pending reader so it observes the local close.
    this.inbound.wake();
  }
}

/**
 * What both kinds of pipe end share: the counters, close state, reads and close. Only `write`
 * differs (all bytes for a ByteStream, possibly fewer for a RawConn), so only it is left to the
 * subclasses.
 */
abstract class PipeEndBase {
  constructor(readonly end: PipeEnd) {}
  /** Counters of this end's writes. */
  get stats(): PipeStats {
    return this.end.stats;
  }
  /** Whether `close()` was called on this end. */
  get closed(): boolean {
    return this.end.closed;
  }
  read(p: Uint8Array): Promise<number | null> {
    return this.end.read(p);
  }
  close(): void {
    this.end.close();
  }
}

/** A {@link ByteStream} end of an in-memory pipe, with write counters. */
export class PipeStream extends PipeEndBase implements ByteStream {
  write(p: Uint8Array): Promise<void> {
    try {
      this.end.writeSome(p);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** A {@link RawConn} end of an in-memory pipe; writes may be partial (`maxWriteBytes`). */
export class PipeConn extends PipeEndBase implements RawConn {
  write(p: Uint8Array): Promise<number> {
    try {
      return Promise.resolve(this.end.writeSome(p));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function makeEnds(maxWrite: number): [PipeEnd, PipeEnd] {
  const ab = new ChunkQueue();
  const ba = new ChunkQueue();
  const a = new PipeEnd(ba, ab, maxWrite);
  const b = new PipeEnd(ab, ba, maxWrite);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Two connected in-memory {@link ByteStream}s. */
export function bytePipe(): [PipeStream, PipeStream] {
  const [a, b] = makeEnds(Number.POSITIVE_INFINITY);
  return [new PipeStream(a), new PipeStream(b)];
}

/**
 * Two connected in-memory {@link RawConn}s. With `maxWriteBytes`, each `write` accepts at most
 * that many bytes, exercising callers' partial-write loops.
 */
export function rawPipe(opts: { maxWriteBytes?: number } = {}): [PipeConn, PipeConn] {
  const [a, b] = makeEnds(opts.maxWriteBytes ?? Number.POSITIVE_INFINITY);
  return [new PipeConn(a), new PipeConn(b)];
}
