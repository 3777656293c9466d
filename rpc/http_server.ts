/**
 * The HTTP/1.1 connection layer under the RPC and metrics servers (CometBFT
 * `rpc/jsonrpc/server/http_server.go` `Serve`: a `net/http.Server` with `ReadTimeout`,
 * `ReadHeaderTimeout`, `WriteTimeout`, `MaxHeaderBytes` over a `netutil.LimitListener`).
 * `Deno.serve` has none of these knobs, so a client trickling its headers (slowloris) or
 * declaring a body it never sends would hold a socket for ever. Here:
 *
 * - a request's head and body must arrive within `readTimeoutMs` of its first byte, and an
 *   idle keep-alive connection is closed after `readTimeoutMs` too;
 * - a head larger than `maxHeaderBytes` gets 431; a declared body larger than `maxBodyBytes`
 *   gets 413 at once, before any of it is read, and the socket is closed;
 * - a response must be written within `writeTimeoutMs`;
 * - past `maxOpenConnections` open connections, a new one gets 503 and is closed;
 * - the accept loop ends only when the server is closed (`libs/accept.ts`).
 *
 * Requests are handed to the handler as web `Request`s, answers taken as `Response`s, so the
 * RPC and metrics handlers do not know which server runs them. Bodies are buffered (every
 * answer here is a small JSON or text document).
 * @module
 */
import { Acceptor, remoteAddrString } from "../libs/accept.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import { closeQuietly } from "../p2p/conn/stream.ts";
import { ConnReader, readChunkedBody, readHead } from "./http_head.ts";

/** Go `rpcserver.DefaultConfig().ReadTimeout` (CometBFT has no key; ours is `rpc.read_timeout`). */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;
/** Go `rpcserver.DefaultConfig().WriteTimeout`. */
export const DEFAULT_WRITE_TIMEOUT_MS = 10_000;
/** Go `rpcserver.DefaultConfig().MaxHeaderBytes` (net/http's default, 1 MiB). */
export const DEFAULT_MAX_HEADER_BYTES = 1 << 20;

/** Options of {@link HttpServer}. */
export interface HttpServerOptions {
  /** Names the server in logs ("RPC server", "metrics server"). */
  what: string;
  handler: (req: Request) => Promise<Response>;
  /** 0 = unlimited. */
  maxOpenConnections?: number;
  maxHeaderBytes?: number;
  /** A declared body above this is refused with 413 unread; undefined = no limit here. */
  maxBodyBytes?: number;
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
  /**
   * The answer to a body over `maxBodyBytes`: `declared` is its Content-Length (the status
   * should be 413), undefined for a chunked body that grew too large (Go answers 400).
   * Default: a plain-text 413.
   */
  onBodyTooLarge?: (declared: number | undefined, max: number) => Response;
  logger?: Logger;
}

/** Why a connection was closed before or while answering (debug log). */
class ConnDone extends Error {}

/** An HTTP/1.1 server on a listener it owns (see the module comment). */
export class HttpServer {
  readonly #opts: Required<Omit<HttpServerOptions, "maxBodyBytes" | "onBodyTooLarge">> & {
    maxBodyBytes?: number;
    onBodyTooLarge?: HttpServerOptions["onBodyTooLarge"];
  };
  readonly #log: Logger;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #ac = new AbortController();
  readonly #fatal = Promise.withResolvers<Error>();
  #closed = false;
  #loop: Promise<void> | undefined;

  constructor(listener: Deno.Listener, opts: HttpServerOptions) {
    this.#listener = listener;
    this.#log = opts.logger ?? nopLogger;
    this.#opts = {
      what: opts.what,
      handler: opts.handler,
      maxOpenConnections: opts.maxOpenConnections ?? 0,
      maxHeaderBytes: opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
      maxBodyBytes: opts.maxBodyBytes,
      readTimeoutMs: opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
      writeTimeoutMs: opts.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS,
      onBodyTooLarge: opts.onBodyTooLarge,
      logger: this.#log,
    };
  }

  /** Open connections. */
  get numOpen(): number {
    return this.#conns.size;
  }
  /** True until closed or failed. */
  get listening(): boolean {
    return !this.#closed;
  }
  /** Resolves if the accept loop fails for a reason other than {@link close}; else never. */
  get fatal(): Promise<Error> {
    return this.#fatal.promise;
  }

  /** Starts the accept loop. */
  serve(): void {
    this.#loop ??= this.#acceptLoop();
  }

  /** Closes the listener and every connection, and waits for the handlers. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#ac.abort();
      closeQuietly(this.#listener);
    }
    for (const c of this.#conns) closeQuietly(c);
    await this.#loop;
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  async #acceptLoop(): Promise<void> {
    const acceptor = new Acceptor(this.#listener, {
      what: this.#opts.what,
      logger: this.#log,
      isClosed: () => this.#closed,
      signal: this.#ac.signal,
    });
    try {
      for (;;) {
        const conn = await acceptor.next();
        if (conn === null) return;
        const max = this.#opts.maxOpenConnections;
        if (max > 0 && this.#conns.size >= max) {
          this.#refuse(conn, max);
          continue;
        }
        this.#conns.add(conn);
        const task = this.#serveConn(conn).finally(() => {
          this.#conns.delete(conn);
          closeQuietly(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch (e) {
      if (this.#closed) return;
      this.#closed = true;
      closeQuietly(this.#listener);
      const error = e instanceof Error ? e : new Error(String(e));
      this.#log.error(`${this.#opts.what} stopped accepting connections`, { err: error });
      this.#fatal.resolve(error);
    }
  }

  /** Over `max_open_connections`: a short 503 (never blocks: a fresh socket's buffer is empty). */
  #refuse(conn: Deno.Conn, max: number): void {
    this.#log.debug("Refusing connection: max_open_connections reached", {
      what: this.#opts.what,
      remote: remoteAddrString(conn),
      max,
    });
    const body = `too many open connections (max ${max})\n`;
    const text = `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const task = conn.write(new TextEncoder().encode(text)).catch(() => 0).finally(() =>
      closeQuietly(conn)
    ).then(() => {});
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #serveConn(conn: Deno.Conn): Promise<void> {
    const remote = remoteAddrString(conn);
    const { readTimeoutMs, writeTimeoutMs, maxHeaderBytes, maxBodyBytes } = this.#opts;
    const reader = new ConnReader(conn);
    // One timer bounds whatever phase is in progress; firing closes the socket, which ends
    // the pending read or write.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expired: string | undefined;
    const deadline = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        expired = what;
        closeQuietly(conn);
      }, ms);
    };
    try {
      for (;;) {
        deadline(readTimeoutMs, "reading the request");
        const head = await readHead(reader, maxHeaderBytes);
        if (head === null) {
          this.#log.debug("HTTP connection closed by the client", {
            what: this.#opts.what,
            remote,
          });
          return;
        }
        if (head.error !== undefined) {
          await this.#answerAndClose(conn, textResponse(head.error.status, head.error.message));
          throw new ConnDone(`bad request: ${head.error.message}`);
        }
        const declared = head.contentLength ?? 0;
        if (maxBodyBytes !== undefined && declared > maxBodyBytes) {
          await this.#answerAndClose(conn, this.#tooLarge(declared, maxBodyBytes));
          throw new ConnDone(`declared body of ${declared} bytes refused`);
        }
        if (head.expectContinue) {
          await conn.write(new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n"));
        }
        const body = head.chunked
          ? await readChunkedBody(reader, maxBodyBytes ?? Number.MAX_SAFE_INTEGER)
          : await reader.readExact(declared);
        if (body === undefined) {
          await this.#answerAndClose(conn, this.#tooLarge(undefined, maxBodyBytes!));
          throw new ConnDone("chunked body over the limit");
        }
        clearTimeout(timer);
        const res = await this.#opts.handler(head.toRequest(body));
        deadline(writeTimeoutMs, "writing the response");
        await writeResponse(conn, res, head.method === "HEAD", head.keepAlive);
        clearTimeout(timer);
        if (!head.keepAlive) return;
      }
    } catch (e) {
      const why = expired !== undefined
        ? `timed out ${expired}`
        : e instanceof ConnDone
        ? e.message
        : (e as Error).message;
      this.#log.debug("Closing HTTP connection", { what: this.#opts.what, remote, why });
    } finally {
      clearTimeout(timer);
    }
  }

  #tooLarge(declared: number | undefined, max: number): Response {
    return this.#opts.onBodyTooLarge?.(declared, max) ??
      textResponse(413, `request body larger than ${max} bytes`);
  }

  /**
   * Writes a final answer, then closes the way Go's net/http does after refusing a request
   * (`closeWriteAndWait`): FIN first, then unread input is drained for a moment, so the client,
   * which may still be sending its body, reads the answer instead of a reset.
   */
  async #answerAndClose(conn: Deno.Conn, res: Response): Promise<void> {
    try {
      await writeResponse(conn, res, false, false);
      await (conn as Deno.TcpConn).closeWrite?.();
      const sink = new Uint8Array(64 * 1024);
      const until = Date.now() + LINGER_MS;
      let drained = 0;
      const timer = setTimeout(() => closeQuietly(conn), LINGER_MS);
      try {
        while (Date.now() < until && drained < LINGER_MAX_BYTES) {
          const n = await conn.read(sink);
          if (n === null) break;
          drained += n;
        }
      } finally {
        clearTimeout(timer);
      }
    } catch {
      // The client is gone already: nothing more to tell it.
    }
  }
}

/** How long a refused connection's input is drained before the socket closes (Go: 500 ms). */
const LINGER_MS = 500;
/** At most this much of it. */
const LINGER_MAX_BYTES = 4 << 20;

function textResponse(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Request Entity Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** Writes `res` (buffered) with Content-Length and the Connection header. */
async function writeResponse(
  conn: Deno.Conn,
  res: Response,
  head: boolean,
  keepAlive: boolean,
): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  let text = `HTTP/1.1 ${res.status} ${STATUS_TEXT[res.status] ?? res.statusText ?? ""}\r\n`;
  for (const [k, v] of res.headers) {
    if (k === "content-length" || k === "connection" || k === "transfer-encoding") continue;
    text += `${k}: ${v}\r\n`;
  }
  text += `date: ${new Date().toUTCString()}\r\ncontent-length: ${body.length}\r\n`;
  text += keepAlive ? "\r\n" : "connection: close\r\n\r\n";
  const headBytes = new TextEncoder().encode(text);
  const out = new Uint8Array(headBytes.length + (head ? 0 : body.length));
  out.set(headBytes);
  if (!head) out.set(body, headBytes.length);
  let off = 0;
  while (off < out.length) off += await conn.write(out.subarray(off));
}
