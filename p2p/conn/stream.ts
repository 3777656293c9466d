/**
 * The byte-stream shape every layer of the connection stack speaks: a TCP socket
 * (`Deno.Conn` satisfies it), a SecretConnection over one, or an in-memory pipe in tests.
 * @module
 */

/** A raw duplex socket: `Deno.Conn` fits this shape. `write` may be partial. */
export interface RawConn {
  /** Reads up to `p.length` bytes into `p`; `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some prefix of `p`; returns how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the socket; idempotent callers must tolerate it throwing if already closed. */
  close(): void;
}

/** A reliable duplex byte stream whose `write` writes everything it is given. */
export interface ByteStream {
  /** Reads up to `p.length` bytes into `p`; `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes all of `p` (one batch: implementations should issue as few syscalls as they can). */
  write(p: Uint8Array): Promise<void>;
  /** Closes the stream and its socket. Idempotent. */
  close(): void;
}

/** Writes all of `p` to a raw connection, looping over partial writes. */
export async function writeAll(conn: RawConn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) {
    off += await conn.write(off === 0 ? p : p.subarray(off));
  }
}

/** Closes a connection, ignoring "already closed" errors. */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
