/**
 * {@link BaseReactor} (CometBFT `p2p/base_reactor.go`): a reactor with no-op peer callbacks and
 * the start/stop bookkeeping, and the per-channel codec the switch builds from each
 * {@link StreamDescriptor}. The contract itself (the `Reactor` interface, envelopes, channel
 * descriptors, and the switch and peer surfaces a reactor may call) lives in `reactor_api.ts`
 * and is re-exported here; see it for the call order the switch guarantees.
 * @module
 */
import type protobuf from "protobufjs";
import { encode } from "./proto.ts";
import { messageTypeLabel } from "./metrics.ts";
import { AlreadyStartedError } from "./errors.ts";
import type { StopReason } from "./stop_reason.ts";
import type {
  InboundEnvelope,
  Logger,
  Peer,
  ProtoMessage,
  Reactor,
  ReactorSwitch,
  StreamDescriptor,
} from "./reactor_api.ts";
import { nopLogger } from "../libs/log.ts";

export type {
  ChannelDescriptor,
  Envelope,
  InboundEnvelope,
  Peer,
  ProtoMessage,
  Reactor,
  ReactorSwitch,
  StreamDescriptor,
} from "./reactor_api.ts";

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
  protected sw: ReactorSwitch | undefined;
  /** Component logger. */
  protected readonly logger: Logger;
  #state: ReactorState = "created";
  readonly #abort = new AbortController();

  /** A reactor called `name` (in logs) logging to `logger` (default: silent). */
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
  get switch(): ReactorSwitch | undefined {
    return this.sw;
  }

  getChannels(): readonly StreamDescriptor[] {
    return [];
  }
  setSwitch(sw: ReactorSwitch): void {
    this.sw = sw;
  }
  async start(): Promise<void> {
    if (this.#state !== "created") {
      throw new AlreadyStartedError(`reactor ${this.name}: ${this.#state}`);
    }
    this.#state = "running";
    try {
      await this.onStart();
    } catch (e) {
      // A reactor whose start failed is stopped: its routines see the signal, stop() is a no-op.
      this.#state = "stopped";
      this.#abort.abort();
      throw e;
    }
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
  initPeer(_peer: Peer): void | Promise<void> {}
  addPeer(_peer: Peer): void | Promise<void> {}
  removePeer(_peer: Peer, _reason: StopReason): void | Promise<void> {}
  receive(_envelope: InboundEnvelope): void | Promise<void> {}
}

/** A message did not fit its channel's type, or a received one did not decode. */
export class MessageCodecError extends Error {
  /** Channel the message belonged to. */
  readonly channelId: number;
  /** `message` says what was wrong with the message on `channelId`. */
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
