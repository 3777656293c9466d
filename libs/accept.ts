/**
 * An accept loop that only ends when its listener is closed, shared by the p2p transport, the
 * RPC server and the metrics server. Go's `net/http.Server.Serve` and its runtime retry what
 * Deno surfaces from `accept(2)`; we do the same, by error class:
 *
 * - an error that concerns one connection (reset or aborted before we took it, "not
 *   connected" when reading its address, a failing socket option) is logged at debug and the
 *   loop goes on;
 * - running out of file descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) backs
 *   off, {@link ACCEPT_BACKOFF_MIN_MS} doubling to {@link ACCEPT_BACKOFF_MAX_MS} as Go's
 *   `tempDelay` does, with one log line per episode (errors less than
 *   {@link ACCEPT_EPISODE_GAP_MS} apart are one episode);
 * - anything else is an {@link AcceptLoopError}: the owner marks itself failed and the node
 *   exits non-zero so that a supervisor restarts it (Go's switch panics there).
 * @module
 */
import type { Logger } from "./log.ts";
import { sleep } from "./sleep.ts";

/** First pause after an fd-exhaustion error (Go's http.Server tempDelay starts at 5 ms). */
export const ACCEPT_BACKOFF_MIN_MS = 5;
/** Longest pause between accept attempts while descriptors are exhausted (Go: 1 s). */
export const ACCEPT_BACKOFF_MAX_MS = 1_000;
/**
 * Resource errors this close to the previous one belong to the same episode (no new log line):
 * near the limit, every freed descriptor lets one accept through before the next error.
 */
export const ACCEPT_EPISODE_GAP_MS = 10_000;

/** `accept` failed in a way that retrying cannot fix; the listener is unusable. */
export class AcceptLoopError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: accept failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "AcceptLoopError";
  }
}

/** Error codes that concern the one connection being accepted, not the listener. */
const PER_CONNECTION_CODES = new Set([
  "ECONNABORTED",
  "ECONNRESET",
  "ENOTCONN",
  "EPROTO",
  "EPERM",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOPROTOOPT",
  "EOPNOTSUPP",
  "EINTR",
  "EAGAIN",
]);

/** Error codes of resource exhaustion: retry after a pause. */
const RESOURCE_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** How an accept error is handled. */
export type AcceptErrorKind = "connection" | "resources" | "fatal";

/** Classifies an error thrown by `Deno.Listener.accept` (see the module comment). */
export function classifyAcceptError(e: unknown): AcceptErrorKind {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (RESOURCE_CODES.has(code)) return "resources";
    if (PER_CONNECTION_CODES.has(code)) return "connection";
  }
  if (
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.ConnectionAborted || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.WouldBlock || e instanceof Deno.errors.TimedOut ||
    e instanceof Deno.errors.PermissionDenied
  ) {
    return "connection";
  }
  return "fatal";
}

/** Options of {@link Acceptor}. */
export interface AcceptorOptions {
  /** Names the listener in logs and errors ("p2p", "RPC server", ...). */
  what: string;
  logger: Logger;
  /** True once the owner closed the listener on purpose: errors then just end the loop. */
  isClosed: () => boolean;
  /** Aborting ends a back-off pause early (the owner is closing). */
  signal?: AbortSignal;
}

/**
 * Wraps a listener's `accept` with the retry rules of the module comment: {@link next}
 * resolves to the next connection, or null once the listener is closed on purpose.
 */
export class Acceptor<C extends Deno.Conn = Deno.Conn> {
  readonly #listener: Deno.Listener<C>;
  readonly #opts: AcceptorOptions;
  #delayMs = 0;
  /** When the last resource error happened (performance.now()), for episode logging. */
  #lastResourceError = -Infinity;

  constructor(listener: Deno.Listener<C>, opts: AcceptorOptions) {
    this.#listener = listener;
    this.#opts = opts;
  }

  /**
   * The next accepted connection; null when the listener was closed.
   * @throws AcceptLoopError when accept fails for a reason retrying cannot fix.
   */
  async next(): Promise<C | null> {
    const { what, logger, isClosed, signal } = this.#opts;
    for (;;) {
      if (isClosed()) return null;
      let conn: C;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (isClosed()) return null;
        const kind = classifyAcceptError(e);
        if (kind === "connection") {
          logger.debug("Accept failed for one connection; still listening", { what, err: e });
          continue;
        }
        if (kind === "fatal") throw new AcceptLoopError(what, e);
        const now = performance.now();
        if (now - this.#lastResourceError > ACCEPT_EPISODE_GAP_MS) {
          logger.error("Accept failed: out of file descriptors or memory; backing off", {
            what,
            err: e,
          });
        }
        this.#lastResourceError = now;
        this.#delayMs = this.#delayMs === 0
          ? ACCEPT_BACKOFF_MIN_MS
          : Math.min(this.#delayMs * 2, ACCEPT_BACKOFF_MAX_MS);
        await sleep(this.#delayMs, signal);
        continue;
      }
      this.#delayMs = 0; // as Go: the next error starts the back-off over

      return conn;
    }
  }
}

/** The remote address of an accepted connection as "host:port", or "?" if unknown. */
export function remoteAddrString(conn: Deno.Conn): string {
  try {
    const a = conn.remoteAddr as Deno.NetAddr;
    if (a.transport !== "tcp") return "unix";
    return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  } catch {
    return "?";
  }
}
