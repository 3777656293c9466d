/**
 * Test streams for MConnection: an in-memory {@link ByteStream} pair that records every write
 * call and can stall writes on demand, and a raw {@link ByteStream} over a `Deno.Conn` for
 * loopback TCP tests and benchmarks (no encryption).
 *
 * Close semantics follow a socket: closing an end makes its pending and later reads return null,
 * lets the other end drain what was written and then read null (EOF), and makes later writes on
 * either end reject.
 * @module
 */
import { type ByteStream, closeQuietly, writeAll } from "../../p2p/conn/stream.ts";
import { ChunkQueue } from "./chunk_queue.ts";

/** An end of a {@link memPipe}: a ByteStream with inspection hooks. */
export class MemStream implements ByteStream {
  /** True once `close()` was called on this end. */
  closed = false;
  /** Copy of every `write` call's bytes, in order. */
  readonly writes: Uint8Array[] = [];
  #stalled: (() => void)[] | null = null;
  peer!: MemStream;

  constructor(private readonly inbound: ChunkQueue, private readonly outbound: ChunkQueue) {}

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.closed) return null;
      const n = this.inbound.take(p);
      if (n !== undefined) return n;
      if (this.inbound.eof) return null;
      await this.inbound.wait();
    }
  }

  async write(p: Uint8Array): Promise<void> {
    while (this.#stalled !== null && !this.closed) {
      await new Promise<void>((r) => this.#stalled!.push(r));
    }
    if (this.closed || this.peer.closed) throw new Error("broken pipe");
    this.writes.push(p.slice());
    this.outbound.push(p);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outbound.end();
    this.inbound.wake();
    this.unstall();
  }

  /** Makes later writes wait until {@link unstall} or close (simulates a full socket). */
  stall(): void {
    this.#stalled ??= [];
  }

  /** Releases stalled writes. */
  unstall(): void {
    const waiting = this.#stalled ?? [];
    this.#stalled = null;
    for (const r of waiting) r();
  }

  /** All bytes written so far, concatenated. */
  written(): Uint8Array {
    return concat(this.writes);
  }
}

/** Two connected in-memory streams. */
export function memPipe(): [MemStream, MemStream] {
  const ab = new ChunkQueue();
  const ba = new ChunkQueue();
  const a = new MemStream(ba, ab);
  const b = new MemStream(ab, ba);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A raw (unencrypted) ByteStream over a TCP connection; records the number of writes. */
export class TcpStream implements ByteStream {
  writeCalls = 0;
  #closed = false;
  constructor(readonly conn: Deno.Conn) {}

  async read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return null;
    try {
      return await this.conn.read(p);
    } catch (err) {
      if (this.#closed) return null;
      throw err;
    }
  }

  write(p: Uint8Array): Promise<void> {
    this.writeCalls++;
    return writeAll(this.conn, p);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.conn);
  }
}

/** A connected pair of {@link TcpStream}s over 127.0.0.1 (listener closed afterwards). */
export async function tcpPair(): Promise<[TcpStream, TcpStream]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [a, b] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    a.setNoDelay(true);
    b.setNoDelay(true);
    return [new TcpStream(a), new TcpStream(b)];
  } finally {
    listener.close();
  }
}
