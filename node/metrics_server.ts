/**
 * The Prometheus HTTP endpoint (CometBFT `startPrometheusServer`, spec §17.1): listens on
 * `instrumentation.prometheus_listen_addr`, answers every path with the text exposition, and
 * refuses scrapes beyond `max_open_connections` in flight with HTTP 503 (0 = unlimited).
 * @module
 */
import { type Logger, nopLogger } from "../libs/log.ts";
import { HttpServer } from "../rpc/http_server.ts";

/**
 * Go `startPrometheusServer`'s `ReadHeaderTimeout`: a scrape's request must arrive within it;
 * slow or idle connections are closed after it.
 */
export const METRICS_READ_TIMEOUT_MS = 10_000;

/** Where the exposition comes from (a {@link NodeMetrics} fits). */
export interface MetricsSourceText {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Options of {@link MetricsServer}. */
export interface MetricsServerOptions {
  /** `host:port`, `:port` (all interfaces, as Go) or `tcp://host:port`. */
  listenAddr: string;
  source: MetricsSourceText;
  /** Concurrent scrapes allowed (CometBFT default 3); 0 = unlimited. */
  maxOpenConnections: number;
  logger?: Logger;
}

/** The listen address could not be parsed or bound. */
export class MetricsListenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MetricsListenError";
  }
}

/** Parses `host:port` / `:port` / `[::1]:port` (optionally `tcp://`); empty host = 0.0.0.0. */
export function parseMetricsAddr(addr: string): { hostname: string; port: number } {
  const rest = addr.startsWith("tcp://") ? addr.slice(6) : addr;
  const m = /^(\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(rest);
  if (!m || Number(m[2]) > 65535) {
    throw new MetricsListenError(
      `instrumentation.prometheus_listen_addr "${addr}": expected host:port or :port`,
    );
  }
  const host = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
  return { hostname: host === "" ? "0.0.0.0" : host, port: Number(m[2]) };
}

/** Lifecycle of the metrics server. */
export type MetricsServerState =
  | { readonly code: "idle" }
  | { readonly code: "listening"; readonly addr: Deno.NetAddr }
  | { readonly code: "stopped" };

/** The metrics HTTP server. */
export class MetricsServer {
  readonly #opts: MetricsServerOptions;
  readonly #log: Logger;
  #server: HttpServer | undefined;
  #inFlight = 0;
  #state: MetricsServerState = { code: "idle" };

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? nopLogger;
  }

  /** Current state (bound address included). */
  get state(): MetricsServerState {
    return this.#state;
  }

  /**
   * Binds and starts serving.
   * @throws MetricsListenError for a bad address or one already in use.
   */
  start(): Deno.NetAddr {
    if (this.#state.code !== "idle") throw new MetricsListenError("metrics server already started");
    const { hostname, port } = parseMetricsAddr(this.#opts.listenAddr);
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname, port });
    } catch (e) {
      const why = e instanceof Deno.errors.AddrInUse ? "address already in use" : String(e);
      throw new MetricsListenError(
        `instrumentation.prometheus_listen_addr ${this.#opts.listenAddr}: ${why}`,
        { cause: e },
      );
    }
    this.#server = new HttpServer(listener, {
      what: "metrics server",
      handler: (req) => this.#handle(req),
      readTimeoutMs: METRICS_READ_TIMEOUT_MS,
      // Scrapes have no body: anything declared is refused unread.
      maxBodyBytes: 0,
      logger: this.#log,
    });
    this.#server.serve();
    const addr = listener.addr;
    this.#state = { code: "listening", addr };
    this.#log.info("Starting Prometheus HTTP server", { addr: `${addr.hostname}:${addr.port}` });
    return addr;
  }

  /** Stops listening and waits for in-flight scrapes. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state.code === "stopped") return;
    this.#state = { code: "stopped" };
    await this.#server?.close();
  }

  /** Resolves if the listener fails for good (the node then exits non-zero); else never. */
  get fatal(): Promise<Error> {
    return this.#server?.fatal ?? new Promise<Error>(() => {});
  }

  async #handle(req: Request): Promise<Response> {
    // The body is never read; cancel it so no resource is left open.
    await req.body?.cancel();
    const max = this.#opts.maxOpenConnections;
    if (max > 0 && this.#inFlight >= max) {
      return new Response(
        `Limit of concurrent requests reached (${max}), try again later.\n`,
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } },
      );
    }
    this.#inFlight++;
    try {
      const text = await this.#opts.source.metrics();
      return new Response(text, { headers: { "Content-Type": this.#opts.source.contentType } });
    } catch (e) {
      this.#log.error("Metrics collection failed", { err: e });
      return new Response(`metrics collection failed: ${(e as Error).message}\n`, { status: 500 });
    } finally {
      this.#inFlight--;
    }
  }
}

/**
 * The metrics server for a node's `[instrumentation]` settings (`prometheus_listen_addr`,
 * `max_open_connections`), serving `source`, started. Node and MultiNode both run one this way
 * (each then watches its `fatal`); the callers decide whether one runs at all.
 * @throws MetricsListenError for a bad address or one already in use.
 */
export function startMetricsServer(
  ins: { readonly prometheusListenAddr: string; readonly maxOpenConnections: number },
  source: MetricsSourceText,
  logger: Logger,
): MetricsServer {
  const server = new MetricsServer({
    listenAddr: ins.prometheusListenAddr,
    source,
    maxOpenConnections: ins.maxOpenConnections,
    logger,
  });
  server.start();
  return server;
}
