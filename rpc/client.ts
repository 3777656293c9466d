/**
 * A small JSON-RPC 2.0 client for a node's RPC (ours or CometBFT's), over `tcp://host:port` or
 * `unix:///path`. It speaks plain HTTP/1.1 on a `Deno.connect` socket (one request per
 * connection, `Connection: close`), so both transports share one code path and nothing beyond
 * `--allow-net` (and read/write of the socket path for unix) is needed.
 * @module
 */
import { parseListenAddr } from "./server.ts";
import type { RpcErrorObject } from "./types.ts";

/** Default time allowed for connect + request + response. */
export const DEFAULT_RPC_TIMEOUT_MS = 10_000;
/** Largest response read (a big `/net_info` is well below). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The node could not be reached, or did not answer with a JSON-RPC response. */
export class RpcUnreachableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RpcUnreachableError";
  }
}

/** The node answered with a JSON-RPC error. */
export class RpcCallError extends Error {
  readonly code: number;
  readonly rpcMessage: string;
  readonly data: string | undefined;
  /** The method called, so callers can say what serves it. */
  readonly method: string;
  constructor(err: RpcErrorObject, method = "") {
    super(err.data ? `${err.message}: ${err.data}` : err.message);
    this.name = "RpcCallError";
    this.method = method;
    this.code = err.code;
    this.rpcMessage = err.message;
    this.data = err.data;
  }
}

/** Options of {@link RpcClient}. */
export interface RpcClientOptions {
  timeoutMs?: number;
}

/** An HTTP response as read off the socket. */
interface HttpResponse {
  status: number;
  body: Uint8Array;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Decodes a `Transfer-Encoding: chunked` body. */
function unchunk(b: Uint8Array): Uint8Array {
  const dec = new TextDecoder();
  const parts: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  for (;;) {
    let eol = i;
    while (eol + 1 < b.length && !(b[eol] === 13 && b[eol + 1] === 10)) eol++;
    if (eol + 1 >= b.length) throw new Error("truncated chunked body");
    const size = parseInt(dec.decode(b.subarray(i, eol)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    if (size === 0) return concat(parts, total);
    const start = eol + 2;
    if (start + size > b.length) throw new Error("truncated chunked body");
    parts.push(b.subarray(start, start + size));
    total += size;
    i = start + size + 2;
  }
}

/** Parses a complete HTTP/1.1 response (status line, headers, body). */
export function parseHttpResponse(raw: Uint8Array): HttpResponse {
  const end = indexOfCrlfCrlf(raw);
  if (end < 0) throw new Error("incomplete HTTP response");
  const head = new TextDecoder().decode(raw.subarray(0, end)).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(head[0].slice(0, 60))}`);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const c = line.indexOf(":");
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
    body = unchunk(body);
  } else if (headers.has("content-length")) {
    const n = Number(headers.get("content-length"));
    if (body.length < n) throw new Error("truncated HTTP body");
    body = body.subarray(0, n);
  }
  return { status: Number(m[1]), body };
}

/** A JSON-RPC client for one node address. */
export class RpcClient {
  readonly address: string;
  readonly #timeoutMs: number;
  #nextId = 1;

  /** @param address `tcp://host:port`, `host:port` or `unix:///path`; host 0.0.0.0 → 127.0.0.1. */
  constructor(address: string, opts: RpcClientOptions = {}) {
    this.address = address;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  }

  /**
   * Calls `method` with named `params`; resolves to `result`.
   * @throws RpcUnreachableError when the node cannot be reached or answers garbage;
   *   RpcCallError for a JSON-RPC error.
   */
  async call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    const res = await this.#post(body);
    let parsed: { result?: T; error?: RpcErrorObject };
    try {
      parsed = JSON.parse(new TextDecoder().decode(res.body));
    } catch {
      throw new RpcUnreachableError(
        `${this.address} answered HTTP ${res.status} without a JSON-RPC response (is it an RPC ` +
          `address?)`,
      );
    }
    if (parsed.error) throw new RpcCallError(parsed.error, method);
    if (!("result" in parsed)) {
      throw new RpcUnreachableError(`${this.address} answered without a result`);
    }
    return parsed.result as T;
  }

  async #post(body: string): Promise<HttpResponse> {
    let target;
    try {
      target = parseListenAddr(this.address);
    } catch (e) {
      throw new RpcUnreachableError(`--node ${(e as Error).message}`, { cause: e });
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.#timeoutMs);
    const signal = ac.signal;
    try {
      return await this.#exchange(target, body, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async #exchange(
    target: ReturnType<typeof parseListenAddr>,
    body: string,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    let conn: Deno.Conn;
    try {
      conn = target.kind === "unix"
        ? await Deno.connect({ transport: "unix", path: target.path })
        : await Deno.connect({
          hostname: target.hostname === "0.0.0.0" || target.hostname === "::"
            ? "127.0.0.1"
            : target.hostname,
          port: target.port,
          signal,
        });
    } catch (e) {
      throw new RpcUnreachableError(
        `cannot reach the node's RPC at ${this.address}: ${(e as Error).message} ` +
          `(is the node running? pass --node tcp://HOST:PORT)`,
        { cause: e },
      );
    }
    const onAbort = () => {
      try {
        conn.close();
      } catch { /* already closed */ }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const host = target.kind === "unix" ? "localhost" : `${target.hostname}:${target.port}`;
      const bodyBytes = new TextEncoder().encode(body);
      const head = `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${bodyBytes.length}\r\nConnection: close\r\n\r\n`;
      const req = concat(
        [new TextEncoder().encode(head), bodyBytes],
        head.length + bodyBytes.length,
      );
      for (let off = 0; off < req.length;) off += await conn.write(req.subarray(off));
      const chunks: Uint8Array[] = [];
      let total = 0;
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
        total += n;
        if (total > MAX_RESPONSE_BYTES) throw new Error("response too large");
      }
      return parseHttpResponse(concat(chunks, total));
    } catch (e) {
      const why = signal.aborted ? `no answer within ${this.#timeoutMs} ms` : (e as Error).message;
      throw new RpcUnreachableError(`RPC request to ${this.address} failed: ${why}`, {
        cause: e,
      });
    } finally {
      signal.removeEventListener("abort", onAbort);
      onAbort();
    }
  }
}
