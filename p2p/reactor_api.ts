/**
 * The reactor-facing contract, in one module that imports no implementation (only types of
 * leaf value modules): what a protocol component implements to live in a switch
 * ({@link Reactor}), what it receives and sends ({@link Envelope}, {@link InboundEnvelope}), how
 * it declares a channel ({@link StreamDescriptor}), and the surfaces of the switch and of a peer
 * it may call ({@link ReactorSwitch}, {@link Peer}). CometBFT's `p2p/base_reactor.go`,
 * `p2p/types.go`, and the `Switch` / `Peer` methods of `spec/p2p/reactor-api/p2p-api.md`.
 * `switch.ts` and `peer.ts` implement the interfaces; a reactor author reads this file to know
 * everything they may touch.
 *
 * Call order the switch guarantees to every reactor (`testing/reactor_grammar.ts` checks it):
 * `getChannels`/`setSwitch` (at `addReactor`) → `start` (all reactors, registration order,
 * each awaited) → per peer connection: `initPeer` → `receive`* → `addPeer` → `receive`* →
 * `removePeer` → … → `stop`. At most one such per-peer sequence per node ID at a time. No peer
 * callback reaches a reactor before every reactor's `start` resolved; if one failed, none.
 *
 * Async callbacks: every peer callback may return a promise, and the switch awaits it. A
 * peer's next `receive` comes only after the previous one settled (per-peer order; other peers
 * are not held up), and meanwhile that peer's socket is not read, so the sender is slowed by
 * TCP flow control as with Go's blocking `Receive`. A throw or rejection from any peer
 * callback stops that peer (protocol violation naming the reactor), never the process.
 * @module
 */
import type protobuf from "protobufjs";
import type { NetAddress } from "./netaddress.ts";
import type { NodeInfo } from "./node_info.ts";
import type { StopReason } from "./stop_reason.ts";

export type {
  ConnectionErrorReason,
  GracefulReason,
  ProtocolViolationReason,
  ShutdownReason,
  StopReason,
} from "./stop_reason.ts";

/** Key/value pairs attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * The logger a reactor is given (`libs/log.ts`'s loggers implement it): one line per call,
 * fields as key/value pairs.
 */
export interface Logger {
  /** Detail for debugging; off by default. */
  debug(msg: string, fields?: LogFields): void;
  /** Routine events an operator may want to see. */
  info(msg: string, fields?: LogFields): void;
  /** Something went wrong and needs an operator's attention. */
  error(msg: string, fields?: LogFields): void;
  /** A child logger carrying `fields` on every line. */
  with(fields: LogFields): Logger;
}

/** A protobuf message as protobufjs represents it (snake_case field names). */
export type ProtoMessage = Record<string, unknown>;

/**
 * A channel as a reactor declares it: the MConnection parameters (Go `ChannelDescriptor`)
 * plus the message type its bytes decode to.
 */
export interface StreamDescriptor {
  /** Channel id, one byte (0x00–0xff). Unique across all reactors of a switch. */
  readonly id: number;
  /** Relative send priority (Go: `Priority`). */
  readonly priority: number;
  /** Messages the send queue holds (Go default 1). */
  readonly sendQueueCapacity?: number;
  /** Initial receive buffer size in bytes (Go default 4096). */
  readonly recvBufferCapacity?: number;
  /** Largest message accepted on this channel in bytes (Go default 22020096). */
  readonly recvMessageCapacity?: number;
  /** The protobuf type of every message on this channel (from `protoType(...)`). */
  readonly messageType: protobuf.Type;
  /**
   * The type is a `oneof` envelope (like `tendermint.p2p.Message`): a received message must
   * have exactly one member of that oneof set, otherwise the peer is stopped. `true` picks the
   * type's first oneof; a string names it. The set member's name is given to the reactor as
   * {@link InboundEnvelope.member}.
   */
  readonly unwrap?: true | string;
  /**
   * With `unwrap`: a message that decodes but sets none of the oneof members we know, while
   * carrying some field (a member a newer CometBFT line added, e.g. v1.0's
   * `HasProposalBlockPart`), is delivered with {@link InboundEnvelope.member} undefined instead
   * of stopping the peer. Malformed bytes and an empty message still stop it. Default false.
   */
  readonly tolerateUnknownMember?: boolean;
}

/** Go's name for the same shape, kept so Go readers find it. */
export type ChannelDescriptor = StreamDescriptor;

/** A message on a channel. `src` is set on received envelopes and ignored on sent ones. */
export interface Envelope<M extends ProtoMessage = ProtoMessage> {
  /** Channel the message travels on; decides the reactor and the message type. */
  readonly channelId: number;
  /** The message, an object of the channel's `messageType` (the oneof wrapper if `unwrap`). */
  readonly message: M;
  /** Sender of a received message. */
  readonly src?: Peer;
}

/** An envelope delivered to `Reactor.receive`. */
export interface InboundEnvelope<M extends ProtoMessage = ProtoMessage> extends Envelope<M> {
  /** The peer the message came from. */
  readonly src: Peer;
  /**
   * For `unwrap` channels: the name of the oneof member that is set (e.g. `pex_request`);
   * undefined for a member we do not know (only on `tolerateUnknownMember` channels).
   */
  readonly member?: string;
}

/** What every reactor implements. See the module comment for the call order. */
export interface Reactor {
  /** The channels this reactor owns. Called at registration (and may be called again). */
  getChannels(): readonly StreamDescriptor[];
  /** Gives the reactor its switch; called once at registration, before `start`. */
  setSwitch(sw: ReactorSwitch): void;
  /** Starts the reactor's own routines. Called once, before any peer callback. */
  start(): Promise<void>;
  /** Stops the reactor; called once, after every peer was removed. */
  stop(): Promise<void>;
  /**
   * A new peer connection exists but is not started yet: initialise per-peer state here, do not
   * send. Calling `stopPeerForError` here keeps the peer from being added (it then gets
   * `removePeer`).
   */
  initPeer(peer: Peer): void | Promise<void>;
  /** The peer is running and in the peer set: start talking to it. */
  addPeer(peer: Peer): void | Promise<void>;
  /** The peer has been stopped: drop per-peer state; no more `receive` from it follows. */
  removePeer(peer: Peer, reason: StopReason): void | Promise<void>;
  /**
   * A message arrived on one of this reactor's channels. Return a promise to hold back this
   * peer's next message (and its socket reads) until it settles; a throw or rejection stops
   * the peer.
   */
  receive(envelope: InboundEnvelope): void | Promise<void>;
}

/** Options of {@link Peer.send}. */
export interface SendOptions {
  /** How long to wait for queue room (default 10 s, Go `defaultSendTimeout`). */
  timeoutMs?: number;
  /** Gives up early when aborted. */
  signal?: AbortSignal;
}

/** Lifecycle states of a peer. */
export type PeerState = "created" | "running" | "stopping" | "stopped";

/** A connected peer as a reactor sees it (implemented by `p2p/peer.ts`). */
export interface Peer {
  /** Remote node ID (equal to the authenticated key's ID). */
  readonly id: string;
  /** The peer's NodeInfo. */
  readonly nodeInfo: NodeInfo;
  /** True if we dialed this peer. */
  readonly isOutbound: boolean;
  /** Whether the switch redials this peer when it disconnects. */
  readonly isPersistent: boolean;
  /** Current lifecycle state. */
  readonly state: PeerState;
  /** True between start and the beginning of stop. */
  readonly isRunning: boolean;
  /** Aborted when the peer starts stopping: tie per-peer routines and waits to it. */
  readonly quitSignal: AbortSignal;
  /** Resolves once the peer is fully stopped. */
  quit(): Promise<void>;
  /** Remote IP of the socket (canonical text). */
  readonly remoteIP: string;
  /** Remote TCP address. */
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
  /** Outbound: the dialed address; inbound: ID + TCP remote address. */
  readonly socketAddr: NetAddress;
  /**
   * Queues `envelope.message` on its channel, waiting up to `timeoutMs` (10 s) for room.
   * Resolves false if the peer is not running, the channel is unknown or not advertised by the
   * peer, the message does not marshal, the queue stayed full, or too many sends already wait
   * for this peer (`max_waiting_sends_per_peer`): then it resolves false at once.
   */
  send(envelope: Envelope, opts?: SendOptions): Promise<boolean>;
  /** Like {@link send} but returns false at once when the queue is full. */
  trySend(envelope: Envelope): boolean;
  /** {@link send} of already-marshalled bytes; `label` is the `message_type` metrics label. */
  sendBytes(
    channelId: number,
    bytes: Uint8Array,
    label: string,
    opts?: SendOptions,
  ): Promise<boolean>;
  /** Non-blocking {@link sendBytes}. */
  trySendBytes(channelId: number, bytes: Uint8Array, label: string): boolean;
  /** True if the peer runs and the channel's queue has room. */
  canSend(channelId: number): boolean;
  /** True if the peer listed `channelId` in its NodeInfo. */
  hasChannel(channelId: number): boolean;
  /** Reads a value of the per-peer store (shared by all reactors). */
  get(key: string): unknown;
  /** Writes a value of the per-peer store. */
  set(key: string, value: unknown): void;
  /** Stops after the queued messages were written (Go `FlushStop`). */
  flushStop(): Promise<void>;
}

/** A read-only view of the connected peers (Go `IPeerSet`). */
export interface PeerSetView<P extends Peer = Peer> {
  /** True if a peer with this node ID is in the set. */
  has(id: string): boolean;
  /** True if any peer's remote IP equals `ip` (canonical text form). */
  hasIP(ip: string): boolean;
  /** The peer with this node ID. */
  get(id: string): P | undefined;
  /** Peers in insertion order. */
  list(): readonly P[];
  /** Number of peers. */
  readonly size: number;
}

/** Connected outbound and inbound peers (unconditional excluded) and dials in progress. */
export interface PeerCounts {
  /** Connected peers we dialed. */
  outbound: number;
  /** Connected peers that dialed us. */
  inbound: number;
  /** Dials in progress. */
  dialing: number;
}

/** The switch as a reactor sees it (implemented by `p2p/switch.ts`). */
export interface ReactorSwitch {
  /** True between start and the beginning of stop. */
  readonly isRunning: boolean;
  /** Aborted when the switch begins to stop. */
  readonly signal: AbortSignal;
  /** An immutable snapshot of the connected peers. */
  peers(): PeerSetView;
  /** Connected peers by direction, and dials in progress. */
  numPeers(): PeerCounts;
  /**
   * Sends to every connected peer ({@link Peer.send} each, in parallel); resolves with each
   * peer's result by node ID. Never rejects.
   */
  broadcast(envelope: Envelope): Promise<ReadonlyMap<string, boolean>>;
  /**
   * Stops `peer` for `reason` (a bare Error counts as a protocol violation); persistent peers
   * are redialed. Called from `initPeer`, it keeps the peer from being added. Resolves once
   * every reactor's `removePeer` ran, or, when called while that peer's `addPeer` or `receive`
   * is in flight (maybe the caller's own), once the peer is stopped: awaiting it inside a
   * callback never waits on itself.
   */
  stopPeerForError(peer: Peer, reason: StopReason | Error): Promise<void>;
  /** Stops `peer` without blame and without redial. */
  stopPeerGracefully(peer: Peer): Promise<void>;
  /** Tells the address book this peer behaved well. */
  markPeerAsGood(peer: Peer): void;
  /** Dials `id@host:port` addresses in the background, each after a random delay. */
  dialPeersAsync(addrs: readonly string[]): Promise<void>;
  /** Dials `addr` and adds it as a peer; rejects with the typed reason on failure. */
  dialPeerWithAddress(addr: NetAddress): Promise<void>;
  /** Dialing that ID, connected to it, or (unless duplicates are allowed) to its IP. */
  isDialingOrExistingAddress(addr: NetAddress): boolean;
  /** True while a redial loop for this ID is running. */
  isReconnecting(id: string): boolean;
  /** True if `addr` is a persistent peer entry. */
  isPeerPersistent(addr: NetAddress): boolean;
  /** True if `id` is an unconditional peer. */
  isPeerUnconditional(id: string): boolean;
  /** Private peer IDs (never gossiped). */
  readonly privatePeerIds: ReadonlySet<string>;
  /** `max_num_outbound_peers`. */
  maxNumOutboundPeers(): number;
  /** Our own NodeInfo, as advertised to peers. */
  readonly nodeInfo: NodeInfo;
  /** Our own address (our ID at the listen address), once listening. */
  netAddress(): NetAddress | undefined;
  /** The reactor registered under `name`. */
  reactor(name: string): Reactor | undefined;
  /** All reactors by name, in registration order. */
  reactors(): ReadonlyMap<string, Reactor>;
}
