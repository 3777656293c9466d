/**
 * Test helper for the built-in reactors: {@link startNode} builds a listening, started switch on
 * 127.0.0.1 with any reactors (each wrapped in the grammar recorder), {@link link} connects two
 * nodes, and {@link stopNodes} stops them and asserts the recorded grammar.
 * @module
 */
import { NodeKey } from "../../p2p/key.ts";
import { NetAddress } from "../../p2p/netaddress.ts";
import { makeNodeInfo } from "../../p2p/node_info.ts";
import type { Reactor } from "../../p2p/reactor.ts";
import { Switch, type SwitchAddrBook } from "../../p2p/switch.ts";
import { Transport } from "../../p2p/transport.ts";
import type { Logger } from "../../libs/log.ts";
import {
  checkSwitchGrammar,
  type ReactorEvent,
  type RecordedReactor,
  recordReactor,
} from "./reactor_grammar.ts";
import { waitFor } from "./p2p_harness.ts";
import { assertEquals } from "./assert.ts";

/** A running test node. */
export interface ReactorNode {
  readonly key: NodeKey;
  readonly sw: Switch;
  readonly transport: Transport;
  readonly addr: NetAddress;
  readonly moniker: string;
  readonly recorders: RecordedReactor<Reactor>[];
  /** Each recorder's trace with its registration name, in registration order. */
  traces(): { name: string; events: readonly ReactorEvent[] }[];
  /** Error log lines (message + err), for assertions on stops. */
  readonly errors: string[];
}

/** Options of {@link startNode}. */
export interface StartNodeOptions {
  moniker?: string;
  /** Channels NodeInfo advertises (default: every registered one). */
  advertise?: number[];
  network?: string;
  /** Address-book hooks (e.g. to observe `markPeerAsGood`). */
  addrBook?: SwitchAddrBook;
}

function collectingLogger(errors: string[]): Logger {
  const l: Logger = {
    debug() {},
    info() {},
    error(msg: string, f?: Record<string, unknown>) {
      const e = f?.err;
      errors.push(`${msg} ${e instanceof Error ? e.message : e ?? ""}`);
    },
    with() {
      return l;
    },
  };
  return l;
}

/** Builds, listens and starts a node with `reactors` (name → reactor, registration order). */
export async function startNode(
  reactors: Record<string, Reactor>,
  opts: StartNodeOptions = {},
): Promise<ReactorNode> {
  const key = NodeKey.generate();
  const errors: string[] = [];
  const logger = collectingLogger(errors);
  const network = opts.network ?? "test-chain";
  const moniker = opts.moniker ?? `node-${key.id.slice(0, 6)}`;
  const transport = new Transport({
    nodeKey: key,
    nodeInfo: makeNodeInfo({ id: key.id, network, moniker, channels: [] }),
    allowDuplicateIP: true,
    handshakeTimeoutMs: 3000,
    logger,
  });
  const sw = new Switch({
    transport,
    logger,
    config: { allowDuplicateIP: true },
    addrBook: opts.addrBook,
  });
  const recorders: RecordedReactor<Reactor>[] = [];
  const names = Object.keys(reactors);
  for (const [name, r] of Object.entries(reactors)) {
    const rec = recordReactor(r);
    recorders.push(rec);
    sw.addReactor(name, rec);
  }
  const la = transport.listen({ hostname: "127.0.0.1", port: 0 });
  transport.nodeInfo = makeNodeInfo({
    id: key.id,
    network,
    moniker,
    channels: opts.advertise ?? sw.channelIds(),
    listenAddr: `tcp://127.0.0.1:${la.port}`,
  });
  await sw.start();
  return {
    key,
    sw,
    transport,
    addr: NetAddress.fromIPPort("127.0.0.1", la.port, key.id),
    moniker,
    recorders,
    traces: () => recorders.map((r, i) => ({ name: names[i], events: r.events })),
    errors,
  };
}

/** `a` dials `b`; resolves once both sides list each other. */
export async function link(a: ReactorNode, b: ReactorNode): Promise<void> {
  await a.sw.dialPeerWithAddress(b.addr);
  await waitFor(
    () => b.sw.peers().has(a.key.id) && a.sw.peers().has(b.key.id),
    "peers on both sides",
  );
}

/** Stops every node, then asserts every recorded reactor followed the grammar. */
export async function stopNodes(...nodes: ReactorNode[]): Promise<void> {
  for (const n of nodes) await n.sw.stop();
  for (const n of nodes) {
    assertEquals(checkSwitchGrammar(n.traces()), [], `grammar of ${n.moniker}`);
  }
}
