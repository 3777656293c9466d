/**
 * A TypeScript echo / test reactor that speaks the test-channel wire encoding of the Go interop
 * program (`tests/interop/go/`, see its `main.go`): every message on a test channel is a
 * `google.protobuf.BytesValue`, i.e. `0x0a uvarint(len) payload` (an empty payload is the
 * empty message). Channel defaults match the Go program's descriptors (ids 0x70/0x71/0x72 with
 * priorities 1/5/10, send queue 100, receive capacity 8 MiB + 1 KiB), so a switch carrying an
 * {@link EchoReactor} and the Go `serve` node agree on every channel parameter.
 *
 * Used by the interop echo tests (recording mode) and by the switch benchmark (echo mode on the
 * server side, a counting hook on the client side).
 * @module
 */
import { protoType } from "../../p2p/proto.ts";
import type { MConnConfig } from "../../p2p/conn/mconnection.ts";
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import type { Peer } from "../../p2p/reactor_api.ts";
import { BaseReactor, type InboundEnvelope, type StreamDescriptor } from "../../p2p/reactor.ts";
import type { StopReason } from "../../p2p/stop_reason.ts";
import { Switch } from "../../p2p/switch.ts";
import { Transport } from "../../p2p/transport.ts";
import type { Logger } from "../../libs/log.ts";
import { type RecordedReactor, recordReactor } from "./reactor_grammar.ts";

/** `google.protobuf.BytesValue`, the message type of every test channel. */
export const BYTES_VALUE = protoType("google.protobuf.BytesValue");

const EMPTY = new Uint8Array(0);

/** Test channels of the Go program by default (`--channels 0x70:1,0x71:5,0x72:10`). */
export const DEFAULT_ECHO_CHANNELS: readonly { id: number; priority: number }[] = [
  { id: 0x70, priority: 1 },
  { id: 0x71, priority: 5 },
  { id: 0x72, priority: 10 },
];
/** Go program: `echoSendQueueCapacity`. */
export const ECHO_SEND_QUEUE_CAPACITY = 100;
/** Go program: `echoRecvBufferCapacity`. */
export const ECHO_RECV_BUFFER_CAPACITY = 4096;
/** Go program: `echoRecvMessageCapacity` (an 8 MiB payload plus its BytesValue framing). */
export const ECHO_RECV_MESSAGE_CAPACITY = 8 * 1024 * 1024 + 1024;

/** A test channel descriptor with the Go program's parameters. */
export function echoChannel(id: number, priority: number): StreamDescriptor {
  return {
    id,
    priority,
    sendQueueCapacity: ECHO_SEND_QUEUE_CAPACITY,
    recvBufferCapacity: ECHO_RECV_BUFFER_CAPACITY,
    recvMessageCapacity: ECHO_RECV_MESSAGE_CAPACITY,
    messageType: BYTES_VALUE,
  };
}

/**
 * The payload the Go program's `send` command builds from `len`: byte i = i mod 256 (both sides
 * can compute its hash without shipping the bytes).
 */
export function patternPayload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i & 0xff;
  return out;
}

/** Lower-case hex SHA-256 of `bytes` (the Go program reports `sha256` in this form). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One received message. */
export interface EchoReceived {
  readonly peer: string;
  readonly channelId: number;
  readonly payload: Uint8Array;
}

/** Options of {@link EchoReactor}. */
export interface EchoReactorOptions {
  /** Reactor name (default `ECHO`, as the Go program registers it). */
  name?: string;
  /** Channels (default {@link DEFAULT_ECHO_CHANNELS}). */
  channels?: readonly StreamDescriptor[];
  /** Send every received payload back to its sender on the same channel (default false). */
  echo?: boolean;
  /** Keep received payloads in {@link EchoReactor.received} (default true). */
  keep?: boolean;
  /** Called for every received payload (after recording). */
  onMessage?: (channelId: number, payload: Uint8Array, src: Peer) => void;
}

/** Echoes waiting for one (peer, channel): a FIFO drained by one send loop at a time. */
interface EchoQueue {
  readonly peer: Peer;
  readonly channelId: number;
  items: Uint8Array[];
  head: number;
  pumping: boolean;
}

/**
 * Echo / recording reactor on BytesValue channels. Echoes go through `Peer.send` (blocking
 * semantics), like the Go echo reactor's `Peer.Send`. Go's `Receive` blocks in `Send` and so
 * pushes back on the sender; an async `receive` awaiting its echo would do the same here (see
 * `p2p/reactor_api.ts`), but this one stays synchronous to measure the switch alone, so echoes
 * wait in a FIFO per
 * (peer, channel), sent by one loop each: at most one `send` waits per channel (thousands of
 * parked sends would each hold a timer and an abort listener), and order per channel is kept.
 * The loops are tracked; {@link EchoReactor.drained} waits for them.
 */
export class EchoReactor extends BaseReactor {
  readonly channels: readonly StreamDescriptor[];
  readonly echo: boolean;
  readonly keep: boolean;
  /** Received payloads in arrival order (when `keep`). */
  readonly received: EchoReceived[] = [];
  /** Connected peers by ID (added and not yet removed). */
  readonly peers = new Map<string, Peer>();
  /** Counters. */
  readonly stats = { received: 0, receivedBytes: 0, echoed: 0, echoFailed: 0 };
  onMessage: ((channelId: number, payload: Uint8Array, src: Peer) => void) | undefined;
  #inflight = 0;
  #idle: PromiseWithResolvers<void> | undefined;
  readonly #queues = new Map<Peer, Map<number, EchoQueue>>();
  #waiters: (() => void)[] = [];

  constructor(opts: EchoReactorOptions = {}) {
    super(opts.name ?? "ECHO");
    this.channels = opts.channels ??
      DEFAULT_ECHO_CHANNELS.map((c) => echoChannel(c.id, c.priority));
    this.echo = opts.echo ?? false;
    this.keep = opts.keep ?? true;
    this.onMessage = opts.onMessage;
  }

  override getChannels(): readonly StreamDescriptor[] {
    return this.channels;
  }

  override addPeer(peer: Peer): void {
    this.peers.set(peer.id, peer);
    this.#wake();
  }

  override removePeer(peer: Peer, _reason: StopReason): void {
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    // Pending echoes to a stopped peer fail at once (send resolves false); the loops end.
    this.#queues.delete(peer);
    this.#wake();
  }

  override receive(env: InboundEnvelope): void {
    const payload = (env.message as { value?: Uint8Array }).value ?? new Uint8Array(0);
    this.stats.received++;
    this.stats.receivedBytes += payload.length;
    if (this.keep) this.received.push({ peer: env.src.id, channelId: env.channelId, payload });
    this.onMessage?.(env.channelId, payload, env.src);
    if (this.echo) this.#echo(env.src, env.channelId, payload);
    if (this.#waiters.length > 0) this.#wake();
  }

  /** Received payloads of one channel (and optionally one peer), in arrival order. */
  receivedOn(channelId: number, peer?: string): Uint8Array[] {
    return this.received
      .filter((r) => r.channelId === channelId && (peer === undefined || r.peer === peer))
      .map((r) => r.payload);
  }

  /** Resolves when `cond` holds, re-checked after every reactor event; rejects after `ms`. */
  async until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves once every echo send has settled. */
  drained(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  protected override async onStop(): Promise<void> {
    await this.drained();
  }

  #echo(peer: Peer, channelId: number, payload: Uint8Array): void {
    let byChannel = this.#queues.get(peer);
    if (byChannel === undefined) {
      byChannel = new Map();
      this.#queues.set(peer, byChannel);
    }
    let q = byChannel.get(channelId);
    if (q === undefined) {
      q = { peer, channelId, items: [], head: 0, pumping: false };
      byChannel.set(channelId, q);
    }
    q.items.push(payload);
    if (q.pumping) return;
    q.pumping = true;
    this.#inflight++;
    this.#pump(q).finally(() => {
      q.pumping = false;
      if (--this.#inflight === 0 && this.#idle) {
        this.#idle.resolve();
        this.#idle = undefined;
      }
    });
  }

  async #pump(q: EchoQueue): Promise<void> {
    while (q.head < q.items.length) {
      const value = q.items[q.head];
      q.items[q.head++] = EMPTY;
      if (q.head > 1024 && q.head * 2 > q.items.length) {
        q.items = q.items.slice(q.head);
        q.head = 0;
      }
      let ok = false;
      try {
        ok = await q.peer.send({ channelId: q.channelId, message: { value } });
      } catch {
        ok = false;
      }
      if (ok) this.stats.echoed++;
      else this.stats.echoFailed++;
    }
    q.items = [];
    q.head = 0;
  }

  #wake(): void {
    const ws = this.#waiters.splice(0);
    for (const w of ws) w();
  }
}

/** Network of the Go program by default (`--chain-id test-chain`). */
export const ECHO_CHAIN_ID = "test-chain";

/** Options of {@link makeEchoNode}. */
export interface EchoNodeOptions {
  /** The reactor (default: a recording, non-echoing {@link EchoReactor}). */
  reactor?: EchoReactor;
  key?: NodeKey;
  /** Listen port on 127.0.0.1 (default: any). */
  port?: number;
  moniker?: string;
  /** `max_num_inbound_peers` (default 40). */
  maxInbound?: number;
  /** MConnection settings (rates, flush throttle, ...). */
  mconn?: Partial<MConnConfig>;
  logger?: Logger;
  /**
   * Wrap the reactor in the grammar recorder (default true). Benchmarks turn it off, so what
   * they measure is the stack and the echo reactor, not the recorder's bookkeeping.
   */
  record?: boolean;
}

/** A started switch carrying one recorded {@link EchoReactor}. */
export interface EchoNode {
  readonly key: NodeKey;
  readonly sw: Switch;
  readonly transport: Transport;
  readonly reactor: EchoReactor;
  readonly recorder: RecordedReactor<EchoReactor>;
  /** Our dialable address. */
  readonly addr: NetAddress;
  stop(): Promise<void>;
}

/**
 * Builds, listens and starts a switch on 127.0.0.1 with an {@link EchoReactor} (wrapped in the
 * grammar recorder unless `record: false`; the recorder then exists but sees nothing). As a node does: the transport's incoming cap is max inbound + #unconditional
 * (none here) and its NodeInfo advertises `sw.channelIds()`; duplicate IPs are allowed, since
 * every test peer is on 127.0.0.1.
 */
export async function makeEchoNode(opts: EchoNodeOptions = {}): Promise<EchoNode> {
  const key = opts.key ?? NodeKey.generate();
  const reactor = opts.reactor ?? new EchoReactor();
  const maxInbound = opts.maxInbound ?? 40;
  const moniker = opts.moniker ?? `ts-echo-${key.id.slice(0, 6)}`;
  const transport = new Transport({
    nodeKey: key,
    nodeInfo: makeNodeInfo({ id: key.id, network: ECHO_CHAIN_ID, moniker, channels: [] }),
    allowDuplicateIP: true,
    maxIncomingConnections: maxInbound,
    logger: opts.logger,
  });
  const sw = new Switch({
    transport,
    logger: opts.logger,
    config: {
      allowDuplicateIP: true,
      maxNumInboundPeers: maxInbound,
      mconnConfig: opts.mconn ?? {},
    },
  });
  const recorder = recordReactor(reactor);
  sw.addReactor(reactor.name, opts.record === false ? reactor : recorder);
  const la = transport.listen({ hostname: "127.0.0.1", port: opts.port ?? 0 });
  transport.nodeInfo = makeNodeInfo({
    id: key.id,
    network: ECHO_CHAIN_ID,
    moniker,
    channels: sw.channelIds(),
    listenAddr: `tcp://127.0.0.1:${la.port}`,
  });
  await sw.start();
  return {
    key,
    sw,
    transport,
    reactor,
    recorder,
    addr: NetAddress.fromIPPort("127.0.0.1", la.port, key.id),
    stop: () => sw.stop(),
  };
}
