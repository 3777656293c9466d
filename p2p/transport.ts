/**
 * The TCP transport (CometBFT `MultiplexTransport`, `p2p/transport.go` + `conn_set.go`):
 * listens and dials, runs the connection filters before any crypto, upgrades each socket
 * (SecretConnection, NodeInfo exchange and checks: `p2p/upgrade.ts`) and hands the results to
 * the switch one at a time through {@link Transport.accept}.
 *
 * Inbound: every accepted socket is upgraded in its own task, so a slow handshake never holds
 * up the others. Two limits pause the accept loop (excess connects then wait in the kernel
 * backlog, as with Go's `LimitListener`): the number of open accepted sockets
 * (`maxIncomingConnections`, the switch passes `max_num_inbound_peers + #unconditional`; 0 = no
 * cap) and the number of handshakes in progress (`maxPendingHandshakes`). Every rejected
 * socket is closed at once.
 *
 * Admission (ours, `p2p/transport_admission.ts`): at a limit, the handshake stuck longest in its
 * phase gives its slot to the new connection ({@link HandshakeShedError}); one IP may have at
 * most `maxPendingHandshakesPerIP` handshakes in flight.
 *
 * The accept loop ends only when the transport is closed (`libs/accept.ts`); if accept fails
 * otherwise, the state becomes `failed` and {@link Transport.fatal} resolves (the node exits).
 * @module
 */
import { closeQuietly } from "./conn/stream.ts";
import { NetAddress } from "./netaddress.ts";
import type { NodeInfo } from "./node_info.ts";
import {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  dialTcp,
  setNoDelay,
  upgradeInbound,
  type UpgradeKey,
  upgradeOutbound,
} from "./upgrade.ts";
import { nopMetrics, type P2PMetrics } from "./metrics.ts";
import { type Logger, nopLogger } from "../libs/log.ts";
import { Acceptor } from "../libs/accept.ts";
import {
  DEFAULT_MAX_PENDING_HANDSHAKES,
  HandshakeAdmission,
  HandshakeShedError,
  type PendingHandshake,
  SHED_PHASE_BUDGET_MS,
} from "./transport_admission.ts";
import {
  type AcceptResult,
  type ConnFilter,
  ConnRejectedError,
  TrackedSocket,
  TransportClosedError,
  TransportConn,
} from "./transport_conn.ts";

export type { ConnRejectReason, RemoteAddr } from "./transport_conn.ts";
export {
  type AcceptResult,
  type ConnFilter,
  ConnRejectedError,
  TransportClosedError,
  TransportConn,
};
export {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  HandshakeShedError,
  SHED_PHASE_BUDGET_MS,
};

/** Options of {@link Transport}. */
export interface TransportOptions {
  /** Our node key. */
  nodeKey: UpgradeKey;
  /** The NodeInfo we send (may be replaced before `listen` via {@link Transport.nodeInfo}). */
  nodeInfo: NodeInfo;
  /** Cap on open accepted sockets; 0 = none. */
  maxIncomingConnections?: number;
  /** Cap on concurrent inbound handshakes (default {@link DEFAULT_MAX_PENDING_HANDSHAKES}). */
  maxPendingHandshakes?: number;
  /** Cap on concurrent inbound handshakes from one IP; 0 (default) = none. */
  maxPendingHandshakesPerIP?: number;
  /** Accept several connections from one IP (`allow_duplicate_ip`, default false). */
  allowDuplicateIP?: boolean;
  /** Deny-list hook run before the crypto handshake. */
  connFilter?: ConnFilter;
  /** TCP connect timeout (Go: 1 s, hard-coded). */
  dialTimeoutMs?: number;
  /** Per-phase handshake deadline (Go: 3 s, hard-coded). */
  handshakeTimeoutMs?: number;
  logger?: Logger;
  metrics?: P2PMetrics;
}

/** Lifecycle of the transport. */
export type TransportState =
  | { readonly code: "idle" }
  | { readonly code: "listening"; readonly addr: Deno.NetAddr }
  /** The accept loop failed for a reason retrying cannot fix (see the module comment). */
  | { readonly code: "failed"; readonly error: Error }
  | { readonly code: "closed" };

/** The TCP transport. See the module comment. */
export class Transport {
  /** The NodeInfo sent in every handshake. */
  nodeInfo: NodeInfo;
  readonly #key: UpgradeKey;
  readonly #maxIncoming: number;
  readonly #allowDuplicateIP: boolean;
  readonly #connFilter: ConnFilter | undefined;
  readonly #dialTimeoutMs: number;
  readonly #handshakeTimeoutMs: number;
  readonly #log: Logger;
  readonly #metrics: P2PMetrics;
  readonly #ac = new AbortController();
  /** Connection set (Go `ConnSet`): "ip:port" → socket, inbound and outbound. */
  readonly #conns = new Map<string, TrackedSocket>();
  readonly #tasks = new Set<Promise<void>>();
  /** Inbound handshakes in progress (admission control). */
  readonly #admission: HandshakeAdmission;
  readonly #fatal = Promise.withResolvers<Error>();
  readonly #results: AcceptResult[] = [];
  #resultWaiter: PromiseWithResolvers<void> | undefined;
  #slotWaiter: PromiseWithResolvers<void> | undefined;
  #openInbound = 0;
  #listener: Deno.TcpListener | undefined;
  #acceptLoop: Promise<void> | undefined;
  #state: TransportState = { code: "idle" };

  constructor(opts: TransportOptions) {
    this.#key = opts.nodeKey;
    this.nodeInfo = opts.nodeInfo;
    this.#maxIncoming = opts.maxIncomingConnections ?? 0;
    this.#admission = new HandshakeAdmission(
      opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES,
      opts.maxPendingHandshakesPerIP ?? 0,
    );
    this.#allowDuplicateIP = opts.allowDuplicateIP ?? false;
    this.#connFilter = opts.connFilter;
    this.#dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#log = opts.logger ?? nopLogger;
    this.#metrics = opts.metrics ?? nopMetrics;
  }

  /** Current state (listening address included). */
  get state(): TransportState {
    return this.#state;
  }
  /** The listening address, once listening. */
  get listenAddr(): Deno.NetAddr | undefined {
    return this.#state.code === "listening" ? this.#state.addr : undefined;
  }
  /** Sockets in the connection set (inbound and outbound, handshaking or established). */
  get numConnections(): number {
    return this.#conns.size;
  }
  /** Accepted sockets not yet closed (what `maxIncomingConnections` caps). */
  get numOpenInbound(): number {
    return this.#openInbound;
  }
  /** Inbound handshakes in progress. */
  get numPendingHandshakes(): number {
    return this.#admission.size;
  }

  /**
   * Resolves with the reason if the accept loop fails (state `failed`); never resolves
   * otherwise. The node exits non-zero on it.
   */
  get fatal(): Promise<Error> {
    return this.#fatal.promise;
  }

  /** Starts listening and the accept loop. */
  listen(addr: { hostname: string; port: number }): Deno.NetAddr {
    if (this.#state.code !== "idle") {
      throw new Error(`transport: cannot listen when ${this.#state.code}`);
    }
    const listener = Deno.listen({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
    this.#listener = listener;
    this.#state = { code: "listening", addr: listener.addr };
    this.#acceptLoop = this.#runAcceptLoop(listener);
    return listener.addr;
  }

  /**
   * The next inbound result, in completion order; `null` once the transport is closed. Only
   * one consumer (the switch's accept routine) should call it.
   */
  async accept(): Promise<AcceptResult | null> {
    for (;;) {
      const r = this.#results.shift();
      if (r !== undefined) return r;
      if (this.#state.code === "closed" || this.#state.code === "failed") return null;
      this.#resultWaiter = Promise.withResolvers<void>();
      await this.#resultWaiter.promise;
    }
  }

  /**
   * Dials `addr` (1 s TCP timeout), runs the connection filters, then the outbound upgrade
   * (dialed-ID check included). Rejects with the typed error of the failing step; the socket
   * is closed on every failure.
   */
  async dial(addr: NetAddress, opts: { signal?: AbortSignal } = {}): Promise<TransportConn> {
    if (this.#state.code === "closed") throw new TransportClosedError();
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.#ac.signal]) : this.#ac.signal;
    const raw = await dialTcp(addr, { timeoutMs: this.#dialTimeoutMs, signal });
    const remote = raw.remoteAddr as Deno.NetAddr;
    const socket = new TrackedSocket(raw, remote, true, (s) => this.#untrack(s));
    this.#filter(socket); // closes and throws on rejection
    const up = await upgradeOutbound(socket, {
      nodeKey: this.#key,
      nodeInfo: this.nodeInfo,
      dialedId: addr.id,
      timeoutMs: this.#handshakeTimeoutMs,
      signal,
    }).catch((e) => {
      socket.close();
      throw e;
    });
    return new TransportConn(socket, up.secretConn, up.nodeInfo, addr);
  }

  /**
   * Closes the listener, aborts every handshake in flight, closes upgraded connections nobody
   * took, and waits for all of it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state.code !== "closed") {
      const failed = this.#state.code === "failed";
      this.#state = { code: "closed" };
      this.#ac.abort(new TransportClosedError());
      if (this.#listener && !failed) closeQuietly(this.#listener);
      this.#wakeSlot();
      this.#wakeResult();
    }
    await this.#acceptLoop;
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    for (const r of this.#results.splice(0)) if (r.ok) r.conn.close();
    this.#wakeResult();
  }

  async #runAcceptLoop(listener: Deno.TcpListener): Promise<void> {
    const acceptor = new Acceptor(listener, {
      what: "p2p transport",
      logger: this.#log,
      isClosed: () => this.#state.code !== "listening",
      signal: this.#ac.signal,
    });
    try {
      await this.#acceptConns(acceptor);
    } catch (e) {
      if (this.#state.code !== "listening") return;
      const error = e instanceof Error ? e : new Error(String(e));
      this.#state = { code: "failed", error };
      closeQuietly(listener);
      this.#log.error("Accept on transport failed; no longer listening", { err: error });
      this.#fatal.resolve(error);
      this.#wakeResult();
    }
  }

  async #acceptConns(acceptor: Acceptor<Deno.TcpConn>): Promise<void> {
    while (this.#state.code === "listening") {
      if (!this.#hasSlot() && this.#admission.size === 0) {
        this.#slotWaiter = Promise.withResolvers<void>();
        await this.#slotWaiter.promise;
        continue;
      }
      const conn = await acceptor.next();
      if (conn === null) return;
      if (this.#state.code !== "listening") {
        closeQuietly(conn);
        return;
      }
      setNoDelay(conn);
      // Over a limit: the new connection waits (as it would have in the backlog) until a slot
      // frees or a stalled handshake can be shed for it.
      while (!this.#hasSlot() && !this.#admission.shedStalest()) {
        if (this.#state.code !== "listening") break;
        const wait = this.#admission.msUntilShed();
        this.#slotWaiter = Promise.withResolvers<void>();
        if (wait === undefined) await this.#slotWaiter.promise;
        else {
          const timer = setTimeout(() => this.#wakeSlot(), Math.max(1, wait));
          await this.#slotWaiter.promise;
          clearTimeout(timer);
        }
      }
      if (this.#state.code !== "listening") {
        closeQuietly(conn);
        return;
      }
      this.#track(this.#handleInbound(conn));
    }
  }

  #hasSlot(): boolean {
    if (this.#maxIncoming > 0 && this.#openInbound >= this.#maxIncoming) return false;
    return this.#admission.hasSlot();
  }

  async #handleInbound(conn: Deno.TcpConn): Promise<void> {
    let remote: Deno.NetAddr;
    try {
      remote = conn.remoteAddr as Deno.NetAddr;
    } catch (e) {
      // Reset before we could even read its address: nothing to answer, nobody to report.
      this.#log.debug("Inbound connection gone before its address was read", { err: e });
      closeQuietly(conn);
      return;
    }
    this.#openInbound++;
    let socket: TrackedSocket | undefined;
    let pending: PendingHandshake | undefined;
    try {
      socket = new TrackedSocket(conn, remote, false, (s) => {
        this.#untrack(s);
        this.#openInbound--;
        this.#wakeSlot();
      });
      if (!(await this.#admission.makeRoomFor(socket.ip))) {
        socket.close();
        throw new ConnRejectedError(
          "pending_per_ip",
          `filtered CONN<${socket.key}>: too many handshakes in progress from ${socket.ip}`,
        );
      }
      this.#filter(socket);
      const p = this.#admission.add(socket.ip);
      pending = p;
      const up = await upgradeInbound(socket, {
        nodeKey: this.#key,
        nodeInfo: this.nodeInfo,
        timeoutMs: this.#handshakeTimeoutMs,
        signal: AbortSignal.any([this.#ac.signal, p.ac.signal]),
        onPhase: (phase) => p.enter(phase),
      });
      const socketAddr = NetAddress.fromIPPort(socket.ip, remote.port, up.secretConn.remoteId);
      const tc = new TransportConn(socket, up.secretConn, up.nodeInfo, socketAddr);
      if (this.#state.code === "closed") tc.close();
      else this.#push({ ok: true, conn: tc });
    } catch (e) {
      if (socket) socket.close();
      else {
        closeQuietly(conn);
        this.#openInbound--;
        this.#wakeSlot();
      }
      const error = e instanceof Error ? e : new Error(String(e));
      if (this.#state.code === "closed") return;
      this.#metrics.inboundRejected(error.name);
      this.#push({
        ok: false,
        error,
        remoteAddr: { hostname: remote.hostname, port: remote.port },
      });
    } finally {
      if (pending) this.#admission.remove(pending);
      this.#wakeSlot();
    }
  }

  /** Go's `filterConn`: duplicate socket, duplicate IP, deny-list; then joins the conn set. */
  #filter(socket: TrackedSocket): void {
    const addr = socket.key;
    let err: ConnRejectedError | undefined;
    if (this.#conns.has(addr)) {
      err = new ConnRejectedError("duplicate_conn", `duplicate CONN<${addr}>`);
    } else if (!this.#allowDuplicateIP && this.#hasIP(socket.ip)) {
      err = new ConnRejectedError(
        "duplicate_ip",
        `filtered CONN<${addr}>: duplicate CONN<${addr}>`,
      );
    } else {
      const reason = this.#connFilter?.(socket.ip, socket.remote.port);
      if (reason !== undefined) {
        err = new ConnRejectedError("denied", `filtered CONN<${addr}>: ${reason}`);
      }
    }
    if (err) {
      socket.close();
      throw err;
    }
    this.#conns.set(addr, socket);
  }

  #hasIP(ip: string): boolean {
    for (const s of this.#conns.values()) if (s.ip === ip) return true;
    return false;
  }

  #untrack(s: TrackedSocket): void {
    if (this.#conns.get(s.key) === s) this.#conns.delete(s.key);
  }

  #push(r: AcceptResult): void {
    this.#results.push(r);
    this.#wakeResult();
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  #wakeSlot(): void {
    const w = this.#slotWaiter;
    this.#slotWaiter = undefined;
    w?.resolve();
  }

  #wakeResult(): void {
    const w = this.#resultWaiter;
    this.#resultWaiter = undefined;
    w?.resolve();
  }
}
