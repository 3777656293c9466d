/**
 * A small JSON-RPC 2.0 client for a node's RPC (ours or CometBFT's), over `tcp://host:port` or
 * `unix:///path`, on `fetch`. For a unix socket, fetch goes through a `Deno.createHttpClient`
 * whose proxy transport is the socket (stable in Deno 2; no `--unstable` flag), so both
 * transports share one code path and need only `--allow-net` (plus read/write of the socket
 * path for unix).
 * @module
 */
import { parseListenAddr } from "./server.ts";
import type { RpcErrorObject } from "./types.ts";
import { concatBytes } from "../libs/bytes.ts";

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

/** An HTTP response as read. */
interface HttpResponse {
  status: number;
  body: Uint8Array;
}

/** Reads a response body of at most {@link MAX_RESPONSE_BYTES}. */
async function readBody(res: Response): Promise<Uint8Array> {
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > MAX_RESPONSE_BYTES) throw new Error("response too large");
    chunks.push(chunk);
  }
  return concatBytes(chunks, total);
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
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let url: string;
    let client: Deno.HttpClient | undefined;
    if (target.kind === "unix") {
      client = Deno.createHttpClient({ proxy: { transport: "unix", path: target.path } });
      url = "http://localhost/";
    } else {
      const wildcard = target.hostname === "0.0.0.0" || target.hostname === "::";
      const host = wildcard ? "127.0.0.1" : target.hostname;
      url = `http://${host.includes(":") ? `[${host}]` : host}:${target.port}/`;
    }
    try {
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
          signal,
          client,
        });
      } catch (e) {
        const why = signal.aborted
          ? `no answer within ${this.#timeoutMs} ms`
          : (e as Error).message;
        throw new RpcUnreachableError(
          `cannot reach the node's RPC at ${this.address}: ${why} ` +
            `(is the node running? pass --node tcp://HOST:PORT)`,
          { cause: e },
        );
      }
      try {
        return { status: res.status, body: await readBody(res) };
      } catch (e) {
        await res.body?.cancel().catch(() => {});
        const why = signal.aborted
          ? `no answer within ${this.#timeoutMs} ms`
          : (e as Error).message;
        throw new RpcUnreachableError(`RPC request to ${this.address} failed: ${why}`, {
          cause: e,
        });
      }
    } finally {
      client?.close();
    }
  }
}
