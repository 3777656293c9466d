/**
 * The reactor contract (CometBFT `p2p/base_reactor.go`, `p2p/types.go`, and the grammar of
 * `spec/p2p/reactor-api/reactor.md`): what a protocol component implements to live in the
 * {@link Switch}, the {@link Envelope} it sends and receives, the {@link StreamDescriptor} that
 * binds a channel to a protobuf message type, and {@link BaseReactor} with no-op defaults.
 *
 * Call order the switch guarantees to every reactor (checked in tests by
 * `tests/util/reactor_grammar.ts`):
 * `getChannels`/`setSwitch` (at `addReactor`) → `start` → per peer connection:
 * `initPeer` → `receive`* → `addPeer` → `receive`* → `removePeer` → … → `stop`.
 * `receive` is synchronous and only ever carries a channel the reactor registered; nothing
 * arrives after `removePeer`. A throw from any peer callback stops that peer with a
 * protocol-violation reason, never the process.
 * @module
 */
import protobuf from "protobufjs";
import { encode } from "./proto.ts";
import { messageTypeLabel } from "./metrics.ts";
import { AlreadyStartedError } from "./errors.ts";
import type { StopReason } from "./stop_reason.ts";
import type { Peer } from "./peer.ts";
import type { Switch } from "./switch.ts";
import { type Logger, nopLogger } from "../libs/log.ts";

/** A protobuf message as protobufjs represents it (snake_case field names). */
export type ProtoMessage = Record<string, unknown>;

/**
 * A channel as a reactor declares it: the MConnection parameters (structurally a
 * `ChannelDescriptor` of `p2p/conn/mconnection.ts`) plus the message type its bytes decode to.
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
  setSwitch(sw: Switch): void;
  /** Starts the reactor's own routines. Called once, before any peer callback. */
  start(): Promise<void>;
  /** Stops the reactor; called once, after every peer was removed. */
  stop(): Promise<void>;
  /**
   * A new peer connection exists but is not started yet: initialise per-peer state here, do not
   * send. (Go's `InitPeer` may return a wrapped peer; here the peer object is always the one
   * the switch made.)
   */
  initPeer(peer: Peer): void;
  /** The peer is running and in the peer set: start talking to it. */
  addPeer(peer: Peer): void;
  /** The peer has been stopped: drop per-peer state; no more `receive` from it follows. */
  removePeer(peer: Peer, reason: StopReason): void;
  /** A message arrived on one of this reactor's channels. Must not block; may throw. */
  receive(envelope: InboundEnvelope): void;
}

/** Lifecycle of a {@link BaseReactor}: an explicit state machine, each step taken once. */
export type ReactorState = "created" | "running" | "stopped";

/**
 * A reactor with no-op peer callbacks and the start/stop bookkeeping: subclasses override
 * what they need and `onStart`/`onStop` for their routines. {@link signal} aborts at stop so
 * every loop a reactor starts can be tied to it.
 */
export class BaseReactor implements Reactor {
  /** Reactor name, used in logs. */
  readonly name: string;
  /** The switch, set at registration. */
  protected sw: Switch | undefined;
  /** Component logger. */
  protected readonly logger: Logger;
  #state: ReactorState = "created";
  readonly #abort = new AbortController();

  constructor(name: string, logger: Logger = nopLogger) {
    this.name = name;
    this.logger = logger;
  }

  /** Current lifecycle state. */
  get state(): ReactorState {
    return this.#state;
  }
  /** True between `start` and `stop`. */
  get isRunning(): boolean {
    return this.#state === "running";
  }
  /** Aborted when the reactor stops; pass it to every loop and wait. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }
  /** The switch this reactor was registered with. */
  get switch(): Switch | undefined {
    return this.sw;
  }

  getChannels(): readonly StreamDescriptor[] {
    return [];
  }
  setSwitch(sw: Switch): void {
    this.sw = sw;
  }
  async start(): Promise<void> {
    if (this.#state !== "created") {
      throw new AlreadyStartedError(`reactor ${this.name}: ${this.#state}`);
    }
    this.#state = "running";
    await this.onStart();
  }
  async stop(): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "stopped";
    this.#abort.abort();
    await this.onStop();
  }
  /** Hook for subclasses: start routines here. */
  protected onStart(): Promise<void> {
    return Promise.resolve();
  }
  /** Hook for subclasses: await routines here ({@link signal} is already aborted). */
  protected onStop(): Promise<void> {
    return Promise.resolve();
  }
  initPeer(_peer: Peer): void {}
  addPeer(_peer: Peer): void {}
  removePeer(_peer: Peer, _reason: StopReason): void {}
  receive(_envelope: InboundEnvelope): void {}
}

/** A message did not fit its channel's type, or a received one did not decode. */
export class MessageCodecError extends Error {
  /** Channel the message belonged to. */
  readonly channelId: number;
  constructor(channelId: number, message: string, options?: ErrorOptions) {
    super(`channel 0x${channelId.toString(16)}: ${message}`, options);
    this.name = "MessageCodecError";
    this.channelId = channelId;
  }
}

/** A decoded inbound message with what the switch needs to route and count it. */
export interface DecodedMessage {
  readonly message: ProtoMessage;
  readonly member?: string;
  /** `message_type` metrics label of the inner message. */
  readonly typeLabel: string;
}

function oneofOf(desc: StreamDescriptor): protobuf.OneOf {
  const t = desc.messageType;
  if (typeof desc.unwrap === "string") {
    const o = t.oneofs?.[desc.unwrap];
    if (!o) throw new MessageCodecError(desc.id, `type ${t.fullName} has no oneof ${desc.unwrap}`);
    return o;
  }
  const o = t.oneofsArray[0];
  if (!o) throw new MessageCodecError(desc.id, `type ${t.fullName} has no oneof to unwrap`);
  return o;
}

/**
 * Per-channel codec, built once at registration: decodes received bytes with the channel's
 * type (checking the oneof for envelope types) and marshals outgoing messages gogoproto-exact.
 */
export class ChannelCodec {
  readonly desc: StreamDescriptor;
  readonly #oneof: protobuf.OneOf | undefined;
  /** `message_type` label of non-envelope messages. */
  readonly typeLabel: string;

  constructor(desc: StreamDescriptor) {
    this.desc = desc;
    this.#oneof = desc.unwrap === undefined ? undefined : oneofOf(desc);
    this.typeLabel = messageTypeLabel(desc.messageType.fullName);
  }

  /** Decodes one received message; throws {@link MessageCodecError} on bad bytes or unset oneof. */
  decode(bytes: Uint8Array): DecodedMessage {
    let message: ProtoMessage;
    try {
      message = this.desc.messageType.decode(bytes) as unknown as ProtoMessage;
    } catch (e) {
      throw new MessageCodecError(
        this.desc.id,
        `unmarshaling message into ${this.desc.messageType.fullName}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const oneof = this.#oneof;
    if (oneof === undefined) return { message, typeLabel: this.typeLabel };
    for (const field of oneof.fieldsArray) {
      if (Object.hasOwn(message, field.name) && message[field.name] != null) {
        const inner = field.resolvedType;
        return {
          message,
          member: field.name,
          typeLabel: inner ? messageTypeLabel(inner.fullName) : this.typeLabel,
        };
      }
    }
    // Well-formed (it decoded) and not empty: only fields our type does not know.
    if (this.desc.tolerateUnknownMember === true && bytes.length > 0) {
      return { message, typeLabel: this.typeLabel };
    }
    throw new MessageCodecError(
      this.desc.id,
      `unwrapping message: ${this.desc.messageType.fullName}.${oneof.name} is not set`,
    );
  }

  /** The `message_type` label of an outgoing message (the set oneof member for envelopes). */
  labelOf(message: ProtoMessage): string {
    const oneof = this.#oneof;
    if (oneof === undefined) return this.typeLabel;
    for (const field of oneof.fieldsArray) {
      if (message[field.name] != null) {
        return field.resolvedType ? messageTypeLabel(field.resolvedType.fullName) : this.typeLabel;
      }
    }
    return this.typeLabel;
  }

  /** Marshals `message`; throws {@link MessageCodecError} if it does not fit the type. */
  encode(message: ProtoMessage): Uint8Array {
    const t = this.desc.messageType;
    if (message === null || typeof message !== "object") {
      throw new MessageCodecError(this.desc.id, `message is not an object`);
    }
    const problem = t.verify(message);
    if (problem !== null) {
      throw new MessageCodecError(this.desc.id, `marshaling ${t.fullName}: ${problem}`);
    }
    try {
      return encode(t, message);
    } catch (e) {
      throw new MessageCodecError(
        this.desc.id,
        `marshaling ${t.fullName}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }
}
