/**
 * SecretConnection: CometBFT's authenticated-encryption handshake and sealed-frame stream
 * (spec §3; Go `p2p/conn/secret_connection.go`, v0.38.25).
 *
 * The handshake is symmetric: both sides send their ephemeral X25519 key and, later, their
 * AuthSigMessage without waiting for the peer's (two waiting peers would deadlock). The whole
 * handshake runs under one deadline; on any failure the socket is closed and a typed error from
 * the HandshakeError family (or ConnectionClosedError when the peer hung up) is thrown.
 * @module
 */
import {
  AuthSigError,
  ConnectionClosedError,
  HandshakeError,
  HandshakeTimeoutError,
  MessageTooLargeError,
  P2PError,
} from "../errors.ts";
import {
  type Aead,
  ed25519PubKeyToId,
  type EphemeralKeyPair,
  generateEphemeral,
  LowOrderPointError,
  nobleEphemeral,
  refillEphemeralStash,
  type Signer,
  verifyEd25519,
} from "./crypto.ts";
import { SealedStream } from "./sealed_stream.ts";
import {
  computeChallenge,
  deriveSecrets,
  encodeAuthSigMessage,
  encodeEphemeralMessage,
  MAX_HANDSHAKE_MSG_SIZE,
  parseAuthSigMessage,
  parseEphemeralMessage,
  sortEphemeralKeys,
} from "./secret_handshake.ts";
import { type ByteStream, closeQuietly, type RawConn, writeAll } from "./stream.ts";

export { deriveSecrets } from "./secret_handshake.ts";

/** CometBFT's hard-coded SecretConnection handshake deadline (`handshake_timeout` is ignored). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 3000;

/** How long a failed handshake waits for its in-flight socket ops to settle after closing. */
const SETTLE_GRACE_MS = 1000;

/** The handshake was cancelled through its AbortSignal. */
export class HandshakeAbortedError extends HandshakeError {}

/** Options of {@link SecretConnection.make}. */
export interface SecretConnectionOptions {
  /** Deadline for the whole handshake, in ms (default {@link DEFAULT_HANDSHAKE_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Cancels the handshake; the socket is closed and {@link HandshakeAbortedError} thrown. */
  signal?: AbortSignal;
  /**
   * Testing only: use this 32-byte X25519 private key instead of a random one (reproduces the
   * shared handshake vector). Never set it in production — it removes forward secrecy.
   */
  ephemeralPrivateKey?: Uint8Array;
  /** Testing/benchmarking only: the AEAD backend (default: the native one). */
  aead?: (key: Uint8Array) => Aead;
  /**
   * Called once the peer's ephemeral key has arrived, as the authentication phase begins (the
   * transport's admission control watches each phase's progress).
   */
  onAuthPhase?: () => void;
}

/** Reads exactly `p.length` bytes, or throws ConnectionClosedError at EOF. */
async function readFull(
  read: (p: Uint8Array) => Promise<number | null>,
  p: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < p.length) {
    const n = await read(p.subarray(off));
    if (n === null) throw new ConnectionClosedError("peer closed the connection mid-handshake");
    off += n;
  }
}

/** Size of a valid ephemeral-key message on the wire: `22 0a 20` ‖ 32-byte key. */
const EPH_MSG_SIZE = 35;
/**
 * Smallest valid AuthSigMessage on the wire: a 1-byte length and a 102-byte body (an Ed25519 key
 * of 32 bytes and a signature of 64 with their tags and lengths; any other encoding is longer).
 */
const AUTH_SIG_MSG_MIN_SIZE = 103;

/**
 * Reads one length-delimited handshake message (max 1 MiB) in as few reads as possible (usually
 * one, where a byte-at-a-time varint read needs two or more). Asking for `minWire` bytes at once
 * never reads past a message that can be valid, since every valid one is at least that long:
 * only a message that will be rejected anyway can be shorter than what was read.
 */
async function readDelimitedEager(
  read: (p: Uint8Array) => Promise<number | null>,
  minWire: number,
): Promise<Uint8Array> {
  const head = new Uint8Array(minWire);
  let got = 0;
  let len = 0;
  let mul = 1;
  let vlen = 0;
  for (;;) {
    while (vlen < got) {
      const b = head[vlen++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (len > MAX_HANDSHAKE_MSG_SIZE) {
          throw new MessageTooLargeError(
            `handshake message of ${len} bytes exceeds ${MAX_HANDSHAKE_MSG_SIZE}`,
          );
        }
        if (vlen + len <= got) return head.subarray(vlen, vlen + len);
        const body = new Uint8Array(len);
        body.set(head.subarray(vlen, got));
        await readFull(read, body.subarray(got - vlen));
        return body;
      }
      mul *= 128;
      if (len > MAX_HANDSHAKE_MSG_SIZE || vlen >= 10) {
        throw new MessageTooLargeError("handshake message length varint overflows the limit");
      }
    }
    const n = await read(head.subarray(got));
    if (n === null) throw new ConnectionClosedError("peer closed the connection mid-handshake");
    got += n;
  }
}

/**
 * Runs a send and a receive concurrently and returns the receive's result once both settled.
 * The first failure calls `abort` (closing the socket), so the other op cannot hang.
 */
async function sendAndReceive<T>(
  send: Promise<void>,
  receive: Promise<T>,
  abort: (e: unknown) => void,
): Promise<T> {
  // Whichever fails first closes the socket, which ends the other op too.
  send.catch(abort);
  receive.catch(abort);
  let value: T;
  try {
    value = await receive;
  } catch (e) {
    await send.catch(() => {}); // settled before we return: no op outlives the handshake step
    throw e;
  }
  await send;
  return value;
}

/** Maps anything thrown during the handshake to a typed error. */
function toTypedError(e: unknown): Error {
  if (e instanceof P2PError) return e;
  if (e instanceof LowOrderPointError) {
    return new HandshakeError("remote ephemeral key is of low order", { cause: e });
  }
  return new ConnectionClosedError("connection failed during handshake", { cause: e });
}

/** An authenticated, encrypted connection to a peer whose Ed25519 key is {@link remotePubKey}. */
export class SecretConnection implements ByteStream {
  /** The peer's authenticated Ed25519 public key (32 bytes). */
  readonly remotePubKey: Uint8Array;
  /** The peer's node ID, derived from {@link remotePubKey}. */
  readonly remoteId: string;
  readonly #stream: SealedStream;

  private constructor(stream: SealedStream, remotePubKey: Uint8Array) {
    this.#stream = stream;
    this.remotePubKey = remotePubKey;
    this.remoteId = ed25519PubKeyToId(remotePubKey);
  }

  /**
   * Performs the handshake over `conn` and returns the authenticated connection. On failure the
   * socket is closed and a typed error is thrown: HandshakeTimeoutError (deadline),
   * HandshakeAbortedError (signal), AuthSigError (bad key/signature), FrameError,
   * MessageTooLargeError, HandshakeError (malformed or low-order ephemeral key),
   * ConnectionClosedError (peer hung up or I/O failed).
   */
  static async make(
    conn: RawConn,
    key: Signer,
    opts: SecretConnectionOptions = {},
  ): Promise<SecretConnection> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const signal = opts.signal;
    if (signal?.aborted) {
      closeQuietly(conn);
      throw new HandshakeAbortedError("handshake aborted", { cause: signal.reason });
    }
    let failure: Error | undefined;
    let rejectFailed!: (e: Error) => void;
    const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
    failed.catch(() => {}); // observed through the race below
    const fail = (e: Error) => {
      if (failure) return;
      failure = e;
      closeQuietly(conn); // aborts every pending socket op of the handshake
      rejectFailed(e);
    };
    const timer = setTimeout(
      () => fail(new HandshakeTimeoutError(`handshake did not complete within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () =>
      fail(new HandshakeAbortedError("handshake aborted", { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });

    const run = SecretConnection.#handshake(conn, key, opts, (e) => fail(toTypedError(e)));
    try {
      const sc = await Promise.race([run, failed]);
      if (failure) throw failure; // lost a race with the deadline: the socket is already closed
      return sc;
    } catch (e) {
      fail(toTypedError(e));
      await settleWithin(run, SETTLE_GRACE_MS);
      throw failure!;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  static async #handshake(
    conn: RawConn,
    key: Signer,
    opts: SecretConnectionOptions,
    abort: (e: unknown) => void,
  ): Promise<SecretConnection> {
    // 1. Ephemeral keys, exchanged concurrently over the plain socket.
    const eph: EphemeralKeyPair = opts.ephemeralPrivateKey
      ? nobleEphemeral(opts.ephemeralPrivateKey)
      : await generateEphemeral();
    const sendEph = writeAll(conn, encodeEphemeralMessage(eph.publicKey));
    // Our key is on its way: make the next handshake's key pair while the peer answers.
    if (!opts.ephemeralPrivateKey) refillEphemeralStash();
    const remEphBody = await sendAndReceive(
      sendEph,
      readDelimitedEager((p) => conn.read(p), EPH_MSG_SIZE),
      abort,
    );
    const remEph = parseEphemeralMessage(remEphBody);
    opts.onAuthPhase?.();

    // 2. Sort, DH (low-order rejection), transcript challenge, traffic keys.
    const { lo, hi, locIsLeast } = sortEphemeralKeys(eph.publicKey, remEph);
    const dh = await eph.sharedSecret(remEph);
    const challenge = computeChallenge(lo, hi, dh);
    const { recvSecret, sendSecret } = deriveSecrets(dh, locIsLeast);
    const stream = new SealedStream(conn, sendSecret, recvSecret, opts.aead);

    // 3. Sign the challenge; exchange AuthSigMessages concurrently through sealed frames.
    const sig = await key.sign(challenge);
    const authBody = await sendAndReceive(
      stream.write(encodeAuthSigMessage(key.pubKey, sig)),
      readDelimitedEager((p) => stream.read(p), AUTH_SIG_MSG_MIN_SIZE),
      abort,
    );
    const remote = parseAuthSigMessage(authBody);
    if (!(await verifyEd25519(remote.sig, challenge, remote.pubKey))) {
      throw new AuthSigError("challenge verification failed");
    }
    return new SecretConnection(stream, remote.pubKey);
  }

  /** Reads decrypted bytes; `null` at end of stream. See {@link SealedStream.read}. */
  read(p: Uint8Array): Promise<number | null> {
    return this.#stream.read(p);
  }

  /** Seals and writes all of `p` (one socket write per call up to 1 MiB; writes are queued). */
  write(p: Uint8Array): Promise<void> {
    return this.#stream.write(p);
  }

  /** Closes the connection and its socket. Idempotent. */
  close(): void {
    this.#stream.close();
  }
}

/** Waits for `p` to settle, but no longer than `ms` (for sockets whose close does not abort ops). */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([p.then(() => {}, () => {}), grace]);
  } finally {
    clearTimeout(timer);
  }
}
