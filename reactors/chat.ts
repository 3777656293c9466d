/**
 * Gossip chat: the reference reactor to copy when writing your own.
 *
 * A user types a line on any node (`deno task cli say "hello"`, or RPC `say`); every node of
 * the network prints it exactly once, with the author's moniker. Lines travel by flooding:
 * each node forwards a line it has not seen before to every peer except the ones known to
 * have it, and remembers its id so a copy arriving by another path is dropped.
 *
 * It shows every part of the reactor API at work:
 *
 * | API | where | why |
 * |-----|-------|-----|
 * | `getChannels` | {@link ChatReactor.getChannels} | one channel of our own, {@link CHAT_CHANNEL}, with a protobuf `oneof` envelope the switch unwraps |
 * | `initPeer` + `peer.set` | {@link ChatReactor.initPeer} | per-peer state lives in the peer's key/value store, so it dies with the connection |
 * | `peer.get` | {@link chatPeerState} | any reactor can read it back by key |
 * | `receive` | {@link ChatReactor.receive} | synchronous by choice (an async one would hold back the peer's next message): validate, dedup, print, forward |
 * | `stopPeerForError` | malformed line | a peer that breaks the protocol is disconnected (and, if persistent, redialed after a cooldown) |
 * | `markPeerAsGood` | every {@link DEFAULT_LINES_TO_BECOME_GOOD_PEER} new lines | tells the address book the peer is useful (Go's consensus reactor does this per 10000 votes) |
 * | `switch.broadcast` | {@link ChatReactor.say} | our own line goes to every peer at once, marshalled once |
 * | `trySend` + backpressure | forwarding | no waiting in `receive` (one slow peer must not hold back lines from the others): if a peer's queue is full the line goes to that peer's bounded backlog, flushed by a loop owned by `start`/`stop` |
 * | `signal` | the flush loop | aborted at `stop`; `onStop` awaits the loop |
 *
 * Channel choice: {@link CHAT_CHANNEL} = 0x7C, unused by CometBFT v0.38 (0x00, 0x20–0x23, 0x30,
 * 0x38, 0x40, 0x60–0x61) and by the interop test peer's echo channels (0x70–0x72), and below
 * 0x80 so a packet's channel id stays one byte. Go nodes do not advertise it, and we only ever
 * send on channels a peer advertised, so chat never reaches (or disconnects) a Go node.
 * @module
 */
import { isValidId } from "../p2p/key.ts";
import type { Peer } from "../p2p/reactor_api.ts";
import { protoType } from "../p2p/proto.ts";
import {
  BaseReactor,
  type InboundEnvelope,
  type ProtoMessage,
  type StreamDescriptor,
} from "../p2p/reactor.ts";
import type { StopReason } from "../p2p/stop_reason.ts";
import type { Logger } from "../libs/log.ts";
import type { Route, RouteArgs } from "../rpc/types.ts";
import { int64ToBigInt } from "./consensus_msgs.ts";

/** Our chat channel id (see the module comment for why 0x7C). */
export const CHAT_CHANNEL = 0x7c;
/** Low priority: chat must never delay consensus or mempool traffic. */
export const CHAT_PRIORITY = 1;
/** Messages queued per peer in the MConnection before `trySend` reports "full". */
export const CHAT_SEND_QUEUE = 16;
/** Longest accepted text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 1000;
/** Longest accepted moniker, in bytes. */
export const MAX_MONIKER_BYTES = 128;
/** Largest message on the channel: a full line plus envelope overhead, rounded up. */
export const CHAT_MAX_MSG_BYTES = 2048;
/** Line ids remembered for dedup (oldest forgotten first). */
export const SEEN_CACHE_SIZE = 10_000;
/** Lines remembered per peer as "this peer has it". */
export const PEER_KNOWN_SIZE = 1_000;
/** Lines waiting per peer while its send queue is full; the oldest is dropped beyond. */
export const PEER_BACKLOG_LIMIT = 256;
/** How often the flush loop retries backlogs. */
export const BACKLOG_FLUSH_INTERVAL_MS = 50;
/** New valid lines from a peer between two `markPeerAsGood` calls. */
export const DEFAULT_LINES_TO_BECOME_GOOD_PEER = 10;
/** Key of our per-peer state in the peer key/value store. */
export const CHAT_PEER_STATE_KEY = "ChatReactor.peerState";
/** Length of a line id in bytes. */
export const LINE_ID_BYTES = 16;

/** A chat line as shown to users. */
export interface ChatLine {
  /** Hex of the 16-byte id. */
  readonly id: string;
  /** Author's node ID. */
  readonly origin: string;
  /** Author's moniker. */
  readonly moniker: string;
  readonly text: string;
  /** Author's clock. */
  readonly sentAtMs: number;
  /** The peer we got it from; undefined for our own lines. */
  readonly via?: string;
}

/** A received line that breaks the protocol; the sender is stopped for error. */
export class MalformedChatLineError extends Error {
  constructor(message: string) {
    super(`malformed chat line: ${message}`);
    this.name = "MalformedChatLineError";
  }
}

/** A line we refuse to send (empty, too long, control characters). */
export class InvalidChatTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidChatTextError";
  }
}

/** A Set that forgets its oldest members beyond `limit` (insertion order). */
class BoundedSet {
  readonly #set = new Set<string>();
  constructor(readonly limit: number) {}
  has(k: string): boolean {
    return this.#set.has(k);
  }
  add(k: string): void {
    if (this.#set.has(k)) return;
    this.#set.add(k);
    if (this.#set.size > this.limit) {
      const oldest = this.#set.values().next().value;
      if (oldest !== undefined) this.#set.delete(oldest);
    }
  }
}

/** What the chat reactor keeps per peer, under {@link CHAT_PEER_STATE_KEY}. */
export class ChatPeerState {
  /** Ids of lines this peer has (it sent them to us, or we sent them to it). */
  readonly known = new BoundedSet(PEER_KNOWN_SIZE);
  /** Lines waiting for room in the peer's send queue. */
  readonly backlog: ProtoMessage[] = [];
  /** New valid lines this peer gave us. */
  useful = 0;
  /** Lines that had to wait in the backlog (the queue was full). */
  deferred = 0;
  /** Lines dropped because the backlog overflowed. */
  dropped = 0;
}

/** The chat state of a peer, read back from its key/value store. */
export function chatPeerState(peer: Pick<Peer, "get">): ChatPeerState | undefined {
  const v = peer.get(CHAT_PEER_STATE_KEY);
  return v instanceof ChatPeerState ? v : undefined;
}

/** Options of {@link ChatReactor}. */
export interface ChatOptions {
  /** Our node ID (the `origin` of our lines); default: the switch's NodeInfo at start. */
  nodeId?: string;
  /** Our moniker, shown with our lines; default: the switch's NodeInfo at start. */
  moniker?: string;
  /** Called once per line, ours included: print it, log it, collect it. */
  onLine?: (line: ChatLine) => void;
  /** New lines from a peer per `markPeerAsGood`. */
  linesToBecomeGoodPeer?: number;
  logger?: Logger;
}

const HEX = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const utf8Len = (s: string) => new TextEncoder().encode(s).length;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** Checks text a user wants to send; throws {@link InvalidChatTextError}. */
export function validateChatText(text: string): void {
  if (text.length === 0) throw new InvalidChatTextError("chat text is empty");
  const n = utf8Len(text);
  if (n > MAX_TEXT_BYTES) {
    throw new InvalidChatTextError(`chat text is ${n} bytes, max ${MAX_TEXT_BYTES}`);
  }
  if (CONTROL.test(text)) throw new InvalidChatTextError("chat text contains control characters");
}

/** Validates a received `Line`; throws {@link MalformedChatLineError}. */
export function parseLine(raw: Record<string, unknown>, via?: string): ChatLine {
  const id = raw.id instanceof Uint8Array ? raw.id : new Uint8Array();
  if (id.length !== LINE_ID_BYTES) throw new MalformedChatLineError(`id is ${id.length} bytes`);
  const origin = typeof raw.origin === "string" ? raw.origin : "";
  if (!isValidId(origin)) throw new MalformedChatLineError("origin is not a node ID");
  const moniker = typeof raw.moniker === "string" ? raw.moniker : "";
  if (!PRINTABLE_ASCII.test(moniker) || moniker.length > MAX_MONIKER_BYTES) {
    throw new MalformedChatLineError("moniker must be 1-128 printable ASCII characters");
  }
  const text = typeof raw.text === "string" ? raw.text : "";
  try {
    validateChatText(text);
  } catch (e) {
    throw new MalformedChatLineError((e as Error).message);
  }
  const sentAtMs = Number(int64ToBigInt(raw.sent_at_ms));
  const line = { id: HEX(id), origin, moniker, text, sentAtMs };
  return via === undefined ? line : { ...line, via };
}

/** The reactor. Register it under the name `chat`. */
export class ChatReactor extends BaseReactor {
  #nodeId: string;
  #moniker: string;
  readonly #onLine: ((line: ChatLine) => void) | undefined;
  readonly #goodAfter: number;
  readonly #seen = new BoundedSet(SEEN_CACHE_SIZE);
  readonly #type = protoType("switchyard.chat.Message");
  #flushLoop: Promise<void> | undefined;
  #wakeFlush: (() => void) | undefined;

  constructor(opts: ChatOptions) {
    super("chat", opts.logger);
    this.#nodeId = opts.nodeId ?? "";
    this.#moniker = opts.moniker ?? "";
    this.#onLine = opts.onLine;
    this.#goodAfter = Math.max(1, opts.linesToBecomeGoodPeer ?? DEFAULT_LINES_TO_BECOME_GOOD_PEER);
  }

  /** Our node ID, as put in our lines' `origin`. */
  get nodeId(): string {
    return this.#nodeId;
  }
  /** Our moniker, as shown with our lines. */
  get moniker(): string {
    return this.#moniker;
  }

  /** One channel, with the `switchyard.chat.Message` oneof the switch unwraps for us. */
  override getChannels(): readonly StreamDescriptor[] {
    return [{
      id: CHAT_CHANNEL,
      priority: CHAT_PRIORITY,
      sendQueueCapacity: CHAT_SEND_QUEUE,
      recvMessageCapacity: CHAT_MAX_MSG_BYTES,
      messageType: this.#type,
      unwrap: true,
    }];
  }

  /** Starts the backlog flush loop, tied to {@link BaseReactor.signal}. */
  protected override onStart(): Promise<void> {
    // The NodeInfo is final once the switch starts (it lists every reactor's channels).
    const ni = this.sw?.nodeInfo;
    if (this.#nodeId === "" && ni) this.#nodeId = ni.id;
    if (this.#moniker === "" && ni) this.#moniker = ni.moniker;
    this.#flushLoop = this.#flushRoutine();
    return Promise.resolve();
  }

  /** The signal is already aborted here: wait for the loop to notice. */
  protected override async onStop(): Promise<void> {
    this.#wakeFlush?.();
    await this.#flushLoop;
  }

  /** Called before the peer starts: create its state (never send from here). */
  override initPeer(peer: Peer): void {
    peer.set(CHAT_PEER_STATE_KEY, new ChatPeerState());
  }

  /** Nothing to do: the per-peer state goes away with the peer object. */
  override removePeer(_peer: Peer, _reason: StopReason): void {}

  /**
   * A message arrived. Kept synchronous (validation, dedup, printing and queueing only): awaiting
   * here would hold back this peer's next line until every forward went out.
   */
  override receive(env: InboundEnvelope): void {
    let line: ChatLine;
    try {
      line = parseLine(env.message[env.member ?? "line"] as Record<string, unknown>, env.src.id);
    } catch (e) {
      this.logger.error("Peer sent a malformed chat line", { peer: env.src.id, err: e });
      // Not awaited: nothing to wait for here, and the switch owns the stop (its stop() awaits it).
      void this.sw?.stopPeerForError(env.src, e as Error);
      return;
    }
    const st = this.#state(env.src);
    st.known.add(line.id);
    if (this.#seen.has(line.id)) {
      // Arrived by another path already: flooding makes this normal, so debug only.
      this.logger.debug("Duplicate chat line dropped", { peer: env.src.id, line: line.id });
      return;
    }
    this.#seen.add(line.id);
    if (++st.useful % this.#goodAfter === 0) this.sw?.markPeerAsGood(env.src);
    this.#deliver(line);
    this.#forward(env.message, line.id, env.src);
  }

  /**
   * Writes a line as this node: prints it here and broadcasts it to every peer. Resolves when
   * every peer's send finished, with the line and how many peers accepted it.
   * @throws InvalidChatTextError for empty, oversized or control-character text
   */
  async say(text: string): Promise<{ line: ChatLine; peers: number }> {
    validateChatText(text);
    if (!this.isRunning) throw new InvalidChatTextError("chat reactor is not running");
    const id = crypto.getRandomValues(new Uint8Array(LINE_ID_BYTES));
    const sentAtMs = Date.now();
    const message = {
      line: { id, origin: this.#nodeId, moniker: this.#moniker, text, sent_at_ms: sentAtMs },
    };
    const line: ChatLine = {
      id: HEX(id),
      origin: this.#nodeId,
      moniker: this.#moniker,
      text,
      sentAtMs,
    };
    this.#seen.add(line.id);
    this.#deliver(line);
    if (!this.sw) return { line, peers: 0 };
    const results = await this.sw.broadcast({ channelId: CHAT_CHANNEL, message });
    let peers = 0;
    for (const [id, ok] of results) {
      if (!ok) continue;
      peers++;
      const p = this.sw.peers().get(id);
      if (p) this.#state(p).known.add(line.id);
    }
    return { line, peers };
  }

  /** The RPC route `say(text)` → `{id, moniker, peers}`. */
  routes(): Route[] {
    return [{
      name: "say",
      params: [{ name: "text", type: "string" }],
      handler: async (args: RouteArgs) => {
        const { line, peers } = await this.say(args.text as string);
        return { id: line.id, moniker: line.moniker, peers: String(peers) };
      },
    }];
  }

  #state(peer: Peer): ChatPeerState {
    let st = chatPeerState(peer);
    if (st === undefined) {
      st = new ChatPeerState();
      peer.set(CHAT_PEER_STATE_KEY, st);
    }
    return st;
  }

  #deliver(line: ChatLine): void {
    this.logger.debug("Chat", { from: line.moniker, text: line.text, via: line.via ?? "local" });
    try {
      this.#onLine?.(line);
    } catch (e) {
      this.logger.error("Chat line callback failed", { err: e });
    }
  }

  /** Forwards to every peer that speaks chat and is not known to have the line. */
  #forward(message: ProtoMessage, id: string, from: Peer): void {
    if (!this.sw) return;
    for (const peer of this.sw.peers().list()) {
      if (peer === from || !peer.hasChannel(CHAT_CHANNEL)) continue;
      const st = this.#state(peer);
      if (st.known.has(id)) continue;
      st.known.add(id);
      // Keep order: once a backlog exists, new lines queue behind it.
      if (st.backlog.length === 0 && peer.trySend({ channelId: CHAT_CHANNEL, message })) continue;
      st.backlog.push(message);
      st.deferred++;
      if (st.backlog.length > PEER_BACKLOG_LIMIT) {
        st.backlog.shift();
        st.dropped++;
      }
      this.#wakeFlush?.();
    }
  }

  /** Retries backlogs while any exist; sleeps until woken otherwise. Ends at stop. */
  async #flushRoutine(): Promise<void> {
    const signal = this.signal;
    while (!signal.aborted) {
      let pending = false;
      for (const peer of this.sw?.peers().list() ?? []) {
        const st = chatPeerState(peer);
        if (!st || st.backlog.length === 0) continue;
        while (st.backlog.length > 0 && peer.canSend(CHAT_CHANNEL)) {
          if (!peer.trySend({ channelId: CHAT_CHANNEL, message: st.backlog[0] })) break;
          st.backlog.shift();
        }
        if (st.backlog.length > 0 && peer.isRunning) pending = true;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.#wakeFlush = undefined;
          resolve();
        };
        // With work pending, poll; otherwise sleep until forward() wakes us (or stop).
        const timer = pending ? setTimeout(done, BACKLOG_FLUSH_INTERVAL_MS) : undefined;
        this.#wakeFlush = pending ? undefined : done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}
