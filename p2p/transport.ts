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
 * Shedding (our addition): while a limit is reached, a handshake whose peer has not sent a single
 * byte yet is not worth its slot — an honest peer sends its ephemeral key as soon as it connects.
 * So the accept loop keeps accepting as long as such a silent handshake exists, and each new
 * connection takes the slot of the oldest silent one, which fails with
 * {@link HandshakeShedError}. Without this, a few hundred half-open sockets would hold every
 * slot until their 3 s deadline, round after round, and an honest peer queued behind them in
 * the backlog would time out.
 * @module
 */
import { closeQuietly, type RawConn } from "./conn/stream.ts";
import type { ByteStream } from "./conn/stream.ts";
import { HandshakeError, RejectedError } from "./errors.ts";
import { NetAddress } from "./netaddress.ts";
import type { NodeInfo } from "./node_info.ts";
import type { PeerConn } from "./peer.ts";
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

export { DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS };

/** Handshakes allowed in flight at once before the accept loop pauses (our addition). */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 64;

/**
 * A handshake silent for this long may be shed for a new connection (module comment). An
 * honest peer's first bytes travel with the TCP handshake's last ACK, so they are there within
 * milliseconds of the accept.
 */
export const SHED_MIN_SILENT_MS = 100;

/** A deny-list hook: returns a reason to refuse `ip:port`, or undefined to let it through. */
export type ConnFilter = (ip: string, port: number) => string | undefined;

/** Why a socket was refused before the handshake. */
export type ConnRejectReason = "duplicate_conn" | "duplicate_ip" | "denied";

/** A socket refused by a connection filter; the message reads as Go's `ErrRejected`. */
export class ConnRejectedError extends RejectedError {
  readonly reason: ConnRejectReason;
  constructor(reason: ConnRejectReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** An inbound handshake dropped, silent, to give its slot to a new connection. */
export class HandshakeShedError extends HandshakeError {
  constructor(pending: number) {
    super(
      `handshake dropped: no byte received, slot given to a new connection (${pending} pending)`,
    );
  }
}

/** The transport was closed. */
export class TransportClosedError extends RejectedError {
  constructor() {
    super("transport has been closed");
  }
}

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

/** A remote TCP address. */
export interface RemoteAddr {
  readonly hostname: string;
  readonly port: number;
}

/** One result of the inbound side: an upgraded connection, or why a socket was refused. */
export type AcceptResult =
  | { readonly ok: true; readonly conn: TransportConn }
  | { readonly ok: false; readonly error: Error; readonly remoteAddr: RemoteAddr };

/** An upgraded connection, owned by whoever took it from the transport. */
export class TransportConn implements PeerConn {
  readonly stream: ByteStream;
  readonly nodeInfo: NodeInfo;
  readonly outbound: boolean;
  readonly remoteIP: string;
  readonly remoteAddr: RemoteAddr;
  readonly socketAddr: NetAddress;
  readonly #socket: TrackedSocket;

  /** @internal built by the transport. */
  constructor(
    socket: TrackedSocket,
    stream: ByteStream,
    nodeInfo: NodeInfo,
    socketAddr: NetAddress,
  ) {
    this.#socket = socket;
    this.stream = stream;
    this.nodeInfo = nodeInfo;
    this.outbound = socket.outbound;
    this.remoteIP = socket.ip;
    this.remoteAddr = socket.remote;
    this.socketAddr = socketAddr;
  }

  /** Closes the encrypted stream and the socket, and drops it from the connection set. */
  close(): void {
    closeQuietly(this.stream);
    this.#socket.close();
  }
}

/** A raw socket registered in the transport's connection set until it is closed. */
class TrackedSocket implements RawConn {
  #closed = false;
  /** True once the remote sent at least one byte (see shedding in the module comment). */
  heard = false;
  /** When the socket was accepted or dialed (performance.now()). */
  readonly since = performance.now();
  readonly key: string;
  readonly ip: string;

  constructor(
    readonly conn: Deno.Conn,
    readonly remote: RemoteAddr,
    readonly outbound: boolean,
    private readonly onClose: (s: TrackedSocket) => void,
  ) {
    // Canonical IP text, so the duplicate-IP check and NetAddress.ip agree.
    this.ip = NetAddress.fromIPPort(remote.hostname, remote.port).ip;
    this.key = `${this.ip.includes(":") ? `[${this.ip}]` : this.ip}:${remote.port}`;
  }
  get closed(): boolean {
    return this.#closed;
  }
  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.conn.read(p);
    if (n) this.heard = true;
    return n;
  }
  write(p: Uint8Array): Promise<number> {
    return this.conn.write(p);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.conn);
    this.onClose(this);
  }
}

/** Lifecycle of the transport. */
export type TransportState =
  | { readonly code: "idle" }
  | { readonly code: "listening"; readonly addr: Deno.NetAddr }
  | { readonly code: "closed" };

/** The TCP transport. See the module comment. */
export class Transport {
  /** The NodeInfo sent in every handshake. */
  nodeInfo: NodeInfo;
  readonly #key: UpgradeKey;
  readonly #maxIncoming: number;
  readonly #maxPending: number;
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
  /** Inbound handshakes in progress, oldest first, with the controller that sheds each. */
  readonly #handshaking = new Map<TrackedSocket, AbortController>();
  readonly #results: AcceptResult[] = [];
  #resultWaiter: PromiseWithResolvers<void> | undefined;
  #slotWaiter: PromiseWithResolvers<void> | undefined;
  #openInbound = 0;
  #pending = 0;
  #listener: Deno.TcpListener | undefined;
  #acceptLoop: Promise<void> | undefined;
  #state: TransportState = { code: "idle" };

  constructor(opts: TransportOptions) {
    this.#key = opts.nodeKey;
    this.nodeInfo = opts.nodeInfo;
    this.#maxIncoming = opts.maxIncomingConnections ?? 0;
    this.#maxPending = opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES;
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
    return this.#pending;
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
      if (this.#state.code === "closed") return null;
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
      this.#state = { code: "closed" };
      this.#ac.abort(new TransportClosedError());
      if (this.#listener) closeQuietly(this.#listener);
      this.#wakeSlot();
      this.#wakeResult();
    }
    await this.#acceptLoop;
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    for (const r of this.#results.splice(0)) if (r.ok) r.conn.close();
    this.#wakeResult();
  }

  async #runAcceptLoop(listener: Deno.TcpListener): Promise<void> {
    while (this.#state.code === "listening") {
      if (!this.#hasSlot() && this.#oldestSilent() === undefined) {
        this.#slotWaiter = Promise.withResolvers<void>();
        await this.#slotWaiter.promise;
        continue;
      }
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#state.code !== "listening") return;
        this.#log.error("Accept on transport errored", { err: e });
        return;
      }
      if (this.#state.code !== "listening") {
        closeQuietly(conn);
        return;
      }
      setNoDelay(conn);
      // Over a limit: the new connection waits (as it would have in the backlog) until a slot
      // frees or a silent handshake can be shed for it.
      while (!this.#hasSlot() && !this.#shedOldestSilent()) {
        if (this.#state.code !== "listening") break;
        const oldest = this.#oldestSilent();
        this.#slotWaiter = Promise.withResolvers<void>();
        if (oldest === undefined) await this.#slotWaiter.promise;
        else {
          const wait = SHED_MIN_SILENT_MS - (performance.now() - oldest.since);
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

  /** The oldest inbound handshake whose peer has sent nothing yet. */
  #oldestSilent(): TrackedSocket | undefined {
    for (const s of this.#handshaking.keys()) if (!s.heard) return s;
    return undefined;
  }

  /**
   * Fails the oldest handshake whose peer has been silent for at least
   * {@link SHED_MIN_SILENT_MS}, freeing its slot; false if there is none.
   */
  #shedOldestSilent(): boolean {
    const s = this.#oldestSilent();
    if (s === undefined || performance.now() - s.since < SHED_MIN_SILENT_MS) return false;
    const ac = this.#handshaking.get(s)!;
    this.#handshaking.delete(s);
    ac.abort(new HandshakeShedError(this.#pending));
    return true;
  }

  #hasSlot(): boolean {
    if (this.#maxIncoming > 0 && this.#openInbound >= this.#maxIncoming) return false;
    return this.#pending < this.#maxPending;
  }

  async #handleInbound(conn: Deno.TcpConn): Promise<void> {
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.#openInbound++;
    this.#pending++;
    let socket: TrackedSocket | undefined;
    try {
      socket = new TrackedSocket(conn, remote, false, (s) => {
        this.#untrack(s);
        this.#openInbound--;
        this.#wakeSlot();
      });
      this.#filter(socket);
      const shed = new AbortController();
      this.#handshaking.set(socket, shed);
      const up = await upgradeInbound(socket, {
        nodeKey: this.#key,
        nodeInfo: this.nodeInfo,
        timeoutMs: this.#handshakeTimeoutMs,
        signal: AbortSignal.any([this.#ac.signal, shed.signal]),
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
      if (socket) this.#handshaking.delete(socket);
      this.#pending--;
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
