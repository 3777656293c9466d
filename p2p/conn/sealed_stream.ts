/**
 * The encrypted byte stream over a raw socket: reads sealed frames and exposes their data as a
 * byte stream (frame remainders are kept for the next read), and writes each call's data as
 * consecutive sealed frames in one socket write. Used by the SecretConnection both during the
 * AuthSig exchange and afterwards.
 *
 * Frames are opened in place in the receive buffer, all complete frames of a socket read in one
 * batch, so a bulk read costs one AEAD call per up to 128 frames rather than one per frame.
 * @module
 */
import { ConnectionClosedError, FrameError, P2PError } from "../errors.ts";
import { borrowBuffer, returnBuffer } from "./buffer_pool.ts";
import {
  type AeadFactory,
  DATA_LEN_SIZE,
  DATA_MAX_SIZE,
  FrameOpener,
  FrameSealer,
  openedFrameLength,
  SEALED_FRAME_SIZE,
} from "./frame.ts";
import { type ByteStream, closeQuietly, type RawConn, writeAll } from "./stream.ts";

/**
 * Receive buffer held while idle (a pending socket read always holds one): handshake messages,
 * pings and small messages fit. A read that fills it switches to a pooled large buffer until
 * the buffered frames are consumed again.
 */
const RECV_BUFFER_SMALL = 2 * SEALED_FRAME_SIZE;
/** Receive buffer under bulk traffic: many sealed frames per socket read, fewer syscalls. */
const RECV_BUFFER_LARGE = 128 * SEALED_FRAME_SIZE;

/**
 * Plaintext per socket write. A write call larger than this is sealed and written in batches of
 * this size (bounded memory); anything up to it goes out in exactly one socket write.
 */
export const MAX_WRITE_BATCH = 1024 * DATA_MAX_SIZE;

/** Turns an I/O failure into the stream's typed error. */
function ioError(e: unknown, closed: boolean): Error {
  if (e instanceof P2PError) return e;
  return new ConnectionClosedError(closed ? "connection closed" : "connection I/O failed", {
    cause: e,
  });
}

/** A framed, encrypted duplex stream over a {@link RawConn}. */
export class SealedStream implements ByteStream {
  readonly #conn: RawConn;
  readonly #sealer: FrameSealer;
  readonly #opener: FrameOpener;
  readonly #rsmall = new Uint8Array(RECV_BUFFER_SMALL);
  #rbuf = this.#rsmall;
  /** `[rstart, ropen)`: opened frames not yet delivered; `[ropen, rend)`: sealed bytes. */
  #rstart = 0;
  #ropen = 0;
  #rend = 0;
  /** A frame at `ropen` failed to open: fail once the frames before it are delivered (as Go). */
  #badFrame = false;
  /** Consecutive socket reads that filled all the room they were given (more is waiting). */
  #fills = 0;
  /** Bytes the last socket read returned. */
  #lastRead = 0;
  /**
   * `[pendAt, pendEnd)` of `rbuf`: decrypted bytes of the current frame not yet delivered.
   * Offsets rather than a view, so delivering a frame allocates nothing beyond its copy.
   */
  #pendAt = 0;
  #pendEnd = 0;
  #reading = false;
  /** Tail of the write queue: each write waits for the previous one, so frames never interleave. */
  #writeTail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    conn: RawConn,
    sendKey: Uint8Array,
    recvKey: Uint8Array,
    aead?: AeadFactory,
  ) {
    this.#conn = conn;
    this.#sealer = new FrameSealer(sendKey, aead);
    this.#opener = new FrameOpener(recvKey, aead);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads up to `p.length` decrypted bytes; `null` at a clean end of stream (EOF on a frame
   * boundary). Fills `p` from every complete frame already buffered, but blocks only when it
   * has nothing to return. Throws FrameError (bad tag, length > 1024) or ConnectionClosedError.
   * One read at a time.
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) throw new ConnectionClosedError();
    if (this.#reading) throw new Error("SealedStream: concurrent read");
    if (p.length === 0) return 0;
    this.#reading = true;
    try {
      let n = 0;
      while (n < p.length) {
        if (this.#pendAt === this.#pendEnd) {
          if (this.#rstart < this.#ropen) {
            const at = this.#rstart;
            this.#rstart += SEALED_FRAME_SIZE;
            this.#pendAt = at + DATA_LEN_SIZE;
            this.#pendEnd = this.#pendAt + openedFrameLength(this.#rbuf, at);
            continue;
          }
          if (this.#badFrame) {
            if (n > 0) break; // deliver what opened first; the next read fails
            throw new FrameError("failed to decrypt SecretConnection frame");
          }
          if (this.#rend - this.#ropen >= SEALED_FRAME_SIZE) {
            this.#openBuffered();
            continue;
          }
          if (n > 0) break;
          if (!(await this.#fill())) return null;
          continue;
        }
        const k = Math.min(this.#pendEnd - this.#pendAt, p.length - n);
        p.set(this.#rbuf.subarray(this.#pendAt, this.#pendAt + k), n);
        this.#pendAt += k;
        n += k;
      }
      return n;
    } catch (e) {
      // A frame error kills the connection, as in Go.
      const err = ioError(e, this.#closed);
      this.close();
      throw err;
    } finally {
      this.#reading = false;
    }
  }

  /** Opens every complete sealed frame buffered, in one batch, in place. */
  #openBuffered(): void {
    const n = Math.floor((this.#rend - this.#ropen) / SEALED_FRAME_SIZE);
    const at = this.#ropen;
    const ok = this.#opener.openInPlace(this.#rbuf.subarray(at, at + n * SEALED_FRAME_SIZE), n);
    this.#ropen += ok * SEALED_FRAME_SIZE;
    if (ok < n) this.#badFrame = true;
  }

  /**
   * Reads more raw bytes (called only when every opened frame was delivered, so nothing before
   * `ropen` is still in use); false on EOF at a frame boundary, throws on EOF inside a frame.
   */
  async #fill(): Promise<boolean> {
    if (this.#rstart === this.#rend) {
      this.#rstart = this.#ropen = this.#rend = 0;
      // Nothing buffered and traffic is light (the last read alone fit the small buffer): wait
      // in the small buffer, so an idle connection holds only that one (at the latest after
      // its next ping, as the MConnection's read buffer). A connection still streaming keeps
      // the large one: with many bulk peers, reads often drain the buffer without filling it,
      // and going back to the small one each time cost a small read and a fresh large buffer
      // per cycle (half of all reads at 100 peers).
      if (this.#rbuf !== this.#rsmall && this.#lastRead < RECV_BUFFER_SMALL) {
        returnBuffer(this.#rbuf);
        this.#rbuf = this.#rsmall;
      }
    } else if (this.#rstart > 0 && this.#rbuf.length - this.#rend < SEALED_FRAME_SIZE) {
      this.#rbuf.copyWithin(0, this.#rstart, this.#rend);
      this.#rend -= this.#rstart;
      this.#rstart = this.#ropen = 0;
    }
    // The small buffer came back full twice in a row: bulk traffic, continue in a large one.
    // (Once is common at the end of a handshake; an idle peer must not wait in a large one.)
    if (this.#fills >= 2 && this.#rbuf === this.#rsmall) {
      const big = borrowBuffer(RECV_BUFFER_LARGE);
      big.set(this.#rbuf.subarray(this.#rstart, this.#rend));
      this.#rend -= this.#rstart;
      this.#rstart = this.#ropen = 0;
      this.#rbuf = big;
    }
    const room = this.#rbuf.length - this.#rend;
    const got = await this.#conn.read(this.#rbuf.subarray(this.#rend));
    if (got === null) {
      if (this.#rend === this.#rstart) return false;
      throw new ConnectionClosedError(
        `EOF inside a sealed frame (${this.#rend - this.#rstart} of ${SEALED_FRAME_SIZE} bytes)`,
      );
    }
    this.#rend += got;
    this.#lastRead = got;
    this.#fills = got === room ? this.#fills + 1 : 0;
    return true;
  }

  /**
   * Seals and writes all of `p`. Writes are queued, so concurrent callers never interleave
   * frames or reuse a nonce; each call's frames (up to {@link MAX_WRITE_BATCH} of data) leave in
   * one socket write. An empty write sends nothing.
   */
  write(p: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    if (p.length === 0) return Promise.resolve();
    const run = this.#writeTail.then(() => this.#writeNow(p));
    // The queue continues after a failure; the failure itself reaches this caller via `run`.
    this.#writeTail = run.catch(() => {});
    return run;
  }

  async #writeNow(p: Uint8Array): Promise<void> {
    if (this.#closed) throw new ConnectionClosedError();
    try {
      for (let off = 0; off < p.length; off += MAX_WRITE_BATCH) {
        const sealed = this.#sealer.seal(p.subarray(off, off + MAX_WRITE_BATCH));
        await writeAll(this.#conn, sealed);
      }
      // Written: a large sealing buffer goes back to the pool (not after a failure, when the
      // socket might still hold it).
      this.#sealer.release();
    } catch (e) {
      const err = ioError(e, this.#closed);
      this.close();
      throw err;
    }
  }

  /** Buffer sizes, for tests: the receive buffer and the sealer's output buffer. */
  bufferStats(): { read: number; seal: number } {
    return { read: this.#rbuf.length, seal: this.#sealer.bufferSize };
  }

  /** Closes the socket (idempotent); pending and later reads/writes fail with ConnectionClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}
