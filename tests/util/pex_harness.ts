/**
 * Test harness for PEX tests: {@link makePexNode} builds a listening switch on 127.0.0.1 with a
 * {@link PexReactor} and a memory-only, non-strict address book; {@link ScriptReactor} is a
 * hand-driven peer on channel 0x00 that sends whatever PEX messages a test wants and records
 * what it receives.
 * @module
 */
import { AddrBook, type AddrBookOptions } from "../../p2p/pex/addrbook.ts";
import {
  PEX_CHANNEL,
  PEX_MESSAGE,
  PexReactor,
  type PexReactorOptions,
} from "../../p2p/pex/pex_reactor.ts";
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import type { Peer } from "../../p2p/reactor_api.ts";
import {
  BaseReactor,
  type InboundEnvelope,
  type Reactor,
  type StreamDescriptor,
} from "../../p2p/reactor.ts";
import type { StopReason } from "../../p2p/stop_reason.ts";
import { type PeerFilter, Switch, type SwitchConfig } from "../../p2p/switch.ts";
import { type RecordedReactor, recordReactor } from "./reactor_grammar.ts";
import { assertEquals } from "./assert.ts";
import { Transport, type TransportOptions } from "../../p2p/transport.ts";
import { createLogger, type Logger, nopLogger } from "../../libs/log.ts";

/** Set `PEX_TEST_LOG=debug` (or info) to see node logs. */
export function testLogger(name: string): Logger {
  const level = Deno.env.get("PEX_TEST_LOG");
  if (!level) return nopLogger;
  return createLogger({ level: level as "debug" }).with({ node: name });
}

/** A running test node. */
export interface PexTestNode {
  key: NodeKey;
  sw: Switch;
  transport: Transport;
  addr: NetAddress;
  book: AddrBook;
  /** Undefined when the node runs a {@link ScriptReactor} instead. */
  pex: PexReactor | undefined;
  script: ScriptReactor | undefined;
  /** The reactor's calls as the switch made them (checked by {@link stopAll}). */
  recorder: RecordedReactor<Reactor>;
  stop(): Promise<void>;
}

/** Options of {@link makePexNode}. */
export interface PexNodeOptions {
  name?: string;
  /** PEX reactor options (book is provided by the harness unless given). */
  pex?: Partial<PexReactorOptions>;
  /** Run a ScriptReactor on channel 0 instead of PEX. */
  script?: boolean;
  book?: Partial<AddrBookOptions>;
  config?: Partial<SwitchConfig>;
  transport?: Partial<TransportOptions>;
  peerFilters?: PeerFilter[];
  network?: string;
  start?: boolean;
  /** The node key (default: a new one); one identity on two networks needs two nodes. */
  key?: NodeKey;
}

/** Builds, listens and (by default) starts a node with PEX (or a script) on channel 0x00. */
export async function makePexNode(opts: PexNodeOptions = {}): Promise<PexTestNode> {
  const key = opts.key ?? NodeKey.generate();
  const logger = testLogger(opts.name ?? key.id.slice(0, 6));
  const network = opts.network ?? "pex-test";
  const book = new AddrBook({ routabilityStrict: false, logger, ...opts.book });
  const transport = new Transport({
    nodeKey: key,
    nodeInfo: makeNodeInfo({ id: key.id, network, moniker: "t", channels: [PEX_CHANNEL] }),
    allowDuplicateIP: true,
    logger,
    ...opts.transport,
  });
  const sw = new Switch({
    transport,
    logger,
    addrBook: book,
    peerFilters: opts.peerFilters,
    config: { allowDuplicateIP: true, dialRandomizerMs: 0, ...opts.config },
  });
  let pex: PexReactor | undefined;
  let script: ScriptReactor | undefined;
  let reactor: Reactor;
  if (opts.script) reactor = script = new ScriptReactor();
  else reactor = pex = new PexReactor({ book, logger, ...opts.pex });
  const recorder = recordReactor(reactor);
  sw.addReactor("PEX", recorder);
  const la = transport.listen({ hostname: "127.0.0.1", port: 0 });
  transport.nodeInfo = makeNodeInfo({
    id: key.id,
    network,
    moniker: opts.name ?? "node",
    channels: sw.channelIds(),
    listenAddr: `tcp://127.0.0.1:${la.port}`,
  });
  const addr = NetAddress.fromIPPort("127.0.0.1", la.port, key.id);
  book.addOurAddress(addr);
  if (opts.start ?? true) await sw.start();
  return { key, sw, transport, addr, book, pex, script, recorder, stop: () => sw.stop() };
}

/** Stops every node, concurrently, then checks each PEX reactor's trace (grammar by node ID). */
export async function stopAll(...nodes: PexTestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
  for (const n of nodes) {
    assertEquals(n.recorder.violations(), [], `grammar of ${n.key.id.slice(0, 8)}`);
  }
}

/** A received PEX message. */
export interface ScriptMessage {
  peer: Peer;
  member: string;
  addrs: NetAddress[];
}

/** A scripted PEX peer: sends what the test says, records everything. */
export class ScriptReactor extends BaseReactor {
  readonly received: ScriptMessage[] = [];
  readonly added: Peer[] = [];
  readonly removed: { peer: Peer; reason: StopReason }[] = [];
  constructor() {
    super("SCRIPT");
  }
  override getChannels(): readonly StreamDescriptor[] {
    return [{
      id: PEX_CHANNEL,
      priority: 1,
      sendQueueCapacity: 10,
      recvMessageCapacity: 64000,
      messageType: PEX_MESSAGE,
      unwrap: true,
    }];
  }
  override addPeer(peer: Peer): void {
    this.added.push(peer);
  }
  override removePeer(peer: Peer, reason: StopReason): void {
    this.removed.push({ peer, reason });
  }
  override receive(env: InboundEnvelope): void {
    const m = env.message as { pex_addrs?: { addrs?: { id: string; ip: string; port: number }[] } };
    this.received.push({
      peer: env.src,
      member: env.member ?? "",
      addrs: (m.pex_addrs?.addrs ?? []).map((a) => NetAddress.fromProto(a)),
    });
  }
  /** Messages of one kind. */
  of(member: string): ScriptMessage[] {
    return this.received.filter((m) => m.member === member);
  }
  /** Sends a PexRequest. */
  request(peer: Peer): Promise<boolean> {
    return peer.send({ channelId: PEX_CHANNEL, message: { pex_request: {} } });
  }
  /** Sends a PexAddrs with raw proto entries (may be invalid on purpose). */
  addrs(peer: Peer, addrs: { id: string; ip: string; port: number }[]): Promise<boolean> {
    return peer.send({ channelId: PEX_CHANNEL, message: { pex_addrs: { addrs } } });
  }
}

/** Waits for `cond` (polling every 20 ms); fails after `timeoutMs` so a broken test ends. */
export async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A loopback address nothing listens on (a port bound then released). */
export function deadAddress(): NetAddress {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return NetAddress.fromIPPort("127.0.0.1", port, NodeKey.generate().id);
}
