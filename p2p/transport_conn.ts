/**
 * The transport's connections (CometBFT `p2p/conn_set.go` and the conn types of
 * `transport.go`): the raw sockets of the connection set ({@link TrackedSocket}), the upgraded
 * connections handed to the switch ({@link TransportConn}), what the inbound side yields
 * ({@link AcceptResult}) and why a socket was refused. Split from `transport.ts`, which
 * re-exports the public names.
 * @module
 */
import { type ByteStream, closeQuietly, type RawConn } from "./conn/stream.ts";
import { RejectedError } from "./errors.ts";
import { NetAddress } from "./netaddress.ts";
import type { NodeInfo } from "./node_info.ts";
import type { PeerConn } from "./peer.ts";

/** A deny-list hook: returns a reason to refuse `ip:port`, or undefined to let it through. */
export type ConnFilter = (ip: string, port: number) => string | undefined;

/** Why a socket was refused before the handshake. */
export type ConnRejectReason = "duplicate_conn" | "duplicate_ip" | "denied" | "pending_per_ip";

/** A socket refused by a connection filter; the message reads as Go's `ErrRejected`. */
export class ConnRejectedError extends RejectedError {
  readonly reason: ConnRejectReason;
  constructor(reason: ConnRejectReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The transport was closed. */
export class TransportClosedError extends RejectedError {
  constructor() {
    super("transport has been closed");
  }
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

/**
 * A raw socket registered in the transport's connection set until it is closed.
 * @internal the transport builds and tracks these.
 */
export class TrackedSocket implements RawConn {
  #closed = false;
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
  read(p: Uint8Array): Promise<number | null> {
    return this.conn.read(p);
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
