/**
 * The RPC server: CometBFT-compatible URI (`GET /<route>?a=b`) and JSON-RPC 2.0 (`POST /`)
 * handling on one listener (`tcp://host:port` or `unix:///path`), spec §16.2–16.4. Malformed
 * requests get JSON-RPC errors; a handler's exception becomes `-32603`; nothing crashes.
 * @module
 */
import type { Logger } from "../libs/log.ts";
import { nopLogger } from "../libs/log.ts";
import { decodeJsonParams, decodeUriParams, ParamError } from "./params.ts";
import { type JsonRpcId, type Route, RpcCode, RpcError } from "./types.ts";
import { HttpServer } from "./http_server.ts";
import { concatBytes } from "../libs/bytes.ts";

/** Options of {@link RPCServer}. */
export interface RPCServerOptions {
  /** `tcp://127.0.0.1:26657` or `unix:///path/to.sock`. */
  laddr: string;
  routes: readonly Route[];
  /** Register routes marked unsafe (CometBFT `[rpc] unsafe`). */
  unsafe?: boolean;
  maxBodyBytes?: number;
  maxBatchSize?: number;
  /** `rpc.max_open_connections` (0 = unlimited). */
  maxOpenConnections?: number;
  /** `rpc.max_header_bytes`. */
  maxHeaderBytes?: number;
  /** `rpc.read_timeout`: a request's head and body must arrive within it. */
  readTimeoutMs?: number;
  /** A response must be written within it (`rpc.timeout_broadcast_tx_commit` + 1 s). */
  writeTimeoutMs?: number;
  logger?: Logger;
}

/** A listening address parsed from `rpc.laddr`. */
export type ListenAddr = { kind: "tcp"; hostname: string; port: number } | {
  kind: "unix";
  path: string;
};

/** Thrown for an `rpc.laddr` that is neither tcp://host:port nor unix:///path. */
export class ListenAddrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenAddrError";
  }
}

/** Parses `tcp://host:port` (also bare `host:port`) or `unix:///path`. */
export function parseListenAddr(laddr: string): ListenAddr {
  if (laddr.startsWith("unix://")) {
    const path = laddr.slice("unix://".length);
    if (!path) throw new ListenAddrError(`"${laddr}": unix socket path is empty`);
    return { kind: "unix", path };
  }
  const rest = laddr.startsWith("tcp://") ? laddr.slice(6) : laddr;
  const m = /^(\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(rest);
  if (!m || Number(m[2]) > 65535) {
    throw new ListenAddrError(
      `"${laddr}": expected tcp://host:port (e.g. tcp://127.0.0.1:26657) or unix:///path`,
    );
  }
  let hostname = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
  if (hostname === "") hostname = "0.0.0.0";
  return { kind: "tcp", hostname, port: Number(m[2]) };
}

/**
 * Reads a request body of at most `max` bytes; undefined if it is (or declares to be) larger.
 * Go wraps the body in `http.MaxBytesReader`; reading it whole first, as `arrayBuffer()` does,
 * would let one client make us buffer gigabytes, or wait forever for a body it only declared.
 */
async function readBodyUpTo(req: Request, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) {
    await req.body?.cancel().catch(() => {});
    return undefined;
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  return concatBytes(chunks, total);
}

/** A JSON-RPC response object as the server writes it. */
export type RpcResponse =
  | { jsonrpc: "2.0"; id?: JsonRpcId; result: unknown }
  | { jsonrpc: "2.0"; id?: JsonRpcId; error: { code: number; message: string; data?: string } };

/** Go's encoding/json escapes these in strings; scripts diffing output expect it. */
function goJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) => typeof val === "bigint" ? val.toString() : val)
    .replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/**
 * A JSON-RPC error response with CometBFT's key order (`jsonrpc`, `id`, `error`: Go encodes the
 * `RPCResponse` struct fields in declaration order, and omits a nil id).
 */
export function errorResponse(id: JsonRpcId | undefined, err: RpcError): RpcResponse {
  if (id === undefined) return { jsonrpc: "2.0", error: err.toObject() };
  return { jsonrpc: "2.0", id, error: err.toObject() };
}

/**
 * The URI parameters of a request to `/<route>`: Go's `r.FormValue`, where a form-typed body
 * (`application/x-www-form-urlencoded`, POST/PUT/PATCH) comes before the query string.
 */
export function uriParams(req: Request, url: URL, body: Uint8Array): URLSearchParams {
  const type = req.headers.get("content-type") ?? "";
  const formBody = ["POST", "PUT", "PATCH"].includes(req.method) &&
    type.includes("application/x-www-form-urlencoded");
  if (!formBody) return new URLSearchParams(url.search);
  const out = new URLSearchParams(new TextDecoder().decode(body));
  for (const [k, v] of new URLSearchParams(url.search)) if (!out.has(k)) out.set(k, v);
  return out;
}

/** A running RPC server. */
export class RPCServer {
  private readonly routes = new Map<string, Route>();
  private readonly logger: Logger;
  private readonly maxBodyBytes: number;
  private readonly maxBatchSize: number;
  private server?: HttpServer;
  /** The bound address once started (port resolved when 0 was asked for). */
  addr?: ListenAddr;

  constructor(private readonly opts: RPCServerOptions) {
    this.logger = opts.logger ?? nopLogger;
    this.maxBodyBytes = opts.maxBodyBytes ?? 1_000_000;
    this.maxBatchSize = opts.maxBatchSize ?? 10;
    this.setRoutes(opts.routes);
  }

  /** Replaces the route table (chains added or removed on reload); unsafe ones per `unsafe`. */
  setRoutes(routes: readonly Route[]): void {
    this.routes.clear();
    for (const r of routes) {
      if (r.unsafe && !this.opts.unsafe) continue;
      this.routes.set(r.name, r);
    }
  }

  /** Starts listening; throws a clear error when the address is taken. */
  start(): Promise<void> {
    const addr = parseListenAddr(this.opts.laddr);
    let listener: Deno.Listener;
    try {
      if (addr.kind === "unix") {
        try {
          Deno.removeSync(addr.path);
        } catch { /* no stale socket */ }
        listener = Deno.listen({ transport: "unix", path: addr.path });
        this.addr = addr;
      } else {
        listener = Deno.listen({ hostname: addr.hostname, port: addr.port });
        const a = listener.addr as Deno.NetAddr;
        this.addr = { kind: "tcp", hostname: a.hostname, port: a.port };
      }
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new ListenAddrError(
          `rpc.laddr ${this.opts.laddr}: address already in use (another node running? set rpc.laddr)`,
        );
      }
      throw e;
    }
    this.server = this.makeHttpServer(listener);
    this.server.serve();
    this.logger.info("Starting RPC HTTP server", { laddr: this.opts.laddr });
    return Promise.resolve();
  }

  /** The connection layer (`rpc/http_server.ts`) with this server's limits. */
  private makeHttpServer(listener: Deno.Listener): HttpServer {
    return new HttpServer(listener, {
      what: "RPC server",
      handler: (req) => this.handle(req),
      maxOpenConnections: this.opts.maxOpenConnections,
      maxHeaderBytes: this.opts.maxHeaderBytes,
      maxBodyBytes: this.maxBodyBytes,
      readTimeoutMs: this.opts.readTimeoutMs,
      writeTimeoutMs: this.opts.writeTimeoutMs,
      onBodyTooLarge: (declared, max) => this.bodyTooLarge(declared, max),
      logger: this.logger,
    });
  }

  /**
   * A body over `max_body_bytes`, as a JSON-RPC error: 413 when its Content-Length said so
   * (refused unread), 400 when a chunked body grew past it (Go's MaxBytesReader).
   */
  private bodyTooLarge(declared: number | undefined, max: number): Response {
    const what = declared === undefined ? "request body" : `request body of ${declared} bytes`;
    return this.json(
      errorResponse(
        undefined,
        new RpcError(RpcCode.invalidRequest, `${what} larger than ${max} bytes`),
      ),
      declared === undefined ? 400 : 413,
      { "Content-Type": "application/json" },
    );
  }

  /** True while the listener accepts connections. */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Resolves if the listener fails for good (the node then exits non-zero); else never. */
  get fatal(): Promise<Error> {
    return this.server?.fatal ?? new Promise<Error>(() => {});
  }

  /** Stops listening, closes every connection and waits for in-flight requests. */
  async stop(): Promise<void> {
    if (!this.server) return;
    await this.server.close();
    this.server = undefined;
    if (this.addr?.kind === "unix") {
      try {
        Deno.removeSync(this.addr.path);
      } catch { /* already gone */ }
    }
  }

  /** Handles one HTTP request (exported for tests without a socket). */
  async handle(req: Request): Promise<Response> {
    const headers = {
      "Content-Type": "application/json",
      "X-Server-Time": String(Math.floor(Date.now() / 1000)),
    };
    const url = new URL(req.url, "http://localhost");
    try {
      let body: Uint8Array | undefined;
      try {
        body = await readBodyUpTo(req, this.maxBodyBytes);
      } catch (e) {
        return this.json(
          errorResponse(undefined, new RpcError(RpcCode.invalidRequest, String(e))),
          400,
          headers,
        );
      }
      if (body === undefined) {
        return this.json(
          errorResponse(
            undefined,
            new RpcError(
              RpcCode.invalidRequest,
              `request body larger than ${this.maxBodyBytes} bytes`,
            ),
          ),
          400,
          headers,
        );
      }
      // Go's mux sends every request for "/" to the JSON-RPC handler whatever its method or
      // Content-Type (curl -d sends application/x-www-form-urlencoded); an empty body lists
      // the routes.
      if (url.pathname === "/") {
        if (body.length === 0) return this.listOfRoutes();
        return await this.handleJsonRpc(new TextDecoder().decode(body), headers);
      }
      const route = this.routes.get(url.pathname.slice(1));
      if (!route) return new Response("404 page not found\n", { status: 404 });
      const query = uriParams(req, url, body);
      let args;
      try {
        args = decodeUriParams(route.params, query);
      } catch (e) {
        return this.json(
          errorResponse(
            -1,
            new RpcError(
              RpcCode.invalidParams,
              `error converting http params to arguments: ${(e as Error).message}`,
            ),
          ),
          500,
          headers,
        );
      }
      try {
        const result = await route.handler(args);
        return this.json({ jsonrpc: "2.0", id: -1, result }, 200, headers);
      } catch (e) {
        return this.json(errorResponse(-1, this.toRpcError(e)), 500, headers);
      }
    } catch (e) {
      this.logger.error("RPC handler failed", { err: e as Error });
      return this.json(
        errorResponse(undefined, new RpcError(RpcCode.internalError, String(e))),
        500,
        headers,
      );
    }
  }

  private toRpcError(e: unknown): RpcError {
    if (e instanceof RpcError) return e;
    return new RpcError(RpcCode.internalError, e instanceof Error ? e.message : String(e));
  }

  private json(v: unknown, status: number, headers: Record<string, string>): Response {
    return new Response(goJson(v), { status, headers });
  }

  private listOfRoutes(): Response {
    const names = [...this.routes.keys()].sort();
    const items = names.map((n) => {
      const r = this.routes.get(n)!;
      const q = r.params.map((p) => `${p.name}=_`).join("&");
      return `<a href="//localhost/${n}${q ? "?" + q : ""}">//localhost/${n}${
        q ? "?" + q : ""
      }</a></br>`;
    });
    return new Response(
      `<html><body><br>Available endpoints:<br>${items.join("")}</body></html>`,
      { status: 200, headers: { "Content-Type": "text/html" } },
    );
  }

  private async handleJsonRpc(text: string, headers: Record<string, string>): Promise<Response> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return this.json(
        errorResponse(
          undefined,
          new RpcError(RpcCode.parseError, `error unmarshaling request: ${(e as Error).message}`),
        ),
        500,
        headers,
      );
    }
    const batch = Array.isArray(parsed);
    const requests = batch ? parsed as unknown[] : [parsed];
    if (batch && requests.length > this.maxBatchSize) {
      return this.json(
        errorResponse(
          undefined,
          new RpcError(
            RpcCode.invalidRequest,
            `batch request exceeds maximum (${this.maxBatchSize}) allowed number of requests`,
          ),
        ),
        200,
        headers,
      );
    }
    for (const r of requests) {
      const id = (r as { id?: unknown } | null)?.id;
      if (
        r === null || typeof r !== "object" || Array.isArray(r) ||
        (id !== undefined && id !== null && typeof id !== "string" && typeof id !== "number")
      ) {
        return this.json(
          errorResponse(
            undefined,
            new RpcError(RpcCode.parseError, "error unmarshaling request: not a request object"),
          ),
          500,
          headers,
        );
      }
    }
    const responses: RpcResponse[] = [];
    for (const raw of requests as Record<string, unknown>[]) {
      if (raw.id === undefined || raw.id === null) continue; // notification
      const id = typeof raw.id === "number" ? Math.trunc(raw.id) : raw.id as string;
      const route = typeof raw.method === "string" ? this.routes.get(raw.method) : undefined;
      if (!route) {
        responses.push(errorResponse(id, new RpcError(RpcCode.methodNotFound)));
        continue;
      }
      let args;
      try {
        args = decodeJsonParams(route.params, raw.params);
      } catch (e) {
        const msg = e instanceof ParamError ? e.message : String(e);
        responses.push(
          errorResponse(
            id,
            new RpcError(
              RpcCode.invalidParams,
              `error converting json params to arguments: ${msg}`,
            ),
          ),
        );
        continue;
      }
      try {
        responses.push({ jsonrpc: "2.0", id, result: await route.handler(args) });
      } catch (e) {
        responses.push(errorResponse(id, this.toRpcError(e)));
      }
    }
    if (responses.length === 0) return new Response("", { status: 200, headers });
    return this.json(responses.length === 1 ? responses[0] : responses, 200, headers);
  }
}
