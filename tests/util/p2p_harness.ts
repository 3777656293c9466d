/**
 * Test harness for switch-level tests: a {@link TestReactor} that records what it receives
 * (and can be told to throw), and {@link makeNode}, which builds a listening, started switch on
 * 127.0.0.1 with its reactors wrapped in the grammar recorder.
 * @module
 */
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import { protoType } from "../../p2p/proto.ts";
import type { Peer } from "../../p2p/reactor_api.ts";
import { BaseReactor, type InboundEnvelope, type StreamDescriptor } from "../../p2p/reactor.ts";
import type { StopReason } from "../../p2p/stop_reason.ts";
import {
  Switch,
  type SwitchAddrBook,
  type SwitchConfig,
  type SwitchOptions,
} from "../../p2p/switch.ts";
import { Transport, type TransportOptions } from "../../p2p/transport.ts";
import { checkSwitchGrammar, type RecordedReactor, recordReactor } from "./reactor_grammar.ts";
import { assertEquals } from "./assert.ts";

/** The message type of test channels: `google.protobuf.BytesValue { bytes value = 1; }`. */
export const BYTES = protoType("google.protobuf.BytesValue");

/** A test channel descriptor carrying BytesValue messages. */
export function bytesChannel(
  id: number,
  priority = 1,
  extra: Partial<StreamDescriptor> = {},
): StreamDescriptor {
  return {
    id,
    priority,
    sendQueueCapacity: 10,
    recvMessageCapacity: 8 << 20,
    messageType: BYTES,
    ...extra,
  };
}

/** A reactor that records received payloads per channel, and peers added/removed. */
export class TestReactor extends BaseReactor {
  readonly received = new Map<number, Uint8Array[]>();
  readonly added: Peer[] = [];
  readonly removed: { peer: Peer; reason: StopReason }[] = [];
  /** If set, `receive` throws when it returns true. */
  throwOn: ((env: InboundEnvelope) => boolean) | undefined;
  /** Called on every receive (after recording). */
  onReceive: ((env: InboundEnvelope) => void) | undefined;
  #waiters: (() => void)[] = [];

  constructor(name: string, readonly channels: StreamDescriptor[]) {
    super(name);
  }
  override getChannels(): readonly StreamDescriptor[] {
    return this.channels;
  }
  override addPeer(peer: Peer): void | Promise<void> {
    this.added.push(peer);
    this.#wake();
  }
  override removePeer(peer: Peer, reason: StopReason): void | Promise<void> {
    this.removed.push({ peer, reason });
    this.#wake();
  }
  override receive(env: InboundEnvelope): void | Promise<void> {
    if (this.throwOn?.(env)) throw new Error("test reactor refuses this message");
    const list = this.received.get(env.channelId) ?? [];
    list.push((env.message as { value?: Uint8Array }).value ?? new Uint8Array());
    this.received.set(env.channelId, list);
    this.onReceive?.(env);
    this.#wake();
  }
  /** Count of messages received on a channel. */
  count(ch: number): number {
    return this.received.get(ch)?.length ?? 0;
  }
  /** Resolves when `cond` holds, re-checking after each reactor event (10 s safety limit). */
  async until(cond: () => boolean, what = "condition"): Promise<void> {
    await waitFor(cond, what, (wake) => this.#waiters.push(wake));
  }
  #wake(): void {
    const ws = this.#waiters.splice(0);
    for (const w of ws) w();
  }
}

/**
 * Waits for `cond`, re-checking whenever `subscribe`'s callback fires and every 20 ms. Fails
 * after 10 s so a broken test ends instead of hanging (no assertion on the time itself).
 */
export async function waitFor(
  cond: () => boolean,
  what = "condition",
  subscribe?: (wake: () => void) => void,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 20);
      subscribe?.(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** A running node of a test. */
export interface TestNode {
  key: NodeKey;
  sw: Switch;
  transport: Transport;
  addr: NetAddress;
  recorders: RecordedReactor<TestReactor>[];
  reactors: TestReactor[];
  logs: string[];
  stop(): Promise<void>;
}

/** Options of {@link makeNode}. */
export interface MakeNodeOptions {
  reactors?: TestReactor[];
  config?: Partial<SwitchConfig>;
  transport?: Partial<TransportOptions>;
  /** Channels our NodeInfo advertises (default: all registered). */
  advertise?: number[];
  key?: NodeKey;
  addrBook?: SwitchAddrBook;
  switchOptions?: Partial<SwitchOptions>;
  /** Port to listen on (default: any). */
  port?: number;
  start?: boolean;
}

/** Builds, listens and starts a node on 127.0.0.1. Duplicate IPs allowed unless overridden. */
export async function makeNode(opts: MakeNodeOptions = {}): Promise<TestNode> {
  const key = opts.key ?? NodeKey.generate();
  const logs: string[] = [];
  const logger = {
    debug(msg: string, f?: Record<string, unknown>) {
      logs.push(`D ${msg} ${f?.err instanceof Error ? f.err.message : (f?.err ?? "")}`);
    },
    info(msg: string, f?: Record<string, unknown>) {
      logs.push(`I ${msg} ${f?.err instanceof Error ? f.err.message : ""}`);
    },
    error(msg: string, f?: Record<string, unknown>) {
      logs.push(`E ${msg} ${f?.err ?? ""}`);
    },
    with() {
      return logger;
    },
  };
  const placeholder = makeNodeInfo({
    id: key.id,
    network: "test-chain",
    moniker: "t",
    channels: [],
  });
  const transport = new Transport({
    nodeKey: key,
    nodeInfo: placeholder,
    allowDuplicateIP: true,
    handshakeTimeoutMs: 3000,
    logger,
    ...opts.transport,
  });
  const sw = new Switch({
    transport,
    logger,
    addrBook: opts.addrBook,
    config: { allowDuplicateIP: opts.transport?.allowDuplicateIP ?? true, ...opts.config },
    ...opts.switchOptions,
  });
  const reactors = opts.reactors ?? [new TestReactor("test", [bytesChannel(0x20)])];
  const recorders = reactors.map((r) => recordReactor(r));
  recorders.forEach((rec, i) => sw.addReactor(reactors[i].name, rec));
  const la = transport.listen({ hostname: "127.0.0.1", port: opts.port ?? 0 });
  transport.nodeInfo = makeNodeInfo({
    id: key.id,
    network: "test-chain",
    moniker: "node-" + key.id.slice(0, 6),
    channels: opts.advertise ?? sw.channelIds(),
    listenAddr: `tcp://127.0.0.1:${la.port}`,
  });
  if (opts.start ?? true) await sw.start();
  return {
    key,
    sw,
    transport,
    addr: NetAddress.fromIPPort("127.0.0.1", la.port, key.id),
    recorders,
    reactors,
    logs,
    stop: () => sw.stop(),
  };
}

/**
 * Asserts that the recorded reactors of each node followed the grammar by node ID, each on its
 * own and together in registration order (traces complete).
 */
export function assertGrammar(...nodes: TestNode[]): void {
  for (const n of nodes) {
    const traces = n.recorders.map((r) => ({ name: r.inner.name, events: r.events }));
    assertEquals(checkSwitchGrammar(traces), [], `grammar of node ${n.key.id.slice(0, 8)}`);
  }
}

/** A random payload of `n` bytes (crypto-random for ≤64 KiB chunks, patterned beyond). */
export function payload(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
